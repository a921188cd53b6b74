"""Measure the per-op latency table of a search config on this machine (FBNet-style lookup table).

Run it on the device you deploy to, then copy the file to where the search runs
and point the search at it (``model.space.cost.latency_table``). Entries already in
the file are kept; only missing ones are measured.

    python tools/analysis/latency_table.py configs/search/pcdarts_imagenet_latency.py --out lat_cpu.json
    python tools/analysis/latency_table.py configs/search/pcdarts_imagenet.py --out lat_gpu.json \\
        --device cuda --batch 8 --input-size 224

The config's searchable backbone picks the space family that measures (``register_latency_table``).
For a cell search the table is measured for the config's supernet (its width, cells and op
vocabulary) at ``--input-size`` (default: the config's cost input size, else 224).
For a Single-Path search (``SinglePathSearchBackbone``) it holds the four MBConv variants of
every searchable layer and the fixed parts, at the runtime model's input size
(``model.space.cost.input_size``); point ``model.space.cost.latency_table``
at it:

    python tools/analysis/latency_table.py configs/search/spnas_imagenet.py --out spnas_lat.json
"""
from __future__ import annotations

import argparse
import os.path as osp
import sys
from typing import Optional, Sequence

import torch
from mmengine.config import Config, DictAction
from mmengine.registry import init_default_scope

import nas_backbones  # noqa: F401  registers the models and each family's latency-table measurement
from nas_backbones.core.latency import measure_latency_table


def main(argv: Optional[Sequence[str]] = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('config', help="a search config (its model.space's searchable backbone is measured)")
    p.add_argument('--out', required=True, help='the JSON table to write (completed if it exists)')
    p.add_argument('--device', default='cpu', help='cpu, cuda, cuda:1 ... (default %(default)s)')
    p.add_argument('--batch', type=int, default=1, help='batch the ops are timed at (default %(default)s)')
    p.add_argument('--input-size', type=int, help="image size (default: the config's cost input_size, else 224)")
    p.add_argument('--threads', type=int, help='torch intra-op threads (default: torch\'s)')
    p.add_argument('--cfg-options', nargs='+', action=DictAction, help='override config settings')
    args = p.parse_args(argv)
    if not osp.isfile(args.config):
        raise FileNotFoundError(f'config file not found: {args.config}')
    if args.threads:
        torch.set_num_threads(args.threads)
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    init_default_scope(cfg.get('default_scope', 'mmdet'))
    print(measure_latency_table(cfg, args.out, args.device, args.batch, args.input_size, source=args.config))
    return 0


if __name__ == '__main__':
    from nas_backbones.engine.launch import run_tool
    sys.exit(run_tool(main))
