"""Rebuild a search's report from its work dir: WORK_DIR/report/README.md and its images.

    python tools/analysis/search_report.py WORK_DIR [--out DIR] [--no-cost]
        [--cost-C 48] [--cost-layers 14] [--cost-input-size 224] [--cost-num-classes 1000]

Reads WORK_DIR/search_history.json (written by DerivationHook every epoch, so a
running or interrupted search can be reported too) and the config MMEngine
dumped there. The report shows the final cells, softmax(alpha) per edge and
softmax(beta) per node over the epochs, the parameter-free ops of the derived
genotype per epoch and its parameters/FLOPs (the ImageNet classifier at 224
by default: one build and trace per distinct genotype, several seconds each).
"""
from __future__ import annotations

import argparse
import sys
from typing import Optional, Sequence

import nas_backbones  # noqa: F401  registers modules (the classifier measured for the cost)
from nas_backbones.spaces.darts.classifier_cost import CostSpec


def main(argv: Optional[Sequence[str]] = None) -> str:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('work_dir', metavar='WORK_DIR', help='a search work dir')
    parser.add_argument('--out', help='report folder (default WORK_DIR/report)')
    parser.add_argument('--no-cost', action='store_true', help='leave out parameters and FLOPs')
    d = CostSpec()
    parser.add_argument('--cost-C', type=int, default=d.C, help=f'channels per node ({d.C})')
    parser.add_argument('--cost-layers', type=int, default=d.layers, help=f'cells ({d.layers})')
    parser.add_argument('--cost-input-size', type=int, default=d.input_size,
                        help=f'square input size ({d.input_size})')
    parser.add_argument('--cost-num-classes', type=int, default=d.num_classes,
                        help=f'classes ({d.num_classes})')
    args = parser.parse_args(argv)
    cost = None if args.no_cost else CostSpec(args.cost_C, args.cost_layers, args.cost_input_size,
                                              args.cost_num_classes)
    from nas_backbones.visualization.report import write_report
    try:
        readme = write_report(args.work_dir, cost=cost, out_dir=args.out)
    except (FileNotFoundError, ValueError) as e:
        parser.exit(2, f'{parser.prog}: error: {e}\n')
    print(readme)
    return readme


if __name__ == '__main__':
    from nas_backbones.engine.launch import run_tool
    sys.exit(run_tool(main))
