"""Draw a Single-Path architecture as a network strip (PNG, SVG or PDF, by the file extension).

    python tools/visualize_architecture.py SPNAS_Pixel1 --out spnas_pixel1.png
    python tools/visualize_architecture.py work_dirs/spnas_imagenet/architecture.json --out found.svg

ARCH is a published name (SPNAS_Pixel1) or an ``architecture.json``. The default
output is ARCH.png (next to the file, or in the current folder for a name).
"""
from __future__ import annotations

import argparse
import os
import sys
from typing import Optional, Sequence

from nas_backbones.spaces.singlepath.published import PUBLISHED
from nas_backbones.spaces.singlepath.result import ArchitectureError


def main(argv: Optional[Sequence[str]] = None) -> str:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('arch', metavar='ARCH',
                        help=f'a published name ({", ".join(sorted(PUBLISHED))}) or an architecture.json')
    parser.add_argument('--out', help='the image to write: .png, .svg or .pdf')
    parser.add_argument('--title', help='title (default: the name or file name)')
    args = parser.parse_args(argv)
    from nas_backbones.spaces.singlepath.diagram import render_architecture
    out = args.out or (args.arch if args.arch in PUBLISHED else os.path.splitext(args.arch)[0]) + '.png'
    title = args.title if args.title is not None else os.path.basename(args.arch)
    try:
        path = render_architecture(args.arch, out, title=title)
    except (ArchitectureError, FileNotFoundError, ValueError) as e:
        parser.exit(2, f'{parser.prog}: error: {e}\n')
    print(path)
    return path


if __name__ == '__main__':
    from nas_backbones.engine.launch import run_tool
    sys.exit(run_tool(main))
