"""Measure sampled architectures of a search space on this device and fit the latency predictor (an MLP).

    python tools/analysis/latency_predictor.py configs/search/pcdarts_imagenet_latency.py \\
        --n 200 --out predictor_cpu.json [--C 48 --layers 14 --input-size 224]
    python tools/analysis/latency_predictor.py configs/network_search/darts_tiny_cpu.py \\
        --n 200 --out predictor_macro.json [--backend onnxruntime]
    python tools/analysis/latency_predictor.py configs/search/spnas_imagenet.py \\
        --n 200 --out predictor_spnas.json [--input-size 224]

With a cell-search config the networks are the config's (its supernet's C,
cells, stem and op vocabulary, at the cost's input size, or as given) with
random cells; the search then costs ``model.space.cost =
dict(metric='predictor', predictor='predictor_cpu.json')``. With a
network-search config the macro numbers are drawn from its space too (C,
cells per stage, input size; a cell pair per stage when the space has
``genotype_per_stage``), for ``network_search.latency.source='predictor'``.
With a Single-Path config (``SinglePathSearchBackbone``) the networks are its supernet's
layout with random ops per searchable layer, at the runtime model's input size
(or ``--input-size``); the search then sets ``model.space.cost =
dict(metric='predictor', predictor='predictor_spnas.json', ...)``. The config's searchable
backbone type picks the space family that samples and encodes (``predictor_task``).
Each network is timed in eval mode at ``--batch`` (median of ``--repeats``);
``--backend onnxruntime`` times in ONNX Runtime the network exported as
``tools/deployment/export_onnx.py`` exports it (``pip install '.[onnx]'``). A random
``--holdout`` of the architectures is kept out of the fit; the file records the relative errors
on it, the device and the settings.
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
from nas_backbones.core.predictor import backends, device_description, fit_with_holdout, measure_latency, predictor_task
from nas_backbones.engine.launch import read_only


def main(argv: Optional[Sequence[str]] = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('config', help='a cell-search, network-search or Single-Path search config')
    p.add_argument('--out', required=True, help='the predictor file (JSON, written atomically)')
    p.add_argument('--overwrite', action='store_true',
                   help='replace an existing --out file (without it, one is refused: it holds measurements)')
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
    p.add_argument('--input-size', type=int, help='cell-search or Single-Path config: input size')
    p.add_argument('--cfg-options', nargs='+', action=DictAction, help='override config settings')
    args = p.parse_args(argv)
    if not osp.isfile(args.config):
        p.error(f'config file not found: {args.config}')
    if args.n < 4:
        p.error(f'--n must be >= 4, got {args.n}')
    if osp.exists(args.out) and (not args.overwrite or read_only(args.out)):
        p.error(f'--out {args.out} exists: a predictor measured earlier, which is kept. Give another '
                '--out' + (' (it is read-only)' if read_only(args.out) else ', or --overwrite to replace it'))
    if args.backend not in backends():
        p.error(f'--backend {args.backend}: not importable here (available: {backends()})')
    torch.set_num_threads(args.threads)
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    init_default_scope(cfg.get('default_scope', 'mmdet'))
    task = predictor_task(cfg, args.n, args.seed, source=args.config, C=args.C, layers=args.layers,
                          input_size=args.input_size, per_edge=args.per_edge)
    secs = []
    t0 = time.perf_counter()
    for i, (build, shape, _) in enumerate(task.samples):
        secs.append(measure_latency(build(), shape, args.device, args.batch, args.repeats, args.backend,
                                    args.rounds, args.clock))
        if (i + 1) % 20 == 0 or i + 1 == len(task.samples):
            print(f'measured {i + 1}/{len(task.samples)} ({time.perf_counter() - t0:.0f} s)', flush=True)
    X, y = torch.stack([f for _, _, f in task.samples]), torch.tensor(secs)
    meta = dict(device_description=device_description(args.device), batch=args.batch,
                backend=args.backend, repeats=args.repeats, rounds=args.rounds, clock=args.clock,
                measured=args.n, seed=args.seed, **task.meta,
                measured_seconds=dict(min=float(y.min()), median=float(y.median()), max=float(y.max())))
    model, figures, _ = fit_with_holdout(X, y, args.holdout, args.seed, hidden=args.hidden,
                                         steps=args.steps, encoding=task.encoding, meta=meta)
    model.meta['accuracy'] = figures
    model.save(args.out)
    line = ', '.join(f'{part}: mean {f["mean"] * 100:.1f}% / max {f["max"] * 100:.1f}% relative error'
                     for part, f in figures.items())
    print(f'{args.out}: {args.n} architectures on {args.device} ({args.backend}, batch {args.batch}); {line}')
    return model.to_dict()


if __name__ == '__main__':
    from nas_backbones.engine.launch import run_tool
    sys.exit(run_tool(main))
