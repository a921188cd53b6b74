"""Draw random genotypes of the DARTS space, with a seed: the chance baseline for a searched cell.

    python tools/sample_genotypes.py --seed 0 --num 5 --out work_dirs/random
    python tools/train.py configs/ssd_pcdarts_coco128.py \
        --cfg-options model.backbone.genotype=work_dirs/random/random_s0_000.json

Each node keeps two distinct inputs drawn uniformly and each of its two edges
an op drawn uniformly from the space's ops except ``none``; the normal and the
reduction cell are drawn independently. ``OUT/random_s<SEED>_<i>.json`` is
genotype ``i`` of the seed: the same on every machine, and ``--num 10`` starts
with the files ``--num 3`` writes (so those are written again, unchanged). A file of
that name holding another genotype is refused unless ``--overwrite``. Train a few of them with the same schedule
as a searched cell to see whether the search beat chance
(``benchmarks/search_vs_random.py`` does this on small data).
"""
from __future__ import annotations

import argparse
import os
import sys
from typing import Optional, Sequence

from nas_backbones.engine.launch import read_only
from nas_backbones.spaces.darts.ops import DEFAULT_PRIMITIVES
from nas_backbones.spaces.darts.result import Genotype, GenotypeError
from nas_backbones.spaces.darts.sample import random_genotypes


def file_name(seed: int, index: int) -> str:
    return f'random_s{seed}_{index:03d}.json'


def _holds(path: str, genotype: Genotype) -> bool:
    try:
        return Genotype.load(path) == genotype
    except (GenotypeError, OSError, UnicodeDecodeError):
        return False


def main(argv: Optional[Sequence[str]] = None) -> list[str]:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--seed', type=int, default=0, help='seed of the draw (default 0)')
    parser.add_argument('--num', type=int, default=1, help='how many genotypes (default 1)')
    parser.add_argument('--start', type=int, default=0,
                        help='index of the first genotype (default 0): --start 5 --num 5 '
                             'continues a --num 5 draw')
    parser.add_argument('--out', required=True, help='folder for the genotype files')
    parser.add_argument('--overwrite', action='store_true',
                        help='replace a file of the same name that holds another genotype (without '
                             'it, that is refused; the same genotype is written again)')
    parser.add_argument('--steps', type=int, default=4, help='nodes per cell (default 4)')
    parser.add_argument('--multiplier', type=int, default=4,
                        help='nodes concatenated at the cell output (default 4)')
    parser.add_argument('--primitives', nargs='+', default=list(DEFAULT_PRIMITIVES), metavar='OP',
                        help='the space\'s ops (default: the DARTS ops); none is never drawn')
    args = parser.parse_args(argv)
    if args.num < 1:
        parser.error(f'--num must be >= 1, got {args.num}')
    if args.start < 0:
        parser.error(f'--start must be >= 0, got {args.start}')
    try:
        genotypes = random_genotypes(args.seed, args.num, args.steps, args.multiplier,
                                     args.primitives, start=args.start)
    except GenotypeError as e:
        parser.error(str(e))
    if os.path.exists(args.out) and not os.path.isdir(args.out):
        parser.error(f'--out {args.out} exists and is not a folder')
    paths = [os.path.join(args.out, file_name(args.seed, i))
             for i in range(args.start, args.start + len(genotypes))]
    same = [os.path.isfile(p) and _holds(p, g) for p, g in zip(paths, genotypes)]
    for path, g, kept in zip(paths, genotypes, same):
        if os.path.isfile(path) and not kept and (not args.overwrite or read_only(path)):
            parser.error(f'{path} exists and holds another genotype (drawn with other --steps, '
                         '--multiplier or --primitives, or edited): it is kept. Give another --out'
                         + (' (it is read-only)' if read_only(path) else ', or --overwrite to replace it'))
    for path, g, kept in zip(paths, genotypes, same):
        if not kept:  # the same genotype is left as it is (and as read-only as it was)
            g.save(path)  # atomic
        print(path)
    return paths


if __name__ == '__main__':
    from nas_backbones.engine.launch import run_tool
    sys.exit(run_tool(main))
