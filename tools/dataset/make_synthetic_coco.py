"""Generate the synthetic shapes dataset (COCO format) that configs/ssd_pcdarts_demo.py trains on.

    python tools/dataset/make_synthetic_coco.py                 # -> data/synthetic_coco
    python tools/dataset/make_synthetic_coco.py OUT --num-train 64 --num-val 16 --seed 1
"""
import argparse

from nas_backbones.datasets.synthetic_coco import CLASSES, make_synthetic_coco


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('out_dir', nargs='?', default='data/synthetic_coco', help='output folder')
    parser.add_argument('--num-train', type=int, default=256)
    parser.add_argument('--num-val', type=int, default=64)
    parser.add_argument('--seed', type=int, default=0)
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    files = make_synthetic_coco(args.out_dir, args.num_train, args.num_val, args.seed)
    print(f'classes: {", ".join(CLASSES)}')
    for split, path in files.items():
        print(f'{split}: {path}')


if __name__ == '__main__':
    main()
