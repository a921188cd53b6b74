"""Single-Path NAS search step against the PC-DARTS supernet's: throughput and activation memory.

At the same batch and input size (default: the ImageNet setting, 224x224, 1000
classes): one ``DifferentiableSearch.train_step`` of

- ``singlepath``: the Single-Path supernet (the reference's 22-layer table at
  ``--width``, every searchable layer a 5x5 e6 superkernel), one level: one
  forward and backward on one batch, RMSpropTF over weights and thresholds,
  the loss with its runtime term (FLOPs runtime model, lambda on);
- ``multipath``: the same space searched the multi-path way (FBNet / DARTS
  style): every searchable layer holds the four MBConv candidates k3e3, k3e6,
  k5e3, k5e6 as separate modules and outputs their softmax-weighted sum (plus
  the weighted identity where the layer may skip), one level, the same
  optimiser: what "single path" saves over the same search space;
- ``pcdarts_k{K}``: the PC-DARTS ImageNet search network (C=16, 8 cells,
  edge normalization, partial channels 1/K; K=1 is DARTS' full multi-path
  mixed op), first order: an architecture step on one batch and a weight step
  on another (``benchmarks/supernet_step.py``'s build).

``img/s`` counts the images one step trains the weights on (its batch), the
same way for both; a PC-DARTS step also reads a second batch for its
architecture step. Activation memory is what autograd keeps for backward in
one forward of the (weight) loss, counted with ``saved_tensors_hooks``
(every storage once, parameters and buffers excluded), per image.

    python benchmarks/singlepath_step.py --json benchmarks/results/singlepath_step.json
    python benchmarks/singlepath_step.py --batch 4 --size 224 --ks 1 2 --repeats 3
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import Optional

if __package__ in (None, ''):  # run as a file: make `benchmarks` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch

import nas_backbones  # noqa: F401  registers the modules
from benchmarks.common import MB, benchmark_parser, fmt_table, run_benchmark, setup
from benchmarks.supernet_step import build as build_pcdarts
from nas_backbones.core import DifferentiableSearch
from nas_backbones.core.optim import SearchOptimWrapperConstructor

OPTIM_SINGLEPATH = dict(weights=dict(optimizer=dict(type='RMSpropTF', lr=0.064, alpha=0.9,
                                                    momentum=0.9, eps=1e-3)))


def singlepath_space(num_classes: int, width: float, cost: Optional[dict]) -> dict:
    """The Single-Path classification search (configs/_base_/models/spnas_supernet_imagenet.py's
    space, no warm-up) at ``width``."""
    return dict(
        type='ModelSearchSpace',
        model=dict(type='SearchClassifier', num_classes=num_classes, label_smoothing=0.1,
                   dropout=0.2, loss_name='loss_cls',
                   backbone=dict(type='SinglePathSearchBackbone', out_indices=(-1,),
                                 initialise=False, width_mult=width)),
        arch=dict(warmup_iters=0, weight_decay=1e-5), cost=cost)


def build_singlepath(size: int, num_classes: int, width: float, seed: int = 0):
    from mmengine.registry import init_default_scope
    init_default_scope('mmdet')  # RMSpropTF is registered in MMDetection's scope
    torch.manual_seed(seed)
    algo = DifferentiableSearch(space=singlepath_space(
        num_classes, width, dict(runtime_lambda=0.02, metric='flops', input_size=size,
                                 num_classes=num_classes)))
    return algo, SearchOptimWrapperConstructor(OPTIM_SINGLEPATH)(algo)


class MultiPathLayer(torch.nn.Module):
    """The four candidates of a searchable layer as separate MBConvs, mixed by softmax(alpha)."""

    def __init__(self, layer) -> None:
        super().__init__()
        from nas_backbones.spaces.singlepath.ops import MBConv
        self.ops = torch.nn.ModuleList(
            MBConv(layer.in_channels, layer.out_channels, k, e, layer.stride, layer.residual)
            for k, e in ((3, 3), (3, 6), (5, 3), (5, 6)))
        self.residual = layer.residual
        self.alpha = torch.nn.Parameter(torch.zeros(5 if layer.residual else 4))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        w = self.alpha.softmax(0)
        out = sum(wi * op(x) for wi, op in zip(w, self.ops))
        return out + w[4] * x if self.residual else out


def build_multipath(size: int, num_classes: int, width: float, seed: int = 0):
    """The Single-Path space with a multi-path layer in place of every superkernel."""
    from mmengine.registry import init_default_scope
    init_default_scope('mmdet')
    torch.manual_seed(seed)
    algo = DifferentiableSearch(space=singlepath_space(num_classes, width, None))
    net = algo.space.backbone  # the trunk of the search classifier
    for i in net.searchable_index:
        net.layers[i] = MultiPathLayer(net.layers[i])
    return algo, SearchOptimWrapperConstructor(OPTIM_SINGLEPATH)(algo)


def data(batch: int, size: int, num_classes: int, seed: int = 0) -> dict:
    g = torch.Generator().manual_seed(seed)
    return {split: {'inputs': torch.randn(batch, 3, size, size, generator=g),
                    'data_samples': torch.randint(0, num_classes, (batch,), generator=g)}
            for split in ('weights', 'arch')}


def saved_bytes(algo, batch: dict) -> int:
    """Bytes autograd saves for backward in one forward of the loss (each storage once, no parameters)."""
    skip = {p.untyped_storage().data_ptr() for p in algo.parameters()}
    skip |= {b.untyped_storage().data_ptr() for b in algo.buffers()}
    seen: dict[int, int] = {}

    def pack(t: torch.Tensor) -> torch.Tensor:
        st = t.untyped_storage()
        if st.data_ptr() not in skip:
            seen.setdefault(st.data_ptr(), st.nbytes())
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        loss = algo.loss_of(algo, algo.data_preprocessor(batch, True))[0]
    del loss
    return sum(seen.values())


def time_steps(runs: dict, batches: dict, repeats: int) -> dict:
    """One warm-up each, then the runs' steps interleaved (a change in load hits all of them)."""
    for algo, optim, one_level in runs.values():
        algo.train_step(step_data(batches, one_level), optim)
    wall = {k: [] for k in runs}
    cpu = {k: [] for k in runs}
    order = list(runs)
    for r in range(repeats):
        for name in (order if r % 2 == 0 else order[::-1]):
            algo, optim, one_level = runs[name]
            t0, c0 = time.perf_counter(), time.process_time()
            algo.train_step(step_data(batches, one_level), optim)
            wall[name].append(time.perf_counter() - t0)
            cpu[name].append(time.process_time() - c0)
    return {k: dict(step_s=statistics.median(v), step_min_s=min(v), cpu_s=statistics.median(cpu[k]),
                    samples_s=[round(t, 4) for t in v]) for k, v in wall.items()}


def step_data(batches: dict, one_level: bool) -> dict:
    return dict(weights=batches['weights'], arch=None if one_level else batches['arch'])


def run(args: argparse.Namespace) -> dict:
    info = setup(args)
    batches = data(args.batch, args.size, args.num_classes)
    runs = {'singlepath': (*build_singlepath(args.size, args.num_classes, args.width), True),
            'multipath': (*build_multipath(args.size, args.num_classes, args.width), True)}
    stem = 'imagenet' if args.size >= 64 else 'cifar'
    for k in args.ks:
        algo, optim = build_pcdarts('imagenet' if stem == 'imagenet' else 'cifar', k, True)
        runs[f'pcdarts_k{k}'] = (algo, optim, False)
    mem = {name: saved_bytes(algo, batches['weights']) for name, (algo, _, _) in runs.items()}
    times = time_steps(runs, batches, args.repeats)
    rows = []
    for name, (algo, _, one_level) in runs.items():
        t = times[name]
        rows.append(dict(supernet=name, level='one' if one_level else 'bilevel (1st order)',
                         batch=args.batch, input=args.size,
                         params_m=sum(p.numel() for p in algo.parameters()) / 1e6, **t,
                         images_per_s=args.batch / t['step_s'],
                         act_mb_per_image=mem[name] / args.batch / MB))
        print(f'{name}: {t["step_s"]:.3f} s/step, {mem[name] / args.batch / MB:.1f} MB/img',
              file=sys.stderr, flush=True)
    base = rows[0]
    for r in rows:
        r['act_ratio_to_singlepath'] = r['act_mb_per_image'] / base['act_mb_per_image']
        r['step_ratio_to_singlepath'] = r['step_s'] / base['step_s']
        r['cpu_ratio_to_singlepath'] = r['cpu_s'] / base['cpu_s']
    return dict(benchmark='singlepath_step', machine=info, settings=dict(
        threads=args.threads, repeats=args.repeats, batch=args.batch, size=args.size,
        num_classes=args.num_classes, width=args.width, ks=args.ks,
        memory='saved_tensors_hooks in one forward of the (weight) loss, each storage once, '
               'parameters and buffers excluded',
        images_per_s='batch / median wall time of one train_step'), rows=rows)


def table(result: dict) -> str:
    cols = [('supernet', 'supernet'), ('level', 'search'), ('batch', 'batch'), ('input', 'input'),
            ('params_m', 'params M'), ('step_s', 'step s'), ('images_per_s', 'img/s'),
            ('step_ratio_to_singlepath', 'step time / single-path'), ('cpu_s', 'CPU s'),
            ('cpu_ratio_to_singlepath', 'CPU time / single-path'),
            ('act_mb_per_image', 'act. MB/img'), ('act_ratio_to_singlepath', 'act. / single-path')]
    return fmt_table(result['rows'], cols)


def parser() -> argparse.ArgumentParser:
    p = benchmark_parser(__doc__, repeats=3)
    p.add_argument('--batch', type=int, default=2)
    p.add_argument('--size', type=int, default=224)
    p.add_argument('--num-classes', type=int, default=1000)
    p.add_argument('--width', type=float, default=1.0, help='Single-Path width multiplier')
    p.add_argument('--ks', nargs='+', type=int, default=[1, 2],
                   help='PC-DARTS partial-channel K values (1: full DARTS mixed op)')
    return p


def main(argv: Optional[list[str]] = None) -> dict:
    return run_benchmark(parser(), run, table, argv)


if __name__ == '__main__':
    main()
