"""Export the object boxes of a COCO-format detection set as ImageNet-format crops, to search a cell on.

    python tools/dataset/export_crops.py data/mine/annotations/train.json data/mine/train data/mine_crops
    python tools/dataset/export_crops.py ANN_JSON IMG_DIR OUT_DIR --size 64 --min-box 8 --context 0.1

writes OUT_DIR/<class name>/<image id>_<annotation id>.png (square, SIZE x SIZE, each box widened by
CONTEXT of its size on every side; a "/" in a class name becomes "_"). OUT_DIR must be new or empty:
one holding earlier crops is refused (their names would be reused for other objects), unless
--overwrite, which removes its crops first. Then sample the search splits from it:

    python tools/dataset/imagenet_subset.py OUT_DIR --out OUT_DIR_search --train-frac 0.5 --val-frac 0.5

A box that extends past its image is clipped to it and reported once (--out-of-image error refuses
it instead); crowd boxes and boxes smaller than --min-box are left out, and so is a box with a
width or height of 0 or less (reported once). Each crop is written atomically.
"""
from __future__ import annotations

import argparse
import sys

from nas_backbones.datasets.crops import export_box_crops


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('ann_file', help='COCO-format annotation file (json)')
    p.add_argument('img_dir', help='the folder its image file names are relative to')
    p.add_argument('out_dir', help='output folder, one sub-folder per class')
    p.add_argument('--size', type=int, default=64, help='crop side in pixels (default 64)')
    p.add_argument('--min-box', type=int, default=8,
                   help='leave out boxes whose shorter side is below this many pixels (default 8)')
    p.add_argument('--context', type=float, default=0.1,
                   help='context around each box, as a fraction of its longer side (default 0.1)')
    p.add_argument('--overwrite', action='store_true',
                   help='OUT_DIR holds earlier crops: remove them first (without it, a non-empty '
                        'OUT_DIR is refused)')
    p.add_argument('--out-of-image', choices=('clip', 'error'), default='clip',
                   help='a box past its image: clip it (default) or stop with an error')
    return p.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.size < 1 or args.min_box < 0 or args.context < 0:
        print('export_crops: error: --size must be >= 1, --min-box and --context >= 0', file=sys.stderr)
        return 2
    try:
        counts = export_box_crops(args.ann_file, args.img_dir, args.out_dir, size=args.size,
                                  min_box=args.min_box, context=args.context,
                                  out_of_image=args.out_of_image, overwrite=args.overwrite)
    except (OSError, ValueError) as e:
        print(f'export_crops: error: {e}', file=sys.stderr)
        return 2
    for name, n in counts.items():
        print(f'{name}: {n} crops')
    print(f'{sum(counts.values())} crops of {len(counts)} classes -> {args.out_dir}')
    if not all(counts.values()):
        empty = [name for name, n in counts.items() if not n]
        print(f'export_crops: warning: no crop for class(es) {", ".join(empty)}; a search needs '
              'images of every class it is given', file=sys.stderr)
    return 0


if __name__ == '__main__':
    sys.exit(main())
