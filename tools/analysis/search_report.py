"""Rebuild a search's report from its work dir: WORK_DIR/report/README.md and its images.

    python tools/analysis/search_report.py WORK_DIR [--out DIR] [--no-cost]
        [--cost-C 48] [--cost-layers 14] [--cost-input-size 224] [--cost-num-classes 1000]

Reads WORK_DIR/search_history.json (written by DerivationHook every epoch, so a
running or interrupted search can be reported too) and the config MMEngine
dumped there. The space family of the search's result writes its part: for
DARTS cells the final cells, softmax(alpha) per edge and softmax(beta) per
node over the epochs, the parameter-free ops of the derived genotype per
epoch and its parameters/FLOPs (the ``--cost-*`` classifier, by default the
ImageNet one at 224: one build and trace per distinct genotype, several
seconds each); for Single-Path NAS the network strip, the op per layer, the
thresholds and the runtime estimate per epoch (no ``--cost-*`` options).
"""
from __future__ import annotations

import argparse
import sys
from typing import Optional, Sequence

import nas_backbones  # noqa: F401  registers the families' report sections and the networks they measure


def main(argv: Optional[Sequence[str]] = None) -> str:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('work_dir', metavar='WORK_DIR', help='a search work dir')
    parser.add_argument('--out', help='report folder (default WORK_DIR/report)')
    parser.add_argument('--no-cost', action='store_true', help='leave out parameters and FLOPs')
    # the DARTS classifier the genotypes are measured as; unset: the family's default (48, 14, 224, 1000)
    parser.add_argument('--cost-C', type=int, help='channels per node (48)')
    parser.add_argument('--cost-layers', type=int, help='cells (14)')
    parser.add_argument('--cost-input-size', type=int, help='square input size (224)')
    parser.add_argument('--cost-num-classes', type=int, help='classes (1000)')
    args = parser.parse_args(argv)
    given = dict(C=args.cost_C, layers=args.cost_layers, input_size=args.cost_input_size,
                 num_classes=args.cost_num_classes)
    cost = False if args.no_cost else {k: v for k, v in given.items() if v is not None}
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
