"""One command for a GPU machine: every number the search needs from a GPU, in one short run.

Sections (JSON ``gpu.json`` + markdown ``gpu.md`` under ``--out``, default ``$OUT`` or ``gpu_results``):

- ``step``: the first-order search step (``DifferentiableSearch.train_step``:
  architecture step + weight step, PC-DARTS' optimizers) of the PC-DARTS
  ImageNet-setting supernet (224x224, C=16, 8 cells, 1000 classes) at the
  paper's per-GPU batch (128), K = 1/2/4, float32 and AMP bfloat16 (both
  optimizer wrappers, as ``--amp --amp-dtype bfloat16``), the fast supernet
  against ``impl='reference'`` (the paper's equations one edge at a time) on
  the same weights; step time, images/s, peak CUDA memory
  (``torch.cuda.max_memory_allocated``) and the weight-only step of the
  warm-up epochs;
- ``max_batch``: the largest batch that fits, found by doubling, a jump to the
  batch the measured peaks project, and bisection (out-of-memory errors
  caught, memory freed), with the step time there;
- ``second_order``: the second-order step (DARTS eq. 7-8) against first order;
- ``derived``: latency of the derived backbone and its SSD detector at batch 1
  and 32 next to MMDetection's SSD300-VGG16 and SSDLite-MobileNetV2, and every
  other model ``benchmarks/derived.py`` builds (SSDLite with the Single-Path and
  the PC-DARTS backbone), float32 and bfloat16 autocast;
- ``layouts``: the fast path's device policy (``search_op.fast_policy``): NCHW or
  channels-last, fused or plain, at batch 128;
- ``singlepath``: the Single-Path supernet's one-level step (as
  ``benchmarks/singlepath_step.py`` builds it), where ``nas_backbones/spaces/singlepath``
  exists (else skipped, with a note);
- ``compile``: ``DifferentiableSearch(compile=True)`` in a child process with a
  time budget: compile time and compiled step time, or how far it got;
- ``projection``: the ImageNet-subset search (50 epochs over 10% of ImageNet
  for the weights, 2.5% for the architecture; 35 warm-up epochs of weight steps
  only) at the measured step times, in GPU-hours, next to the paper's 3.8 GPU-days.

The whole run keeps to ``--budget-s`` (default 450 s): sections run in order of
value, each configuration is skipped once the budget is spent, and the JSON
says what was skipped.

    python benchmarks/gpu.py                      # on a CUDA machine, < 8 min
    python benchmarks/gpu.py --out DIR --budget-s 420
    python benchmarks/gpu.py --device cpu --quick # smoke test of every section (< 2 min), not a measurement
"""
from __future__ import annotations

import argparse
import contextlib
import copy
import gc
import importlib.util
import json
import math
import os
import statistics
import subprocess
import sys
import time
import traceback
from pathlib import Path
from typing import Callable, Optional

ROOT = Path(__file__).resolve().parents[1]
if __package__ in (None, ''):  # run as a file: make `benchmarks` importable
    sys.path.insert(0, str(ROOT))

import torch

import nas_backbones  # noqa: F401  registers the modules
from benchmarks.common import MB, benchmark_parser, fmt_table, report, setup
from benchmarks.supernet_step import SETTINGS, build

# The ImageNet search subsets: 10% (weights) and 2.5% (architecture) of ImageNet-1k's 1,281,167
# training images; 50 epochs, the first 35 without architecture steps (configs/search/pcdarts_imagenet.py).
IMAGENET_TRAIN = 1_281_167
WEIGHT_IMAGES = round(0.10 * IMAGENET_TRAIN)
ARCH_IMAGES = round(0.025 * IMAGENET_TRAIN)
EPOCHS, WARMUP_EPOCHS = 50, 35
PAPER_GPU_HOURS = 3.8 * 24  # PC-DARTS on ImageNet: 11.5 hours on 8 V100s
DTYPES = {'fp32': None, 'bf16': 'bfloat16'}
IMPLS = {'fast': 'project', 'reference': 'naive'}  # this script's names -> supernet_step's
POLICIES = {'nchw+fused': (False, True), 'channels_last+fused': (True, True),
            'nchw+plain': (False, False), 'channels_last+plain': (True, False)}
SECTIONS = ('step', 'max_batch', 'second_order', 'derived', 'layouts', 'singlepath', 'compile',
            'projection')
OOM_MARKERS = ('out of memory', 'CUDNN_STATUS_ALLOC_FAILED', 'CUBLAS_STATUS_ALLOC_FAILED')

# What --quick changes: the network, sizes and counts, never the code path.
FULL = dict(setting='imagenet', C=16, layers=8, batch=128, cap=16384, repeats=5, warmup=2,
            derived_sizes=[300, 320], derived_batches=[1, 32], derived_repeats=20,
            compile_budget_s=150.)
# (SSD300-VGG16's last levels need about 300 pixels: the smallest input all three detectors take.)
QUICK = dict(setting='smoke', C=4, layers=3, batch=2, cap=4, repeats=1, warmup=1, derived_sizes=[300],
             derived_batches=[1], derived_repeats=1, compile_budget_s=15.)


# --------------------------------------------------------------------------- device helpers
def sync(device: torch.device) -> None:
    if device.type == 'cuda':
        torch.cuda.synchronize(device)


def reset_peak(device: torch.device) -> None:
    if device.type == 'cuda':
        torch.cuda.reset_peak_memory_stats(device)


def peak_bytes(device: torch.device) -> Optional[int]:
    return torch.cuda.max_memory_allocated(device) if device.type == 'cuda' else None


def capacity_bytes(device: torch.device) -> Optional[int]:
    return torch.cuda.get_device_properties(device).total_memory if device.type == 'cuda' else None


def free(device: torch.device) -> None:
    gc.collect()
    if device.type == 'cuda':
        torch.cuda.empty_cache()


def is_oom(exc: BaseException) -> bool:
    return isinstance(exc, torch.OutOfMemoryError) or (
        isinstance(exc, RuntimeError) and any(m in str(exc) for m in OOM_MARKERS))


def attempt(fn: Callable, device: torch.device, cleanup: Callable = lambda: None):
    """``(fn(), None)``, or ``(None, 'out of memory')`` with the memory given back.

    The cleanup runs after the ``except`` block, when the exception and the
    frames (and tensors) its traceback holds are gone.
    """
    try:
        return fn(), None
    except Exception as exc:  # noqa: BLE001  anything but running out of memory is raised
        if not is_oom(exc):
            raise
    cleanup()
    free(device)
    return None, 'out of memory'


@contextlib.contextmanager
def amp_wrappers_on(device: torch.device):
    """mmengine 0.10.7's AmpOptimWrapper asserts a GPU, although torch autocasts bfloat16 on CPU
    and the wrapper needs nothing else with its loss scaler off: the CPU smoke mode builds it past that."""
    if device.type == 'cuda':
        yield
        return
    import mmengine.optim.optimizer.amp_optimizer_wrapper as amp
    saved = amp.is_cuda_available
    amp.is_cuda_available = lambda: True
    try:
        yield
    finally:
        amp.is_cuda_available = saved


def device_info(device: torch.device) -> dict:
    info = dict(device=str(device))
    if device.type == 'cuda':
        p = torch.cuda.get_device_properties(device)
        info.update(gpu=p.name, gpu_memory_gb=round(p.total_memory / 1024 ** 3, 1),
                    capability=f'{p.major}.{p.minor}', multiprocessors=p.multi_processor_count,
                    cuda=torch.version.cuda, cudnn=torch.backends.cudnn.version(),
                    cudnn_benchmark=torch.backends.cudnn.benchmark,
                    tf32_matmul=torch.backends.cuda.matmul.allow_tf32,
                    tf32_cudnn=torch.backends.cudnn.allow_tf32)
    return info


class Budget:
    """The run's deadline: every configuration asks before it starts.

    ``at_least_one``: every section runs its first configuration even past the
    deadline (the smoke mode, which is there to run every code path).
    """

    def __init__(self, seconds: float, at_least_one: bool = False) -> None:
        self.start = time.monotonic()
        self.seconds = seconds
        self.at_least_one = at_least_one

    def left(self) -> float:
        return self.seconds - (time.monotonic() - self.start)

    def over(self, done: int, reserve_s: float = 0.) -> bool:
        """Whether a section that has run ``done`` configurations must skip the next one."""
        return self.left() - reserve_s <= 0 and not (self.at_least_one and done == 0)

    def elapsed(self) -> float:
        return time.monotonic() - self.start


# --------------------------------------------------------------------------- measuring a step
def device_batches(setting: str, batch: int, device: torch.device, seed: int = 0) -> dict:
    """A weight batch and an architecture batch of random images and labels, made on the device."""
    s = SETTINGS[setting]
    g = torch.Generator(device=device).manual_seed(seed)
    return {split: {'inputs': torch.randn(batch, 3, s['size'], s['size'], generator=g, device=device),
                    'data_samples': torch.randint(0, s['num_classes'], (batch,), generator=g,
                                                  device=device)}
            for split in ('weights', 'arch')}


def build_on(args, device: torch.device, k: int, dtype: str, impl: str = 'fast', **kw):
    """``supernet_step.build`` on the device: the same weights for every impl at a seed."""
    with amp_wrappers_on(device):
        return build(args.spec['setting'], k, True, IMPLS[impl], C=args.spec['C'],
                     layers=args.spec['layers'], device=device, amp=DTYPES[dtype], **kw)


def time_step(algo, optim, data: dict, device: torch.device, repeats: int, warmup: int = 1) -> dict:
    """Median wall time of ``train_step`` (synchronised), and the peak memory over the timed steps."""
    for _ in range(warmup):
        algo.train_step(data, optim)
    sync(device)
    reset_peak(device)
    samples = []
    for _ in range(repeats):
        sync(device)
        t0 = time.perf_counter()
        algo.train_step(data, optim)
        sync(device)
        samples.append(time.perf_counter() - t0)
    peak = peak_bytes(device)
    return dict(step_s=statistics.median(samples), step_min_s=min(samples),
                samples_s=[round(t, 5) for t in samples],
                peak_mb=None if peak is None else peak / MB)


def weights_only(data: dict) -> dict:
    return dict(weights=data['weights'], arch=None)


def mb(x: Optional[int]) -> Optional[float]:
    return None if x is None else x / MB


# --------------------------------------------------------------------------- sections
def section_step(args, device, budget: Budget) -> dict:
    rows, skipped = [], []
    batch = args.batch
    data = device_batches(args.spec['setting'], batch, device)
    for dtype in args.dtypes:
        for k in args.ks:
            for impl in IMPLS:
                if budget.over(len(rows)):
                    skipped.append(f'{impl} K={k} {dtype}')
                    continue
                algo, optim = build_on(args, device, k, dtype, impl)
                row = dict(k=k, dtype=dtype, impl=impl, batch=batch)
                t, err = attempt(lambda: time_step(algo, optim, data, device, args.repeats,
                                                   args.spec['warmup']), device, algo.zero_all_grads)
                if err:
                    row['status'] = err
                else:
                    row.update(t, images_per_s=batch / t['step_s'], status='ok')
                    if impl == 'fast':  # the warm-up epochs' step, for the projection
                        # (warm: the bilevel steps ran the same weight phase)
                        w, _ = attempt(lambda: time_step(algo, optim, weights_only(data), device,
                                                         args.repeats, warmup=0),
                                       device, algo.zero_all_grads)
                        row['weights_only_s'] = None if w is None else w['step_s']
                rows.append(row)
                log(f'step {impl} K={k} {dtype}: {row.get("step_s", float("nan")):.4f} s, '
                    f'peak {row.get("peak_mb") or 0:.0f} MB')
                del algo, optim
                free(device)
    for r in rows:  # against the reference on the same weights, and memory against K=1
        ref = find(rows, k=r['k'], dtype=r['dtype'], impl='reference')
        k1 = find(rows, k=1, dtype=r['dtype'], impl=r['impl'])
        if r['impl'] == 'fast' and ok(ref) and ok(r):
            r['speedup_vs_reference'] = ref['step_s'] / r['step_s']
            if r.get('peak_mb') and ref.get('peak_mb'):
                r['memory_vs_reference'] = r['peak_mb'] / ref['peak_mb']
        if ok(k1) and ok(r) and r.get('peak_mb') and k1.get('peak_mb'):
            r['memory_vs_k1'] = r['peak_mb'] / k1['peak_mb']
    return dict(rows=rows, skipped=skipped,
                note='peak MB: torch.cuda.max_memory_allocated over the timed steps (weights, optimizer '
                     'state, both batches, activations); weight-only step: the warm-up epochs\' step')


def find(rows: list, **match) -> Optional[dict]:
    return next((r for r in rows if all(r.get(k) == v for k, v in match.items())), None)


def ok(row: Optional[dict]) -> bool:
    return bool(row) and row.get('status') == 'ok'


def largest_batch(fits: Callable[[int], Optional[dict]], start: int, cap: int,
                  capacity: Optional[int] = None, rel_tol: float = 1 / 16, multiple: int = 8,
                  time_left: Callable[[], float] = lambda: math.inf) -> dict:
    """The largest batch ``b <= cap`` with ``fits(b)`` (a dict with ``peak_bytes`` and ``step_s``,
    or None when out of memory), to within ``rel_tol``.

    Doubles from ``start``; after two fits, jumps to the batch where the peaks,
    linear in the batch, reach 95% of ``capacity``, then 25% steps; bisects
    once a batch has failed. A probe whose step would outlast ``time_left()``
    (extrapolated from the last fit) is not started: the result says 'budget'.
    """
    lo, hi = 0, None
    fitted: dict[int, dict] = {}
    probes = []
    jumped = False
    b, status = start, 'converged'
    while True:
        if fitted:
            last = max(fitted)
            if 2 * fitted[last]['step_s'] * b / last > time_left():
                status = 'budget'
                break
        res = fits(b)
        probes.append(dict(batch=b, fits=res is not None,
                           peak_mb=None if res is None else mb(res.get('peak_bytes'))))
        if res is None:
            hi = b
        else:
            lo = b
            fitted[b] = res
        if hi is not None and hi - lo <= max(multiple, rel_tol * lo):
            break
        if hi is None and lo >= cap:
            status = 'cap'
            break
        if hi is None:
            nxt = 2 * lo
            peaks = [(n, r['peak_bytes']) for n, r in sorted(fitted.items()) if r.get('peak_bytes')]
            if capacity and len(peaks) >= 2 and not jumped:
                (b1, p1), (b2, p2) = peaks[-2:]
                slope = (p2 - p1) / (b2 - b1)
                projected = int(b2 + (0.95 * capacity - p2) / slope) if slope > 0 else 0
                if projected > lo:
                    nxt = projected
                jumped = True
            elif jumped:
                nxt = int(lo * 1.25)
            nxt = min(cap, nxt)
        elif lo == 0:
            nxt = hi // 2
        else:
            nxt = (lo + hi) // 2
        if nxt >= multiple:
            nxt -= nxt % multiple
        if nxt <= lo or (hi is not None and nxt >= hi) or nxt < 1:
            break
        b = nxt
    return dict(max_batch=lo, first_oom=hi, status=status, probes=probes,
                step_s=fitted[lo]['step_s'] if lo else None,
                peak_mb=mb(fitted[lo].get('peak_bytes')) if lo else None)


def section_max_batch(args, device, budget: Budget, reserve_s: float) -> dict:
    """Largest batch per configuration, most telling first, while the budget lasts."""
    rows, skipped = [], []
    # bf16 first, the ImageNet K (2) first, each fast configuration beside its reference
    order = [(impl, dtype, k) for dtype in reversed(args.dtypes)
             for k in sorted(args.ks, key=lambda k: (k != 2, -k)) for impl in IMPLS]
    capacity = capacity_bytes(device)
    for impl, dtype, k in order:
        if budget.at_least_one and not rows:  # the smoke mode's first search runs in full
            left = lambda: math.inf  # noqa: E731
        else:
            left = lambda: budget.left() - reserve_s  # noqa: E731
        if budget.over(len(rows), reserve_s):
            skipped.append(f'{impl} K={k} {dtype}')
            continue
        algo, optim = build_on(args, device, k, dtype, impl)

        def fits(b: int) -> Optional[dict]:
            def probe():
                data = device_batches(args.spec['setting'], b, device)
                reset_peak(device)
                sync(device)
                t0 = time.perf_counter()
                algo.train_step(data, optim)
                sync(device)
                return dict(step_s=time.perf_counter() - t0, peak_bytes=peak_bytes(device))
            res, _ = attempt(probe, device, algo.zero_all_grads)
            free(device)
            return res

        found = largest_batch(fits, args.batch, args.spec['cap'], capacity, time_left=left)
        row = dict(k=k, dtype=dtype, impl=impl, **found)
        row['probe_step_s'] = row.pop('step_s')  # its first step at that batch (cuDNN tuning included)
        b = found['max_batch']
        if b and 4 * found['step_s'] < left():  # a warm-up step and two timed steps there
            data = device_batches(args.spec['setting'], b, device)
            t, err = attempt(lambda: time_step(algo, optim, data, device, 2), device,
                             algo.zero_all_grads)
            if t:
                row.update(step_s=t['step_s'], peak_mb=t['peak_mb'], images_per_s=b / t['step_s'],
                           timed=True)
                w, _ = attempt(lambda: time_step(algo, optim, weights_only(data), device, 1,
                                                 warmup=0),
                               device, algo.zero_all_grads) if impl == 'fast' else (None, None)
                row['weights_only_s'] = None if w is None else w['step_s']
            else:
                row['timed'] = err
            del data
        rows.append(row)
        log(f'max batch {impl} K={k} {dtype}: {b} ({found["status"]}, {len(found["probes"])} probes)')
        del algo, optim
        free(device)
    return dict(rows=rows, skipped=skipped, capacity_mb=mb(capacity),
                note='largest batch that ran a whole train_step; the search stops within 1/16 '
                     '(or 8 images) of the first batch that ran out of memory')


def section_second_order(args, device, budget: Budget) -> dict:
    from benchmarks.second_order import pass_costs
    rows, skipped = [], []
    k = 2 if 2 in args.ks else args.ks[0]
    data = device_batches(args.spec['setting'], args.batch, device)
    for dtype in args.dtypes:
        if budget.over(len(rows)):
            skipped.append(dtype)
            continue
        row = dict(k=k, dtype=dtype, batch=args.batch)
        for order in ('first', 'second'):
            algo, optim = build_on(args, device, k, dtype, unrolled=order == 'second')
            t, err = attempt(lambda: time_step(algo, optim, data, device, args.repeats), device,
                             algo.zero_all_grads)
            row[f'{order}_order_s'] = None if t is None else t['step_s']
            row[f'{order}_order_peak_mb'] = None if t is None else t['peak_mb']
            if order == 'first' and t is not None:
                with amp_context(device, dtype):
                    p = pass_costs(algo, data, args.repeats, sync=lambda: sync(device))
                row.update(pass_full_s=p['full'], pass_alpha_only_s=p['alpha_only'],
                           pass_count_ratio=(3 * p['full'] + 2 * p['alpha_only'])
                           / (p['full'] + p['alpha_only']))
            if err:
                row['status'] = f'{order} order: {err}'
            del algo, optim
            free(device)
        if row.get('first_order_s') and row.get('second_order_s'):
            row['ratio'] = row['second_order_s'] / row['first_order_s']
        rows.append(row)
        log(f'second order {dtype}: {row.get("ratio", float("nan")):.2f}x first order')
    return dict(rows=rows, skipped=skipped,
                note='pass counts: first order = 1 pass with dW + 1 with dalpha only; second order = '
                     '3 with dW + 2 with dalpha only, so 2nd/1st = (3 P_dW + 2 P_a) / (P_dW + P_a)')


def amp_context(device: torch.device, dtype: str):
    if DTYPES[dtype] is None:
        return contextlib.nullcontext()
    return torch.autocast(device.type, dtype=getattr(torch, DTYPES[dtype]))


def section_derived(args, device, budget: Budget) -> dict:
    from benchmarks.derived import MODELS, build_detector, latency
    rows, skipped = [], []
    for name in MODELS:
        if budget.over(len(rows)):
            skipped.append(name)
            continue
        det = build_detector(MODELS[name]).to(device)
        parts = {'detector': det._forward, 'backbone': det.backbone}
        for size in args.spec['derived_sizes']:
            for part, fn in parts.items():
                for dtype in args.dtypes:
                    row = dict(model=name, part=part, input=size, dtype=dtype)
                    for b in args.spec['derived_batches']:
                        x = torch.randn(b, 3, size, size, device=device)

                        def run(x, fn=fn, dtype=dtype):
                            with amp_context(device, dtype):
                                return fn(x)
                        t, err = attempt(lambda: latency(run, x, args.spec['derived_repeats'],
                                                         sync=lambda: sync(device)), device)
                        row[f'latency_b{b}_ms'] = None if t is None else 1e3 * t['median_s']
                        if t is not None:
                            row[f'images_per_s_b{b}'] = b / t['median_s']
                        del x
                    rows.append(row)
        log(f'derived {name}: ' + ', '.join(f'{r["part"]} {r["input"]} {r["dtype"]} '
                                             f'{r.get("latency_b1_ms") or float("nan"):.2f} ms'
                                             for r in rows if r['model'] == name))
        del det, parts
        free(device)
    return dict(rows=rows, skipped=skipped,
                note='eval mode, no_grad, tensor mode (backbone + neck + head convolutions, no NMS); '
                     'random weights; median of the repeats after a warm-up')


def section_layouts(args, device, budget: Budget) -> dict:
    from nas_backbones.spaces.darts.search_op import fast_policy
    rows, skipped = [], []
    k = 2 if 2 in args.ks else args.ks[0]
    default = fast_policy(device)
    data = device_batches(args.spec['setting'], args.batch, device)
    for dtype in args.dtypes:
        for name, (cl, fused) in POLICIES.items():
            if budget.over(len(rows)):
                skipped.append(f'{name} {dtype}')
                continue
            algo, optim = build_on(args, device, k, dtype, channels_last=cl, fused=fused)
            t, err = attempt(lambda: time_step(algo, optim, data, device, args.repeats, args.spec['warmup']),
                             device, algo.zero_all_grads)
            row = dict(policy=name, k=k, dtype=dtype, batch=args.batch,
                       default=(cl, fused) == (default.channels_last, default.fused),
                       status=err or 'ok', **(t or {}))
            rows.append(row)
            del algo, optim
            free(device)
    for r in rows:
        base = find(rows, dtype=r['dtype'], default=True)
        if ok(base) and ok(r):
            r['time_vs_default'] = r['step_s'] / base['step_s']
            if r.get('peak_mb') and base.get('peak_mb'):
                r['memory_vs_default'] = r['peak_mb'] / base['peak_mb']
    return dict(rows=rows, skipped=skipped, default=f'channels_last={default.channels_last}, '
                f'fused={default.fused} (fast_policy on {device.type})')


def section_singlepath(args, device, budget: Budget) -> dict:
    """The Single-Path supernet's one-level step, built as ``benchmarks/singlepath_step.py`` builds it."""
    if importlib.util.find_spec('nas_backbones.spaces.singlepath') is None:
        return dict(rows=[], status='skipped',
                    note='nas_backbones/spaces/singlepath does not exist in this checkout')
    from benchmarks.singlepath_step import OPTIM_SINGLEPATH, build_singlepath
    from nas_backbones.core.optim import SearchOptimWrapperConstructor
    from nas_backbones.engine.launch import enable_amp
    s = SETTINGS[args.spec['setting']]
    rows, skipped = [], []
    data = device_batches(args.spec['setting'], args.batch, device)
    for dtype in args.dtypes:
        if budget.over(len(rows)):
            skipped.append(dtype)
            continue
        algo, _ = build_singlepath(s['size'], s['num_classes'], width=1.0)
        algo.to(device)
        cfg = dict(copy.deepcopy(OPTIM_SINGLEPATH), constructor='SearchOptimWrapperConstructor')
        if DTYPES[dtype]:
            enable_amp(cfg, DTYPES[dtype])
        del cfg['constructor']
        with amp_wrappers_on(device):
            optim = SearchOptimWrapperConstructor(cfg)(algo)
        t, err = attempt(lambda: time_step(algo, optim, weights_only(data), device, args.repeats,
                                           args.spec['warmup']), device, algo.zero_all_grads)
        rows.append(dict(dtype=dtype, batch=args.batch, input=s['size'], status=err or 'ok',
                         **(t or {}), images_per_s=None if t is None else args.batch / t['step_s']))
        del algo, optim
        free(device)
    return dict(rows=rows, skipped=skipped,
                note='the Single-Path classification search (22-layer MobileNetV2-style supernet, width 1.0, '
                     'FLOPs runtime term), one level: one forward and backward per step on one batch, RMSpropTF over '
                     'weights and thresholds (benchmarks/singlepath_step.py\'s build)')


def section_compile(args, device, budget: Budget, eager_rows: list) -> dict:
    """Compile in a child process, so that a compilation still running at the budget can be stopped."""
    seconds = min(args.spec['compile_budget_s'], budget.left())
    if budget.at_least_one:
        seconds = max(seconds, args.spec['compile_budget_s'])
    if seconds < 5:
        return dict(rows=[], status='skipped', note=f'{seconds:.0f} s of the budget left')
    k_order = sorted(args.ks, key=lambda k: (k != 2, -k))
    configs = [dict(k=k, dtype=d) for d in reversed(args.dtypes) for k in k_order]
    free(device)
    progress = Path(args.out) / 'compile_progress.jsonl'
    progress.unlink(missing_ok=True)
    cmd = [sys.executable, str(Path(__file__).resolve()), '--compile-child', json.dumps(dict(
        configs=configs, spec=args.spec, device=str(device), batch=args.batch,
        repeats=args.repeats, progress=str(progress), threads=args.threads,
        cudnn_benchmark=args.cudnn_benchmark,
        options=dict(mode=args.compile_mode) if args.compile_mode else True))]
    t0 = time.monotonic()
    proc = subprocess.Popen(cmd, start_new_session=True, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    try:
        out, _ = proc.communicate(timeout=seconds)
        finished = True
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, 9)
        out, _ = proc.communicate()
        finished = False
    wall = time.monotonic() - t0
    lines = [json.loads(x) for x in progress.read_text().splitlines()] if progress.exists() else []
    progress.unlink(missing_ok=True)
    done = {(r['k'], r['dtype']): r for r in lines if r.get('event') == 'done'}
    started = [(r['k'], r['dtype']) for r in lines if r.get('event') == 'start']
    rows = []
    for c in configs:
        key = (c['k'], c['dtype'])
        if key in done:
            row = dict(done[key])
            row.pop('event')
            eager = find(eager_rows, k=c['k'], dtype=c['dtype'], impl='fast')
            if ok(eager) and row.get('step_s'):
                row['eager_step_s'] = eager['step_s']
                row['speedup_vs_eager'] = eager['step_s'] / row['step_s']
        elif key in started:
            row = dict(c, status=f'still compiling when the {seconds:.0f} s budget ran out'
                       if not finished else 'child process failed')
        else:
            row = dict(c, status='not reached')
        rows.append(row)
    tail = '\n'.join((out or '').strip().splitlines()[-5:])
    return dict(rows=rows, budget_s=seconds, wall_s=wall, finished=finished,
                child_returncode=proc.returncode, child_output_tail=tail,
                options=dict(mode=args.compile_mode or 'default', backend='inductor'),
                note='DifferentiableSearch(compile=...) in a child process; compile_s is the first '
                     'bilevel step (both phases compile), step_s the median of the steps after it')


def compile_child(spec_json: str) -> None:
    """In a fresh process: per configuration, compile, time the first step and the steps after it."""
    job = json.loads(spec_json)
    torch.set_num_threads(job['threads'])
    device = torch.device(job['device'])
    args = argparse.Namespace(spec=job['spec'])
    data = device_batches(job['spec']['setting'], job['batch'], device)

    def emit(**row) -> None:
        with open(job['progress'], 'a') as f:
            f.write(json.dumps(row) + '\n')

    if device.type == 'cuda':
        torch.backends.cudnn.benchmark = job['cudnn_benchmark']
    for c in job['configs']:
        emit(event='start', **c)
        import warnings
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter('always', RuntimeWarning)
            algo, optim = build_on(args, device, c['k'], c['dtype'], compile=job['options'])
            sync(device)
            t0 = time.perf_counter()
            try:
                algo.train_step(data, optim)
                sync(device)
            except Exception as exc:  # noqa: BLE001  recorded, next configuration
                emit(event='done', **c, status=f'failed: {type(exc).__name__}: {exc}'[:300])
                continue
            compile_s = time.perf_counter() - t0
        fallback = [str(w.message)[:300] for w in caught if 'torch.compile' in str(w.message)]
        if fallback or not algo.compiled:
            emit(event='done', **c, status='fell back to eager', compile_s=compile_s,
                 warning=fallback[0] if fallback else None)
            continue
        t = time_step(algo, optim, data, device, job['repeats'])
        emit(event='done', **c, status='ok', compile_s=compile_s, **t)
        del algo, optim
        free(device)


def section_projection(step: dict, max_batch: dict) -> dict:
    """The ImageNet-subset search at the measured step times: what SearchLoop runs, per GPU."""
    rows = []
    candidates = [('step', r) for r in step.get('rows', [])] + \
                 [('max_batch', r) for r in max_batch.get('rows', [])]
    for source, r in candidates:
        batch = r.get('batch') if source == 'step' else r.get('max_batch')
        if r.get('impl') != 'fast' or not batch or not r.get('step_s'):
            continue
        if source == 'max_batch' and not r.get('timed'):
            continue
        steps = math.ceil(WEIGHT_IMAGES / batch)
        t_bilevel = r['step_s']
        t_warm = r.get('weights_only_s')
        estimated = t_warm is None
        if estimated:  # scale the batch-128 ratio of weight-only to bilevel
            base = find(step.get('rows', []), k=r['k'], dtype=r['dtype'], impl='fast')
            ratio = base['weights_only_s'] / base['step_s'] if base and base.get('weights_only_s') \
                else 0.5
            t_warm = ratio * t_bilevel
        hours = (WARMUP_EPOCHS * steps * t_warm + (EPOCHS - WARMUP_EPOCHS) * steps * t_bilevel) / 3600
        rows.append(dict(k=r['k'], dtype=r['dtype'], batch=batch, source=source,
                         steps_per_epoch=steps, weights_only_s=t_warm, bilevel_s=t_bilevel,
                         warmup_estimated=estimated, gpu_hours=hours,
                         gpu_hours_all_bilevel=EPOCHS * steps * t_bilevel / 3600,
                         vs_paper=hours / PAPER_GPU_HOURS))
    return dict(rows=rows, paper_gpu_hours=PAPER_GPU_HOURS, weight_images=WEIGHT_IMAGES,
                arch_images=ARCH_IMAGES,
                note=f'{EPOCHS} epochs over {WEIGHT_IMAGES} weight images (one step per weight batch), '
                     f'the first {WARMUP_EPOCHS} weight steps only, then each step also takes an '
                     f'architecture batch from the {ARCH_IMAGES} architecture images (re-shuffled '
                     'when used up), as SearchLoop runs it. Compute only: no data loading, '
                     'no DDP communication, no checkpoints. The paper: 3.8 GPU-days on 8 V100s '
                     '(batch 1024 in total); one GPU at a larger batch changes the recipe '
                     '(scale the rates with --auto-scale-lr).')


# --------------------------------------------------------------------------- driver
def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def run(args: argparse.Namespace) -> dict:
    device = torch.device(args.device)
    if device.type == 'cuda':
        torch.backends.cudnn.benchmark = args.cudnn_benchmark
    budget = Budget(args.budget_s, at_least_one=args.quick)
    info = setup(args)
    info.update(device_info(device))
    sections: dict = {}

    def run_section(name: str, fn: Callable[[], dict]) -> None:
        if name not in args.sections:
            return
        t0 = time.monotonic()
        try:
            res = fn()
            res.setdefault('status', 'ok' if res.get('rows') or not res.get('skipped') else 'skipped')
        except Exception as exc:  # noqa: BLE001  one broken section must not lose the others
            traceback.print_exc()
            res = dict(rows=[], status='failed', error=f'{type(exc).__name__}: {exc}'[:500])
        res['seconds'] = time.monotonic() - t0
        sections[name] = res
        free(device)
        log(f'== {name}: {res["status"]} in {res["seconds"]:.0f} s ({budget.left():.0f} s left)')

    run_section('step', lambda: section_step(args, device, budget))
    run_section('max_batch', lambda: section_max_batch(args, device, budget,
                                                       reserve_s=0.45 * budget.left()))
    run_section('second_order', lambda: section_second_order(args, device, budget))
    run_section('derived', lambda: section_derived(args, device, budget))
    run_section('layouts', lambda: section_layouts(args, device, budget))
    run_section('singlepath', lambda: section_singlepath(args, device, budget))
    run_section('compile', lambda: section_compile(args, device, budget,
                                                   sections.get('step', {}).get('rows', [])))
    run_section('projection', lambda: section_projection(sections.get('step', {}),
                                                         sections.get('max_batch', {})))
    return dict(benchmark='gpu', quick=args.quick, machine=info, total_s=budget.elapsed(),
                settings=dict(device=str(device), threads=args.threads, budget_s=args.budget_s,
                              ks=args.ks, dtypes=args.dtypes, sections=args.sections, **args.spec),
                sections=sections)


def table(result: dict) -> str:
    s, m = result['sections'], result['machine']
    where = m.get('gpu') or m.get('cpu')
    smoke = ' -- QUICK SMOKE MODE, not a measurement' if result['quick'] else ''
    out = [f'GPU benchmark on {where} ({m["device"]}; torch {m["torch"]}, {m["time"]}; '
           f'{result["total_s"]:.0f} s){smoke}']

    def add(name: str, title: str, cols: list) -> None:
        sec = s.get(name)
        if sec is None:
            return
        out.append(f'\n### {title}\n')
        if sec.get('rows'):
            out.append(fmt_table(sec['rows'], cols))
        for key in ('note', 'default', 'error'):
            if sec.get(key):
                out.append(f'\n{key}: {sec[key]}')
        if sec.get('skipped'):
            out.append(f'\nskipped (budget): {", ".join(sec["skipped"])}')
        if sec.get('status') not in ('ok', None):
            out.append(f'\nstatus: {sec["status"]}')

    add('step', f'Search step (first order) at batch {result["settings"]["batch"]}', [
        ('k', 'K'), ('dtype', 'dtype'), ('impl', 'impl'), ('step_s', 'step s'),
        ('images_per_s', 'img/s'), ('speedup_vs_reference', 'speed-up vs reference'),
        ('peak_mb', 'peak MB'), ('memory_vs_reference', 'memory vs reference'),
        ('memory_vs_k1', 'memory vs K=1'), ('weights_only_s', 'weight-only step s'),
        ('status', 'status')])
    add('max_batch', 'Largest batch that fits', [
        ('k', 'K'), ('dtype', 'dtype'), ('impl', 'impl'), ('max_batch', 'max batch'),
        ('first_oom', 'first OOM'), ('status', 'search'), ('step_s', 'step s'),
        ('images_per_s', 'img/s'), ('peak_mb', 'peak MB')])
    add('second_order', 'Second order against first order', [
        ('k', 'K'), ('dtype', 'dtype'), ('batch', 'batch'), ('first_order_s', '1st-order s'),
        ('second_order_s', '2nd-order s'), ('ratio', '2nd / 1st'),
        ('pass_count_ratio', 'ratio implied by pass counts'),
        ('first_order_peak_mb', '1st peak MB'), ('second_order_peak_mb', '2nd peak MB')])
    b = result['settings']['derived_batches']
    add('derived', 'Derived networks (latency)', [
        ('model', 'model'), ('part', 'part'), ('input', 'input'), ('dtype', 'dtype')]
        + [(f'latency_b{n}_ms', f'b{n} ms') for n in b] + [(f'images_per_s_b{max(b)}', f'img/s b{max(b)}')])
    add('layouts', 'Fast-path policy (memory layout, fused or plain)', [
        ('policy', 'policy'), ('default', 'default here'), ('k', 'K'), ('dtype', 'dtype'),
        ('step_s', 'step s'), ('time_vs_default', 'time vs default'), ('peak_mb', 'peak MB'),
        ('memory_vs_default', 'memory vs default'), ('status', 'status')])
    add('singlepath', 'Single-Path supernet step (one level)', [
        ('dtype', 'dtype'), ('batch', 'batch'), ('input', 'input'), ('step_s', 'step s'),
        ('images_per_s', 'img/s'), ('peak_mb', 'peak MB'), ('status', 'status')])
    add('compile', 'torch.compile of the search step', [
        ('k', 'K'), ('dtype', 'dtype'), ('status', 'status'), ('compile_s', 'compile s'),
        ('step_s', 'compiled step s'), ('eager_step_s', 'eager step s'),
        ('speedup_vs_eager', 'speed-up'), ('peak_mb', 'peak MB')])
    add('projection', 'Projected ImageNet-subset search (per GPU, compute only)', [
        ('k', 'K'), ('dtype', 'dtype'), ('batch', 'batch'), ('steps_per_epoch', 'steps/epoch'),
        ('weights_only_s', 'warm-up step s'), ('bilevel_s', 'bilevel step s'),
        ('gpu_hours', 'GPU-hours'), ('gpu_hours_all_bilevel', 'GPU-hours, 50 bilevel epochs'),
        ('vs_paper', 'vs paper (91.2 GPU-h)')])
    return '\n'.join(out)


def parser() -> argparse.ArgumentParser:
    p = benchmark_parser(__doc__, repeats=0)
    p.set_defaults(repeats=None)  # 5, 1 with --quick
    p.add_argument('--device', default='cuda', help='cuda (default), cuda:N, or cpu (with --quick)')
    p.add_argument('--quick', action='store_true',
                   help='smoke mode: a small network, batch 2, one repeat; every section, every code path')
    p.add_argument('--out', default=os.environ.get('OUT') or 'gpu_results',
                   help='folder for gpu.json and gpu.md (default: $OUT, else ./gpu_results)')
    p.add_argument('--budget-s', type=float, default=None,
                   help='wall-clock budget of the whole run (default 450 s, 100 s with --quick)')
    p.add_argument('--sections', nargs='+', default=list(SECTIONS), choices=SECTIONS)
    p.add_argument('--ks', nargs='+', type=int, default=[1, 2, 4])
    p.add_argument('--dtypes', nargs='+', default=list(DTYPES), choices=list(DTYPES))
    p.add_argument('--batch', type=int, default=None, help='default 128 (2 with --quick)')
    p.add_argument('--compile-budget-s', type=float, default=None,
                   help='seconds for the compile section (default 150, 15 with --quick)')
    p.add_argument('--compile-mode', choices=['default', 'reduce-overhead', 'max-autotune',
                                              'max-autotune-no-cudagraphs'],
                   help="torch.compile's mode for the compile section (default: its default)")
    p.add_argument('--no-cudnn-benchmark', dest='cudnn_benchmark', action='store_false',
                   help='the search configs set env_cfg.cudnn_benchmark=True; this turns it off')
    p.add_argument('--compile-child', help=argparse.SUPPRESS)
    return p


def main(argv: Optional[list] = None) -> dict:
    args = parser().parse_args(argv)
    if args.compile_child:
        return compile_child(args.compile_child)
    if torch.device(args.device).type == 'cuda' and not torch.cuda.is_available():
        raise SystemExit(f'gpu.py: no CUDA device is visible (torch {torch.__version__}, built with '
                         f'CUDA {torch.version.cuda}); set up with tools/setup_env.sh --cuda, or run '
                         'the smoke test: --device cpu --quick')
    if args.device == 'cpu' and not args.quick:
        log('warning: --device cpu without --quick runs the full GPU sizes on the CPU (hours)')
    spec = dict(QUICK if args.quick else FULL)
    if args.compile_budget_s is not None:
        spec['compile_budget_s'] = args.compile_budget_s
    spec['batch'] = args.batch = args.batch or spec['batch']
    spec['repeats'] = args.repeats = args.repeats or spec['repeats']
    args.budget_s = args.budget_s or (100. if args.quick else 450.)  # + imports and set-up
    args.spec = spec
    Path(args.out).mkdir(parents=True, exist_ok=True)
    if not args.json:
        args.json = str(Path(args.out) / 'gpu.json')
    result = report(args, run(args), table)
    from nas_backbones.utils.io import atomic_write_text
    atomic_write_text(str(Path(args.out) / 'gpu.md'), table(result) + '\n')
    log(f'wrote {Path(args.out) / "gpu.md"}')
    return result


if __name__ == '__main__':
    main()
