"""Parameters and FLOPs (multiply-adds, as the DARTS / PC-DARTS papers count them) of a
genotype's ImageNet classifier or of any model config, through mmengine's FlopAnalyzer.

    python tools/analysis/complexity.py --genotype PC_DARTS_image --input-size 224 --json
    python tools/analysis/complexity.py --genotype work_dirs/search/genotype.json --C 48 --layers 14
    python tools/analysis/complexity.py configs/ssd_pcdarts_coco.py --part backbone --input-size 300
    python tools/analysis/complexity.py configs/ssd_pcdarts_coco.py --input-size 300 --json
    python tools/analysis/complexity.py --pareto work_dirs/darts_tiny_cpu/pareto.json --point 0

One multiply-add counts as one FLOP (fvcore's convention, which mmengine
uses). A detector is measured in ``tensor`` mode: backbone, neck and head
convolutions, without anchor decoding and NMS. The classifier is measured
without its auxiliary head, which only runs in training; generally, parameters
of modules that the measured forward does not run are reported apart
(``params_not_run``), not in ``params``. With ``--json`` the
last line printed is a JSON object with integer ``params`` and ``flops``.
"""
from __future__ import annotations

import argparse
import json
import sys
from typing import Sequence

import torch.nn as nn
from mmdet.registry import MODELS
from mmengine.config import Config, DictAction
from mmengine.registry import init_default_scope

from nas_backbones.engine.preflight import neck_problem
from nas_backbones.evaluation.complexity import measure
from nas_backbones.spaces.darts.classifier import GenotypeClassifier  # also registers and applies compat


def genotype_classifier(genotype: str, C: int, layers: int, num_classes: int,
                        stem: str) -> nn.Module:
    """The evaluation network of DARTS' train_imagenet.py (no auxiliary head)."""
    return GenotypeClassifier(genotype=genotype, C=C, layers=layers, stem=stem,
                              num_classes=num_classes, auxiliary=False)


def config_model(path: str, options: dict | None, part: str) -> nn.Module:
    cfg = Config.fromfile(path)
    if options:
        cfg.merge_from_dict(options)
    init_default_scope(cfg.get('default_scope', 'mmdet'))
    model = MODELS.build(cfg.model)
    problem = neck_problem(cfg.model, model)  # as tools/train.py names it, not a convolution's error
    if problem is not None:
        raise ValueError(f'{path}: {problem}')
    if part == 'backbone' and not hasattr(model, 'backbone'):
        raise SystemExit(f'{path}: --part backbone, but model {cfg.model.get("type")!r} has no backbone')
    return model


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    what = parser.add_mutually_exclusive_group(required=True)
    what.add_argument('config', nargs='?', help='a model config (detector, classifier, ...)')
    what.add_argument('--genotype', help='a published genotype name or a genotype file: measures '
                      'its ImageNet classifier')
    what.add_argument('--pareto', help="a network search's pareto.json: measures the classifier of "
                      '--point (its backbone, at its input size unless --input-size is given)')
    parser.add_argument('--point', type=int, default=0, help='with --pareto: which point (default 0)')
    parser.add_argument('--part', choices=['backbone', 'model'], default='model',
                        help='with CONFIG: the backbone only, or the whole model (default)')
    parser.add_argument('--input-size', type=int, nargs='+', metavar='N',
                        help='N (square) or H W; default 224 (--pareto: the point\'s)')
    parser.add_argument('--C', type=int, default=48, help='with --genotype: channels per node (48)')
    parser.add_argument('--layers', type=int, default=14, help='with --genotype: cells (14)')
    parser.add_argument('--stem', default='imagenet', choices=['imagenet', 'cifar'])
    parser.add_argument('--num-classes', type=int, default=1000)
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, help='override config settings')
    parser.add_argument('--json', action='store_true', help='end with one line of JSON')
    args = parser.parse_args(argv)
    if args.input_size is None:
        args.input_size = None if args.pareto else [224]
    elif len(args.input_size) not in (1, 2) or min(args.input_size) < 1:
        parser.error(f'--input-size takes N or H W (positive), got {args.input_size}')
    if (args.genotype or args.pareto) and args.part != 'model':
        parser.error('--part applies to a CONFIG, not to --genotype or --pareto')
    return args


def main(argv: Sequence[str] | None = None) -> dict:
    args = parse_args(argv)
    if args.pareto:
        from nas_backbones.network_search import pareto_point
        point = pareto_point(args.pareto, args.point)
        args.input_size = args.input_size or [point['input_size']]
        model = GenotypeClassifier(backbone=point['backbone'], num_classes=args.num_classes, auxiliary=False)
        what = f'{args.pareto} point {args.point} classifier ({args.num_classes} classes, no auxiliary head)'
    size = args.input_size * 2 if len(args.input_size) == 1 else args.input_size
    if args.pareto:
        pass
    elif args.genotype:
        model = genotype_classifier(args.genotype, args.C, args.layers, args.num_classes, args.stem)
        what = (f'{args.genotype} classifier (C={args.C}, layers={args.layers}, '
                f'{args.num_classes} classes, no auxiliary head)')
    else:
        model = config_model(args.config, args.cfg_options, args.part)
        what = f'{args.config} ({args.part})'
    result = dict(what=what, input_size=list(size), **measure(model, args.part, size))
    print(f'{what} at {size[0]}x{size[1]}:')
    print(f'  params: {result["params"] / 1e6:.3f} M')
    if result['params_not_run']:
        print(f'  (and {result["params_not_run"] / 1e6:.3f} M in modules this forward does not run, '
              'e.g. an auxiliary head: not counted)')
    print(f'  FLOPs (multiply-adds): {result["flops"] / 1e6:.1f} M')
    for op, n in sorted(result['flops_by_operator'].items(), key=lambda kv: -kv[1]):
        print(f'    {op}: {n / 1e6:.1f} M')
    if args.json:
        sys.stdout.flush()
        print(json.dumps(result))
    return result


if __name__ == '__main__':
    from nas_backbones.engine.launch import run_tool
    sys.exit(run_tool(main))
