"""Supernet training step (architecture step + weight step): throughput and activation memory.

For K = 1 (DARTS' mixed op), 2, 4, 8, with and without edge normalization, at the
ImageNet setting (224x224, C=16, 8 cells, ImageNet stem) and the CIFAR setting
(32x32, C=16, 8 cells): one step of ``DifferentiableSearch.train_step`` (first order:
architecture step on one batch, weight step on another, PC-DARTS' optimizers),
timed for the fast supernet (also with ``recompute=True``) and for the paper's equations one
edge at a time (``impl='reference'``, the 'naive' rows) on the same weights and data.

Activation memory is what autograd keeps for backward in the weight step's
forward, counted with ``torch.autograd.graph.saved_tensors_hooks`` (each storage
once, parameters excluded), split into stem / cell preprocessing / mixed ops /
classifier. The largest batch for a memory budget is a projection from it.

    python benchmarks/supernet_step.py                      # the table, about 3 min on 2 cores
    python benchmarks/supernet_step.py --settings imagenet --ks 2 --batch-imagenet 8 --repeats 5
    python benchmarks/supernet_step.py --json benchmarks/results/supernet_step.json
"""
from __future__ import annotations

import argparse
import copy
import math
import statistics
import sys
import time
from pathlib import Path
from typing import Optional

if __package__ in (None, ''):  # run as a file: make `benchmarks` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch

import nas_backbones  # noqa: F401  registers the modules
from benchmarks.common import GB, MB, benchmark_parser, fmt_table, report, setup
from nas_backbones.core import DifferentiableSearch
from nas_backbones.core.optim import SearchOptimWrapperConstructor

SETTINGS = {
    'imagenet': dict(size=224, num_classes=1000, stem='imagenet'),
    'cifar': dict(size=32, num_classes=10, stem='cifar'),
    # the ImageNet network's stem at 32x32, for smoke tests (benchmarks/gpu.py --quick)
    'smoke': dict(size=32, num_classes=10, stem='imagenet'),
}
# PC-DARTS' CIFAR search optimizers; the values do not change the cost.
OPTIM = dict(
    weights=dict(optimizer=dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=3e-4),
                 clip_grad=dict(max_norm=5.)),
    arch=dict(optimizer=dict(type='Adam', lr=6e-4, betas=(0.5, 0.999), weight_decay=1e-3)))
LAYOUTS = {'auto': None, 'nchw': False, 'channels_last': True}
IMPLS = ('project', 'recompute', 'naive')
# Weights + gradients + SGD momentum (float32), for the batch projection.
STATE_COPIES = 3


def build(setting: str, k: int, edge_norm: bool, impl: str = 'project', unrolled: bool = False,
          C: int = 16, layers: int = 8, seed: int = 0, channels_last=None, fused=None,
          compile=False, device=None, amp: Optional[str] = None):
    """``DifferentiableSearch`` + its two optimizers (the same weights for every ``impl`` at a seed).

    ``impl``: ``project`` (the fast supernet, as configs build it), ``recompute``
    (the same with ``recompute=True``), ``naive`` (``impl='reference'``: the
    paper's equations one edge at a time). ``channels_last``, ``fused``: the
    fast path's policy (None: by device); ``compile``: ``DifferentiableSearch``'s
    option; ``device``: where the model goes before its optimizers are built;
    ``amp``: an autocast dtype, ``'float16'`` or ``'bfloat16'``, set on both
    optimizer wrappers as ``--amp --amp-dtype`` does.
    """
    if impl not in IMPLS:
        raise ValueError(f'impl must be one of {IMPLS}, got {impl!r}')
    s = SETTINGS[setting]
    trunk = dict(type='PCDartsSearchBackbone', out_indices=(-1,), C=C, layers=layers,
                 stem=s['stem'], partial_k=k, recompute=impl == 'recompute',
                 impl='reference' if impl == 'naive' else 'fast', channels_last=channels_last,
                 fused=fused)
    torch.manual_seed(seed)
    algo = DifferentiableSearch(
        space=dict(type='ModelSearchSpace',
                   model=dict(type='SearchClassifier', num_classes=s['num_classes'], backbone=trunk),
                   arch=dict(edge_norm=edge_norm)),
        unrolled=unrolled, compile=compile)
    if device is not None:
        algo.to(device)
    optim = copy.deepcopy(OPTIM)
    if amp:
        from nas_backbones.engine.launch import enable_amp
        optim['constructor'] = 'SearchOptimWrapperConstructor'
        enable_amp(optim, amp)
        del optim['constructor']
    return algo, SearchOptimWrapperConstructor(optim)(algo)


def batches(setting: str, batch: int, seed: int = 0) -> dict:
    """A weight batch and an architecture batch of random images and labels."""
    s = SETTINGS[setting]
    g = torch.Generator().manual_seed(seed)
    return {split: {'inputs': torch.randn(batch, 3, s['size'], s['size'], generator=g),
                    'data_samples': torch.randint(0, s['num_classes'], (batch,), generator=g)}
            for split in ('weights', 'arch')}


def activation_memory(algo: DifferentiableSearch, batch: dict) -> dict:
    """Bytes saved for backward by the weight step's forward, in total and per part of the network."""
    net = algo.space.backbone  # the trunk; the search classifier's linear layer beside it
    # The preprocessing layers' own layers (the supernet calls them without their opening ReLU)
    # and the cell outputs' ReLU the supernet computes once for the next two cells.
    preprocess = [m for c in net.cells for p in (c.preprocess0, c.preprocess1) for m in p.children()]
    regions = {'stem': [net.stem], 'classifier': [algo.space.model.classifier],
               'mixed_ops': list(net.cells),
               'preprocess': preprocess + ([net.state_relu] if hasattr(net, 'state_relu') else [])}
    stack = ['other']

    def enter(name: str):
        return lambda *_: stack.append(name) and None

    def leave(*_) -> None:
        stack.pop()

    handles = []
    for name, mods in regions.items():
        for m in mods:
            handles.append(m.register_forward_pre_hook(enter(name)))
            handles.append(m.register_forward_hook(leave))
    skip = {p.untyped_storage().data_ptr() for p in algo.parameters()}
    skip |= {b.untyped_storage().data_ptr() for b in algo.buffers()}
    seen: dict[int, tuple[str, int]] = {}

    def pack(t: torch.Tensor) -> torch.Tensor:
        st = t.untyped_storage()
        if st.data_ptr() not in skip and st.data_ptr() not in seen:
            seen[st.data_ptr()] = (stack[-1], st.nbytes())
        return t

    try:
        with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
            loss = algo.loss_of(algo, algo.data_preprocessor(batch, True))[0]
    finally:
        for h in handles:
            h.remove()
    del loss
    out = {name: 0 for name in ('stem', 'preprocess', 'mixed_ops', 'classifier', 'other')}
    for region, nbytes in seen.values():
        out[region] += nbytes
    out['total'] = sum(out.values())
    return out


def time_steps(runs: dict, data: dict, repeats: int, sync=None) -> dict:
    """Warm up each, then time the implementations' steps interleaved (fair under a changing load).

    ``sync``: called before reading each clock (``torch.cuda.synchronize`` on a GPU).
    """
    sync = sync or (lambda: None)
    for algo, optim in runs.values():
        algo.train_step(data, optim)
    wall = {k: [] for k in runs}
    cpu = {k: [] for k in runs}
    order = list(runs)
    for r in range(repeats):
        for name in (order if r % 2 == 0 else order[::-1]):
            algo, optim = runs[name]
            sync()
            t0, c0 = time.perf_counter(), time.process_time()
            algo.train_step(data, optim)
            sync()
            wall[name].append(time.perf_counter() - t0)
            cpu[name].append(time.process_time() - c0)
    return {k: dict(step_s=statistics.median(wall[k]), step_min_s=min(wall[k]),
                    cpu_s=statistics.median(cpu[k]), samples_s=[round(t, 4) for t in wall[k]])
            for k in runs}


def rss_child(setting: str, k: int, edge_norm: bool, impl: str, batch: int, channels_last=None) -> None:
    """In a fresh process: peak RSS growth over one step, after the model and data exist."""
    import json

    from benchmarks.common import reset_peak_rss, rss_bytes
    torch.set_num_threads(1)
    algo, optim = build(setting, k, edge_norm, impl, channels_last=channels_last)
    data = batches(setting, batch)
    if not reset_peak_rss():
        raise SystemExit('--rss needs /proc/self/clear_refs (Linux)')
    before = rss_bytes('VmRSS')
    algo.train_step(data, optim)
    print(json.dumps(dict(peak_rss_growth=rss_bytes('VmHWM') - before)))


def peak_rss_growth(setting: str, k: int, edge_norm: bool, impl: str, batch: int,
                    layout: str = 'auto') -> int:
    import json
    import subprocess
    cmd = [sys.executable, str(Path(__file__).resolve()), '--rss-child', setting, str(k),
           str(int(edge_norm)), impl, str(batch), '--layout', layout]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])['peak_rss_growth']


def max_batch(per_image: float, state_bytes: int, budget_gb: float) -> int:
    return max(0, math.floor((budget_gb * GB - state_bytes) / per_image))


def run(args: argparse.Namespace) -> dict:
    info = setup(args)
    rows = []
    for setting in args.settings:
        batch = args.batch_imagenet if setting == 'imagenet' else args.batch_cifar
        data = batches(setting, batch)
        for edge_norm in args.edge_norm:
            for k in args.ks:
                runs = {impl: build(setting, k, edge_norm, impl, channels_last=LAYOUTS[args.layout])
                        for impl in args.impls}
                mem = {impl: activation_memory(algo, data['weights'])
                       for impl, (algo, _) in runs.items()}
                times = time_steps(runs, data, args.repeats)
                n_params = sum(p.numel() for p in runs[args.impls[0]][0].parameters())
                for impl in args.impls:
                    m, t = mem[impl], times[impl]
                    per_image = m['total'] / batch
                    row = dict(setting=setting, k=k, edge_norm=edge_norm, batch=batch, impl=impl,
                               **t, images_per_s=batch / t['step_s'],
                               act_mb_per_image=per_image / MB,
                               mixed_ops_mb_per_image=m['mixed_ops'] / batch / MB,
                               act_bytes=m, params=n_params)
                    if args.rss:
                        row['peak_rss_growth_mb_per_image'] = peak_rss_growth(
                            setting, k, edge_norm, impl, batch, args.layout) / batch / MB
                    for gb in args.budget_gb:
                        row[f'max_batch_{gb:g}gb'] = max_batch(per_image, STATE_COPIES * 4 * n_params, gb)
                    rows.append(row)
                    print(f'{setting} K={k} edge_norm={edge_norm} {impl}: {t["step_s"]:.3f} s/step, '
                          f'{per_image / MB:.2f} MB/image', file=sys.stderr, flush=True)
    add_ratios(rows)
    return dict(benchmark='supernet_step', machine=info, settings=dict(
        threads=args.threads, repeats=args.repeats, layout=args.layout,
        batch_imagenet=args.batch_imagenet,
        batch_cifar=args.batch_cifar, memory='saved_tensors_hooks (activations kept for backward, '
        'each storage once, parameters excluded)', budgets_gb=args.budget_gb,
        images_per_s='batch / median wall time of one train_step (which also loads a second '
        'batch of the same size for the architecture step)'), rows=rows)


def add_ratios(rows: list[dict]) -> None:
    """Memory ratio to K=1 (same implementation, edge norm and batch); speed-up over the naive step."""
    key = lambda r: (r['setting'], r['edge_norm'], r['impl'], r['batch'])  # noqa: E731
    k1 = {key(r): r for r in rows if r['k'] == 1}
    naive = {(r['setting'], r['edge_norm'], r['k']): r for r in rows if r['impl'] == 'naive'}
    for r in rows:
        base = k1.get(key(r))
        if base:
            r['mem_ratio_to_k1'] = r['act_mb_per_image'] / base['act_mb_per_image']
            r['mixed_ops_ratio_to_k1'] = r['mixed_ops_mb_per_image'] / base['mixed_ops_mb_per_image']
        nv = naive.get((r['setting'], r['edge_norm'], r['k']))
        if nv and r['impl'] != 'naive':
            r['speedup_vs_naive'] = nv['step_s'] / r['step_s']
            r['cpu_speedup_vs_naive'] = nv['cpu_s'] / r['cpu_s']


def table(result: dict) -> str:
    budgets = result['settings']['budgets_gb']
    cols = [('setting', 'setting'), ('k', 'K'), ('edge_norm', 'edge norm'), ('batch', 'batch'),
            ('impl', 'impl'), ('step_s', 'step s'), ('images_per_s', 'img/s'),
            ('speedup_vs_naive', 'speed-up vs naive'), ('act_mb_per_image', 'act. MB/img'),
            ('mem_ratio_to_k1', 'ratio to K=1'), ('mixed_ops_mb_per_image', 'mixed-op MB/img'),
            ('mixed_ops_ratio_to_k1', 'mixed-op ratio to K=1')]
    cols += [(f'max_batch_{gb:g}gb', f'max batch {gb:g} GB*') for gb in budgets]
    if any('peak_rss_growth_mb_per_image' in r for r in result['rows']):
        cols.append(('peak_rss_growth_mb_per_image', 'peak RSS growth MB/img'))
    return fmt_table(result['rows'], cols)


def parser() -> argparse.ArgumentParser:
    p = benchmark_parser(__doc__, repeats=2)
    p.add_argument('--settings', nargs='+', default=['imagenet', 'cifar'], choices=list(SETTINGS))
    p.add_argument('--ks', nargs='+', type=int, default=[1, 2, 4, 8])
    p.add_argument('--edge-norm', nargs='+', type=lambda s: s.lower() in ('1', 'true', 'on'),
                   default=[True, False], metavar='ON|OFF', help='default: both')
    p.add_argument('--impls', nargs='+', default=list(IMPLS), choices=IMPLS,
                   help='recompute: the project supernet with recompute=True (stem and cell '
                   'preprocessing recomputed in backward)')
    p.add_argument('--batch-imagenet', type=int, default=2)
    p.add_argument('--batch-cifar', type=int, default=8)
    p.add_argument('--budget-gb', nargs='+', type=float, default=[11., 16.],
                   help='memory budgets for the largest-batch projection (1080 Ti, V100 16 GB)')
    p.add_argument('--layout', choices=list(LAYOUTS), default='auto',
                   help="memory layout of the project's candidate ops (auto: channels-last on CPU)")
    p.add_argument('--rss', action='store_true',
                   help='also run each configuration in a fresh process and report its peak RSS '
                   'growth over one step (activations + gradients + temporaries)')
    p.add_argument('--rss-child', nargs=5, help=argparse.SUPPRESS)
    return p


def main(argv: Optional[list[str]] = None) -> dict:
    args = parser().parse_args(argv)
    if args.rss_child:
        setting, k, edge_norm, impl, batch = args.rss_child
        return rss_child(setting, int(k), edge_norm == '1', impl, int(batch), LAYOUTS[args.layout])
    return report(args, run(args), table)


if __name__ == '__main__':
    main()
