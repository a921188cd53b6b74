"""Measure the per-op latency table of a search config on this machine (FBNet-style lookup table).

Run it on the device you deploy to, then copy the file to where the search runs
and point the search at it (``model.cost.latency_table``). Entries already in
the file are kept; only missing ones are measured.

    python tools/analysis/latency_table.py configs/search/pcdarts_imagenet_latency.py --out lat_cpu.json
    python tools/analysis/latency_table.py configs/search/pcdarts_imagenet.py --out lat_gpu.json \\
        --device cuda --batch 8 --input-size 224

The table is measured for the config's supernet (its width, cells and op
vocabulary) at ``--input-size`` (default: the config's cost input size, else 224).
For a Single-Path search (``SinglePathSearchBackbone``) it holds the four MBConv variants of
every searchable layer and the fixed parts, at the runtime model's input size
(``model.space.cost.input_size``); point ``model.space.cost.latency_table``
at it:

    python tools/analysis/latency_table.py configs/search/spnas_imagenet.py --out spnas_lat.json
"""
from __future__ import annotations

import argparse
import json
import os.path as osp
import sys
from typing import Optional, Sequence

import torch
from mmdet.registry import MODELS
from mmengine.config import Config, DictAction
from mmengine.registry import init_default_scope

import nas_backbones  # noqa: F401  registers the models
from nas_backbones.core.model_space import searched_trunk
from nas_backbones.spaces.darts.cost import ResourceCost


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
    found = searched_trunk(cfg)
    if found is None:
        raise ValueError(f'{args.config}: model.space.model.backbone not found; this tool measures a '
                         'search config')
    kind, trunk, cost_cfg, _ = found
    if kind in ('SinglePathSearchBackbone', 'SinglePathSpace'):
        return singlepath_table(trunk, cost_cfg, args)
    init_default_scope(cfg.get('default_scope', 'mmdet'))
    if kind == 'DartsClassifierSpace':  # the deprecated layout: the supernet's own config
        supernet = MODELS.build(trunk)
    else:  # the searchable backbone: the trunk alone
        supernet = MODELS.build({k: v for k, v in trunk.items() if k != 'num_classes'})
    size = args.input_size or cost_cfg.get('input_size', 224)
    cost = ResourceCost(supernet, weight=0., input_size=size, metric='latency', device=args.device,
                        batch=args.batch, latency_table=args.out)
    with open(args.out) as f:
        entries = json.load(f)['entries']
    print(f'{args.out}: {len(entries)} ops ({cost.measured} measured now) on {args.device}, '
          f'batch {args.batch}, input {size}; expected cells at uniform alpha/beta: '
          f'{cost.normalizer * 1e3:.3f} ms')
    return 0


def singlepath_table(net: dict, runtime: dict, args: argparse.Namespace) -> int:
    """The Single-Path runtime model's latency table: 4 variants per searchable layer, the fixed parts."""
    from nas_backbones.spaces.singlepath import make_layout
    from nas_backbones.spaces.singlepath.runtime import RuntimeModel
    layout = make_layout(net.get('blocks'), net.get('width_mult', 1.0), net.get('stem_channels', 32),
                         net.get('head_channels', 1280))
    size = args.input_size or runtime.get('input_size', 224)
    model = RuntimeModel(layout, size, metric='latency', device=args.device, batch=args.batch,
                         latency_table=args.out, num_classes=net.get('num_classes', 1000))
    with open(args.out) as f:
        entries = json.load(f)['entries']
    full = float(model(torch.ones(len(layout.searchable), 3, dtype=torch.float64)))
    print(f'{args.out}: {len(entries)} entries ({model.measured} measured now) on {args.device}, '
          f'batch {args.batch}, input {size}; R of the full k5e6 supernet: {full:.3f} ms '
          f'(fixed parts {model.const:.3f} ms)')
    return 0


if __name__ == '__main__':
    from nas_backbones.engine.launch import run_tool
    sys.exit(run_tool(main))
