"""Do several searches of one space agree? Genes their results share, pair by pair, against random results.

    python tools/analysis/seed_agreement.py RESULT RESULT [RESULT ...] [--draws 2000] [--seed 0]

Each RESULT is a search's result file (``genotype.json`` of a DARTS-family search,
``architecture.json`` of a Single-Path search) or a search work dir holding one. Two searches
that differ only in their seed and learned something from the data should share more genes than
two random results of the same space do (DARTS cells: node by node, the (op, input) genes;
Single-Path: the op of each searchable layer). The baseline draws ``--draws`` pairs of random
results of the same space (``random_genotype`` / ``random_architecture``), seeded, so it is
the same on every run. Below it, or within two standard deviations of the mean of as many random
pairs, the searches agree no more than chance: their cells are draws of the search's noise.
"""
from __future__ import annotations

import argparse
import json
import os
import os.path as osp
import sys
from typing import Optional, Sequence

from nas_backbones.core.signal import Agreement, agreement
from nas_backbones.spaces.darts.result import Genotype
from nas_backbones.spaces.singlepath.result import Architecture

RESULT_TYPES = (Genotype, Architecture)


def load_result(path: str):
    """A DARTS genotype or a Single-Path architecture, from its file or from a work dir holding one."""
    if osp.isdir(path):
        found = [osp.join(path, t.filename) for t in RESULT_TYPES
                 if osp.isfile(osp.join(path, t.filename))]
        if len(found) != 1:
            raise FileNotFoundError(
                f'{path}: a work dir must hold exactly one of '
                f'{[t.filename for t in RESULT_TYPES]}, found {[osp.basename(f) for f in found]}')
        path = found[0]
    if not osp.isfile(path):
        raise FileNotFoundError(f'{path}: no such result file or work dir')
    with open(path, encoding='utf-8') as f:
        text = f.read()
    try:
        fields = json.loads(text)
    except json.JSONDecodeError:
        fields = None  # the DARTS text form, Genotype(normal=[...], ...)
    if isinstance(fields, dict) and 'blocks' in fields:
        return Architecture.from_dict(fields, source=path)
    return Genotype.from_text(text, source=path)


def main(argv: Optional[Sequence[str]] = None) -> Agreement:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('results', nargs='+', metavar='RESULT',
                        help='genotype.json / architecture.json files or search work dirs')
    parser.add_argument('--draws', type=int, default=2000,
                        help='random pairs for the chance level (2000)')
    parser.add_argument('--seed', type=int, default=0, help='seed of the random pairs (0)')
    args = parser.parse_args(argv)
    if len(args.results) < 2:
        parser.error('give at least two results')
    try:
        results = [load_result(p) for p in args.results]
        names = [os.path.relpath(p) for p in args.results]
        out = agreement(results, names, draws=args.draws, seed=args.seed)
    except (OSError, ValueError, TypeError) as e:
        parser.exit(2, f'{parser.prog}: error: {e}\n')
    print('\n'.join(out.lines()))
    return out


if __name__ == '__main__':
    from nas_backbones.engine.launch import run_tool
    sys.exit(run_tool(main))
