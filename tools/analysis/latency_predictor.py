"""Measure sampled architectures of a DARTS space on this device and fit the latency predictor (an MLP).

    python tools/analysis/latency_predictor.py configs/search/pcdarts_imagenet_latency.py \\
        --n 200 --out predictor_cpu.json [--C 48 --layers 14 --input-size 224]
    python tools/analysis/latency_predictor.py configs/network_search/darts_tiny_cpu.py \\
        --n 200 --out predictor_macro.json [--backend onnxruntime]

With a cell-search config the networks are the config's (its supernet's C,
cells, stem and op vocabulary, at the cost's input size, or as given) with
random cells; the search then costs ``model.architecture.cost =
dict(metric='predictor', predictor='predictor_cpu.json')``. With a
network-search config the macro numbers are drawn from its space too (C,
cells per stage, input size; a cell pair per stage when the space has
``genotype_per_stage``), for ``network_search.latency.source='predictor'``.
Each network is timed in eval mode at ``--batch`` (median of ``--repeats``);
``--backend onnxruntime`` times the ONNX export in ONNX Runtime (if it is
installed). A random ``--holdout`` of the architectures is kept out of the
fit; the file records the relative errors on it, the device and the settings.
"""
from __future__ import annotations

import argparse
import os.path as osp
import sys
import time
from typing import Optional, Sequence

import torch
from mmengine.config import Config, DictAction
from mmengine.registry import init_default_scope

import nas_backbones  # noqa: F401  registers the models
from nas_backbones.core.predictor import (backends, device_description, fit_with_holdout,
                                          measure_latency)
from nas_backbones.spaces.darts.encoding import (DartsEncoding, network_of,
                                                 sample_networks, stage_cells_of)
from nas_backbones.spaces.darts.macro import reduction_indices


def space_of(cfg: Config, args: argparse.Namespace) -> dict:
    """The sampling space: macro choices, stem, op vocabulary, and the fixed network if there is one."""
    ns = cfg.get('network_search')
    if ns is not None:
        from nas_backbones.network_search.space import build_network_space
        space = build_network_space(ns.space.to_dict() if hasattr(ns.space, 'to_dict') else dict(ns.space))
        enc = space.encoding
        return dict(C=space.C, input_size=space.input_size, stage_cells=space.stage_cells,
                    per_stage=space.per_stage, stem=space.stem, steps=enc.steps,
                    primitives=enc.primitives, num_classes=cfg.get('model', {}).get('num_classes', 1000))
    arch = cfg.get('model', {}).get('architecture', {})
    sn = arch.get('supernet')
    if sn is None:
        raise ValueError(f'{args.config}: neither network_search nor model.architecture.supernet; '
                         'give a cell-search or a network-search config')
    C = args.C or sn.get('C', 16)
    layers = args.layers or sn.get('layers', 8)
    size = args.input_size or (arch.get('cost') or {}).get('input_size', 224)
    from nas_backbones.spaces.darts.ops import DEFAULT_PRIMITIVES
    return dict(C=[C], input_size=[size], stage_cells=[[n] for n in stage_cells_of(layers, reduction_indices(layers))],
                per_stage=False, stem=sn.get('stem', 'imagenet'), steps=sn.get('steps', 4),
                primitives=tuple(sn.get('primitives', DEFAULT_PRIMITIVES)),
                num_classes=sn.get('num_classes', 1000))


def main(argv: Optional[Sequence[str]] = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('config', help='a cell-search or network-search config')
    p.add_argument('--out', required=True, help='the predictor file (JSON, written atomically)')
    p.add_argument('--n', type=int, default=200, help='architectures to measure (default %(default)s)')
    p.add_argument('--holdout', type=float, default=0.25,
                   help='fraction kept out of the fit for the accuracy figures (default %(default)s)')
    p.add_argument('--device', default='cpu')
    p.add_argument('--batch', type=int, default=1)
    p.add_argument('--repeats', type=int, default=10, help='timed calls per network (median)')
    p.add_argument('--backend', default='torch', choices=['torch', 'onnxruntime'])
    p.add_argument('--threads', type=int, default=1, help='torch intra-op threads (default %(default)s)')
    p.add_argument('--rounds', type=int, default=1, help='timing rounds per network, the fastest counts')
    p.add_argument('--clock', choices=['wall', 'cpu'], default='wall',
                   help='wall clock (default), or this process\'s CPU time (one thread on a shared CPU)')
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--hidden', type=int, nargs='+', default=[64, 64], help='MLP widths')
    p.add_argument('--steps', type=int, default=1000, help='fitting steps (full batch)')
    p.add_argument('--per-edge', action='store_true',
                   help='encode every edge\'s op too (Latency-Aware DARTS\' one-hot; needs many more architectures)')
    p.add_argument('--C', type=int, help='cell-search config: channels per node of the measured networks')
    p.add_argument('--layers', type=int, help='cell-search config: cells of the measured networks')
    p.add_argument('--input-size', type=int, help='cell-search config: input size')
    p.add_argument('--cfg-options', nargs='+', action=DictAction, help='override config settings')
    args = p.parse_args(argv)
    if not osp.isfile(args.config):
        p.error(f'config file not found: {args.config}')
    if args.n < 4:
        p.error(f'--n must be >= 4, got {args.n}')
    if args.backend not in backends():
        p.error(f'--backend {args.backend}: not importable here (available: {backends()})')
    torch.set_num_threads(args.threads)
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    init_default_scope(cfg.get('default_scope', 'mmdet'))
    sp = space_of(cfg, args)
    encoding = DartsEncoding(sp['steps'], sp['primitives'], len(sp['stage_cells']), args.per_edge)
    samples = sample_networks(args.n, args.seed, sp['C'], sp['input_size'], sp['stage_cells'],
                              sp['per_stage'], sp['steps'], sp['primitives'])
    feats, secs = [], []
    t0 = time.perf_counter()
    for i, s in enumerate(samples):
        net = network_of(s, sp['stem'], sp['num_classes'])
        secs.append(measure_latency(net, (3, s['input_size'], s['input_size']), args.device,
                                    args.batch, args.repeats, args.backend, args.rounds, args.clock))
        feats.append(encoding.of_network(s['genotypes'], s['C'], s['input_size'], s['stage_cells']))
        if (i + 1) % 20 == 0 or i + 1 == len(samples):
            print(f'measured {i + 1}/{len(samples)} ({time.perf_counter() - t0:.0f} s)', flush=True)
    X, y = torch.stack(feats), torch.tensor(secs)
    fixed = all(len(v) == 1 for v in (sp['C'], sp['input_size'], *sp['stage_cells']))
    macro_range = {'C': [min(sp['C']), max(sp['C'])],
                   'input_size': [min(sp['input_size']), max(sp['input_size'])]}
    macro_range.update({f'stage_cells[{i}]': [min(c), max(c)] for i, c in enumerate(sp['stage_cells'])})
    meta = dict(device_description=device_description(args.device), batch=args.batch,
                backend=args.backend, repeats=args.repeats, rounds=args.rounds, clock=args.clock,
                stem=sp['stem'], num_classes=sp['num_classes'],
                measured=args.n, seed=args.seed, macro_range=macro_range,
                macro=dict(C=sp['C'][0], input_size=sp['input_size'][0],
                           stage_cells=[c[0] for c in sp['stage_cells']]) if fixed else None,
                sampled=dict(C=list(sp['C']), input_size=list(sp['input_size']),
                             stage_cells=[list(c) for c in sp['stage_cells']], per_stage=sp['per_stage']),
                measured_seconds=dict(min=float(y.min()), median=float(y.median()), max=float(y.max())))
    model, figures, _ = fit_with_holdout(X, y, args.holdout, args.seed, hidden=args.hidden,
                                         steps=args.steps, encoding=encoding.spec(), meta=meta)
    model.meta['accuracy'] = figures
    model.save(args.out)
    line = ', '.join(f'{part}: mean {f["mean"] * 100:.1f}% / max {f["max"] * 100:.1f}% relative error'
                     for part, f in figures.items())
    print(f'{args.out}: {args.n} architectures on {args.device} ({args.backend}, batch {args.batch}); {line}')
    return model.to_dict()


if __name__ == '__main__':
    main()
    sys.exit(0)
