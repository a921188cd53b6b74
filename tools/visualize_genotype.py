"""Draw a genotype's cells as in the DARTS papers' figures (PNG, SVG or PDF, by the file extension).

    python tools/visualize_genotype.py PC_DARTS_image --out pc_darts.png
    python tools/visualize_genotype.py work_dirs/search/genotype.json --cell normal --out normal.svg

GENOTYPE is a published name (DARTS_V1, DARTS_V2, PC_DARTS_cifar, PC_DARTS_image,
NASNet, AmoebaNet, ...) or a genotype file (JSON or the ``Genotype(...)`` text).
``--cell both`` (the default) stacks the normal and the reduction cell in one image.
The default output is GENOTYPE.png (next to the file, or in the current folder for a name).
"""
from __future__ import annotations

import argparse
import os
import sys
from typing import Optional, Sequence

from nas_backbones.spaces.darts.published import PUBLISHED
from nas_backbones.spaces.darts.result import GenotypeError


def default_out(genotype: str, cell: str) -> str:
    base = genotype if genotype in PUBLISHED else os.path.splitext(genotype)[0]
    return base + ('' if cell == 'both' else f'_{cell}') + '.png'


def main(argv: Optional[Sequence[str]] = None) -> str:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    names = ', '.join(sorted(PUBLISHED))
    parser.add_argument('genotype', metavar='GENOTYPE',
                        help=f'a published name ({names}) or a genotype file')
    parser.add_argument('--out', help='the image to write: .png, .svg or .pdf')
    parser.add_argument('--cell', choices=['normal', 'reduce', 'both'], default='both')
    parser.add_argument('--title', help='title prefix (default: the genotype name or file name)')
    parser.add_argument('--dpi', type=int, default=150, help='resolution of a PNG (150)')
    args = parser.parse_args(argv)
    from nas_backbones.spaces.darts.diagram import render_genotype
    out = args.out or default_out(args.genotype, args.cell)
    title = args.title if args.title is not None else os.path.basename(args.genotype)
    try:
        path = render_genotype(args.genotype, out, cell=args.cell, title=title, dpi=args.dpi)
    except (GenotypeError, FileNotFoundError, ValueError) as e:
        parser.exit(2, f'{parser.prog}: error: {e}\n')
    print(path)
    return path


if __name__ == '__main__':
    from nas_backbones.engine.launch import run_tool
    sys.exit(run_tool(main))
