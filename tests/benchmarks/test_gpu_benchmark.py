"""benchmarks/gpu.py, the one command a GPU machine runs: its batch search, its handling of running out
of memory, its compile child, and its smoke mode end to end, so that the command cannot rot between
the rare runs on a GPU."""
import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from benchmarks import gpu
from tests.conftest import ROOT

LIMIT = 1000  # the largest batch the fake device holds


def fake_fits(calls: list, limit: int = LIMIT, base: float = 5e7, per_image: float = 1e6):
    """A device whose peak memory is linear in the batch and which holds ``limit`` images."""
    def fits(b: int):
        calls.append(b)
        if b > limit:
            return None
        return dict(peak_bytes=base + per_image * b, step_s=1e-3 * b)
    return fits


def test_largest_batch_jumps_to_the_projection_then_bisects():
    calls = []
    capacity = 5e7 + 1e6 * LIMIT
    res = gpu.largest_batch(fake_fits(calls), start=128, cap=16384, capacity=capacity)
    assert res['status'] == 'converged'
    assert LIMIT - LIMIT / 16 <= res['max_batch'] <= LIMIT < res['first_oom']
    assert res['max_batch'] % 8 == 0 and res['step_s'] == pytest.approx(1e-3 * res['max_batch'])
    assert calls[:2] == [128, 256] and len(calls) <= 6, calls  # doubling, then the projected batch
    assert [p['fits'] for p in res['probes']] == [b <= LIMIT for b in calls]


def test_largest_batch_without_a_capacity_doubles_up_to_the_cap():
    calls = []
    res = gpu.largest_batch(fake_fits(calls), start=2, cap=16)
    assert res['status'] == 'cap' and res['max_batch'] == 16 and calls == [2, 4, 8, 16]


def test_largest_batch_halves_when_the_start_does_not_fit():
    calls = []
    res = gpu.largest_batch(fake_fits(calls, limit=20), start=128, cap=1024)
    assert res['max_batch'] in range(12, 21) and res['first_oom'] > 20
    assert calls[:3] == [128, 64, 32]


def test_largest_batch_stops_at_the_time_budget():
    calls = []
    res = gpu.largest_batch(fake_fits(calls), start=128, cap=16384, time_left=lambda: 0.1)
    assert res['status'] == 'budget' and res['max_batch'] == 128 and calls == [128]


def test_attempt_catches_only_running_out_of_memory():
    cleaned = []

    def oom():
        raise torch.OutOfMemoryError('CUDA out of memory. Tried to allocate 2.00 GiB')

    def cudnn():
        raise RuntimeError('cuDNN error: CUDNN_STATUS_ALLOC_FAILED')

    dev = torch.device('cpu')
    assert gpu.attempt(oom, dev, lambda: cleaned.append(1)) == (None, 'out of memory')
    assert gpu.attempt(cudnn, dev, lambda: cleaned.append(1)) == (None, 'out of memory')
    assert cleaned == [1, 1]
    assert gpu.attempt(lambda: 3, dev) == (3, None)
    with pytest.raises(ValueError):
        gpu.attempt(lambda: (_ for _ in ()).throw(ValueError('a real bug')), dev)


@pytest.mark.parametrize('works', [True, False], ids=['compiled', 'falls_back'])
def test_compile_child_records_each_configuration(tmp_path, monkeypatch, works):
    """The child's bookkeeping, with the compiled forward replaced (inductor takes minutes here)."""
    build_on = gpu.build_on

    def fake_build_on(args, device, k, dtype, impl='fast', compile=False):
        algo, optim = build_on(args, device, k, dtype, impl)
        net = algo.space.model
        if works:
            net._compiled_call_impl = net._call_impl
        else:
            def broken(*a, **kw):
                raise RuntimeError('inductor failed')
            net._compiled_call_impl = broken
            algo._compile_unverified = {'weights', 'arch'}
        return algo, optim

    monkeypatch.setattr(gpu, 'build_on', fake_build_on)
    progress = tmp_path / 'progress.jsonl'
    gpu.compile_child(json.dumps(dict(
        configs=[dict(k=2, dtype='fp32')], spec=gpu.QUICK, device='cpu', batch=2, repeats=1,
        progress=str(progress), threads=1, cudnn_benchmark=False, options=True)))
    start, done = [json.loads(x) for x in progress.read_text().splitlines()]
    assert start == dict(event='start', k=2, dtype='fp32')
    if works:
        assert done['status'] == 'ok' and done['compile_s'] > 0 and done['step_s'] > 0
    else:
        assert done['status'] == 'fell back to eager' and 'inductor failed' in done['warning']


def run_quick(out: Path, *extra: str) -> dict:
    cmd = [sys.executable, str(ROOT / 'benchmarks' / 'gpu.py'), '--device', 'cpu', '--quick',
           '--out', str(out), *extra]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=900, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-4000:]
    result = json.loads((out / 'gpu.json').read_text())
    assert (out / 'gpu.md').read_text().startswith('GPU benchmark on')
    return result


def test_quick_mode_runs_the_search_sections(tmp_path):
    """The step (fast against reference, AMP bf16), largest batch and projection, end to end
    (float32 and the other sections: the slow test below)."""
    res = run_quick(tmp_path, '--ks', '2', '--dtypes', 'bf16', '--sections', 'step', 'max_batch',
                    'projection', '--budget-s', '600')
    s = res['sections']
    assert res['quick'] and all(s[n]['status'] == 'ok' for n in ('step', 'max_batch', 'projection'))
    step = s['step']['rows']
    assert {(r['impl'], r['dtype']) for r in step} == {(i, 'bf16') for i in gpu.IMPLS}
    assert all(r['status'] == 'ok' and r['step_s'] > 0 for r in step)
    assert all(r['speedup_vs_reference'] > 0 and r['weights_only_s'] > 0
               for r in step if r['impl'] == 'fast')
    mb = s['max_batch']['rows']
    assert mb and all(r['status'] == 'cap' and r['max_batch'] == gpu.QUICK['cap'] for r in mb)
    proj = s['projection']['rows']
    assert proj and all(r['gpu_hours'] > 0 and r['vs_paper'] > 0 for r in proj)


@pytest.mark.slow
def test_quick_mode_runs_every_section(tmp_path):
    """The whole smoke mode: every section measures (Single-Path where it exists), or says why not.
    K=1 (DARTS' dense mixed op, a path of its own; the test above takes K=2) and both dtypes."""
    res = run_quick(tmp_path, '--ks', '1', '--budget-s', '900')
    s = res['sections']
    assert set(s) == set(gpu.SECTIONS)
    for name in ('step', 'max_batch', 'second_order', 'derived', 'layouts', 'compile', 'projection'):
        assert s[name]['status'] == 'ok', (name, s[name])
        assert s[name]['rows'], name
    from benchmarks.derived import MODELS
    assert {r['model'] for r in s['derived']['rows']} == set(MODELS)
    assert sum(r['default'] for r in s['layouts']['rows']) == len(res['settings']['dtypes'])
    import importlib.util
    if importlib.util.find_spec('nas_backbones.spaces.singlepath') is None:
        assert s['singlepath']['status'] == 'skipped' and 'singlepath' in s['singlepath']['note']
    else:
        assert s['singlepath']['status'] == 'ok'
        assert {r['dtype'] for r in s['singlepath']['rows']} == set(gpu.DTYPES)
        assert all(r['status'] == 'ok' and r['step_s'] > 0 for r in s['singlepath']['rows'])
    assert all(r['status'] for r in s['compile']['rows'])
