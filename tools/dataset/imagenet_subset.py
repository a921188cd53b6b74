"""Sample the PC-DARTS ImageNet search subsets: disjoint, per-class, seeded.

    python tools/dataset/imagenet_subset.py DATA/train --out DIR --train-frac 0.1 --val-frac 0.025 --seed 0

writes DIR/train.txt (weights), DIR/val.txt (architecture) and DIR/classes.txt.
List lines are ``relative/path label``, paths relative to DATA/train, labels
indexing classes.txt; ``ImageNetDataset(data_prefix='DATA/train',
ann_file='DIR/train.txt')`` reads them. DATA/train is ``<class>/*.JPEG``
(ImageNet) or ``<class>/images/*.JPEG`` (Tiny-ImageNet). The rounding rule is in
nas_backbones/datasets/subset.py. Each file is written atomically.
"""
from __future__ import annotations

import argparse
import os
import sys

from nas_backbones.datasets.imagenet import scan_image_folder
from nas_backbones.datasets.subset import sample_per_class, split_counts, write_classes, write_image_list

OUTPUTS = ('train.txt', 'val.txt', 'classes.txt')


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('root', help='ImageNet-format train folder (one folder per class)')
    p.add_argument('--out', required=True, help='folder for train.txt, val.txt and classes.txt')
    p.add_argument('--train-frac', type=float, default=0.1,
                   help='fraction of each class for the weights (default 0.1)')
    p.add_argument('--val-frac', type=float, default=0.025,
                   help='fraction of each class for the architecture (default 0.025)')
    p.add_argument('--seed', type=int, default=0)
    return p.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        names = ('--train-frac', '--val-frac')
        fractions = (args.train_frac, args.val_frac)
        split_counts([], fractions, args.seed, names)  # bad fractions fail before the scan
        print(f'scanning {args.root}')
        classes, per_class = scan_image_folder(args.root, progress=True)
        train, val = sample_per_class(per_class, classes, fractions, args.seed, names)
    except (OSError, ValueError) as e:
        print(f'imagenet_subset: error: {e}', file=sys.stderr)
        return 2
    os.makedirs(args.out, exist_ok=True)
    write_classes(os.path.join(args.out, 'classes.txt'), classes)
    write_image_list(os.path.join(args.out, 'val.txt'), val)
    write_image_list(os.path.join(args.out, 'train.txt'), train)
    total = sum(len(g) for g in per_class)
    for name, split in (('train', train), ('val', val)):
        per = [0] * len(classes)
        for _, label in split:
            per[label] += 1
        print(f'{name}: {len(split)} of {total} images, {min(per)}-{max(per)} per class '
              f'-> {os.path.join(args.out, name + ".txt")}')
    print(f'classes: {len(classes)} -> {os.path.join(args.out, "classes.txt")}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
