"""Split a COCO-format annotation file into two disjoint, seeded image subsets: the two levels of a detection search.

    python tools/dataset/coco_split.py data/coco/annotations/instances_train2017.json \
        --out data/coco_search --train-frac 0.5 --val-frac 0.5 --seed 0

writes DIR/train.json (the weights' split) and DIR/val.json (the architecture's),
each a valid COCO file with every category, the info and licenses of the input,
and the images (with their annotations) of its subset; images stay where they
are (``data_prefix`` of the dataset config). Every category is put in both
subsets where the data allows (nas_backbones/datasets/coco_split.py has the
rule); the ones that could not be are listed. Each file is written atomically.
"""
from __future__ import annotations

import argparse
import os
import sys

from nas_backbones.datasets.coco_split import load_coco, split_coco, write_coco
from nas_backbones.datasets.subset import split_counts

OUTPUTS = ('train.json', 'val.json')


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('ann_file', help='COCO-format annotation json (e.g. instances_train2017.json)')
    p.add_argument('--out', required=True, help='folder for train.json and val.json')
    p.add_argument('--train-frac', type=float, default=0.5,
                   help='fraction of the images for the weights (default 0.5)')
    p.add_argument('--val-frac', type=float, default=0.5,
                   help='fraction of the images for the architecture (default 0.5)')
    p.add_argument('--seed', type=int, default=0)
    return p.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    names = ('--train-frac', '--val-frac')
    outputs = [os.path.join(args.out, name) for name in OUTPUTS]
    try:
        split_counts([], (args.train_frac, args.val_frac), args.seed, names)  # bad fractions first
        if any(os.path.abspath(o) == os.path.abspath(args.ann_file) for o in outputs):
            raise ValueError(f'--out {args.out}: the outputs would overwrite the input {args.ann_file}')
        coco = load_coco(args.ann_file)
        parts, reports = split_coco(coco, (args.train_frac, args.val_frac), args.seed, names)
    except (OSError, ValueError) as e:
        print(f'coco_split: error: {e}', file=sys.stderr)
        return 2
    os.makedirs(args.out, exist_ok=True)
    total = len(coco['images'])
    boxed = len({a['category_id'] for a in coco['annotations']})
    for path, part, report in zip(outputs, parts, reports):
        write_coco(path, part)
        line = (f'{path}: {report.images} of {total} images, {report.annotations} annotations, '
                f'{report.categories} of the {boxed} categories with boxes')
        if report.missing:
            shown = ', '.join(report.missing[:10]) + (', ...' if len(report.missing) > 10 else '')
            line += f' (without: {shown})'
        print(line)
    if boxed < len(coco['categories']):
        print(f'{len(coco["categories"]) - boxed} of {len(coco["categories"])} categories have no boxes '
              f'in {args.ann_file}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
