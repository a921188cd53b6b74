"""Object crops of a COCO-format detection set, as ImageNet-format classification data.

This lets a search run on the same images a detector will be trained on (the
main job does this on its generated data; a user can do it on their own).
"""
from __future__ import annotations

import json
import os
import os.path as osp

import cv2
import mmcv
from mmengine.logging import print_log

from ..utils.io import atomic_open
from ..utils.progress import Progress


def export_box_crops(ann_file: str, img_dir: str, out_dir: str, size: int = 64,
                     min_box: int = 8, context: float = 0.1,
                     out_of_image: str = 'clip') -> dict[str, int]:
    """Write ``out_dir/<class name>/<image id>_<ann id>.png`` square crops; return counts per class.

    A box that extends past its image is clipped to it (``out_of_image='clip'``,
    said once, with an example, as CheckedCocoDataset does for training) or
    refused (``'error'``); one entirely outside is skipped and counted. Crowd
    boxes and boxes whose shorter side is under ``min_box`` (after clipping)
    are skipped. The progress bar is drawn on a terminal only.
    """
    if out_of_image not in ('clip', 'error'):
        raise ValueError(f"out_of_image must be 'clip' or 'error', got {out_of_image!r}")
    if not osp.isfile(ann_file):
        raise FileNotFoundError(f'annotation file not found: {ann_file}')
    with open(ann_file, encoding='utf-8') as f:
        coco = json.load(f)
    for key in ('images', 'annotations', 'categories'):
        if not coco.get(key):
            raise ValueError(f'{ann_file}: field {key!r} is missing or empty')
    names = {c['id']: c['name'] for c in coco['categories']}
    images = {im['id']: im for im in coco['images']}
    counts = {name: 0 for name in names.values()}
    by_image: dict[int, list] = {}
    for ann in coco['annotations']:
        by_image.setdefault(ann['image_id'], []).append(ann)
    bar = Progress(len(by_image))
    outside: list[tuple] = []  # (ann id, bbox, file name, width, height, dropped)
    for image_id, anns in by_image.items():
        if image_id not in images:
            raise ValueError(f'{ann_file}: annotation {anns[0]["id"]} refers to unknown image {image_id}')
        path = osp.join(img_dir, images[image_id]['file_name'])
        if not osp.isfile(path):
            raise FileNotFoundError(f'{ann_file}: image {path} does not exist')
        img = mmcv.imread(path)
        h, w = img.shape[:2]
        for ann in anns:
            if ann.get('iscrowd', 0):
                continue
            if ann['category_id'] not in names:
                raise ValueError(f'{ann_file}: annotation {ann["id"]} has category_id '
                                 f'{ann["category_id"]}, which "categories" does not list')
            x, y, bw, bh = ann['bbox']
            if x < 0 or y < 0 or x + bw > w or y + bh > h:
                x0c, y0c, x1c, y1c = max(x, 0), max(y, 0), min(x + bw, w), min(y + bh, h)
                dropped = x1c <= x0c or y1c <= y0c
                outside.append((ann['id'], [x, y, bw, bh], images[image_id]['file_name'], w, h, dropped))
                if out_of_image == 'error':
                    raise ValueError(f'{ann_file}: annotation {ann["id"]}: bbox {[x, y, bw, bh]} extends '
                                     f'past its image {path} ({w}x{h})')
                if dropped:
                    continue
                x, y, bw, bh = x0c, y0c, x1c - x0c, y1c - y0c
            if min(bw, bh) < min_box:
                continue
            side = max(bw, bh) * (1 + 2 * context)
            cx, cy = x + bw / 2, y + bh / 2
            x0, y0 = int(max(0, cx - side / 2)), int(max(0, cy - side / 2))
            x1, y1 = int(min(w, cx + side / 2)), int(min(h, cy + side / 2))
            crop = mmcv.imresize(img[y0:y1, x0:x1], (size, size))
            name = names[ann['category_id']]
            folder = osp.join(out_dir, name)
            os.makedirs(folder, exist_ok=True)
            ok, buf = cv2.imencode('.png', crop)
            if not ok:
                raise RuntimeError(f'could not encode a crop of {path}')
            with atomic_open(osp.join(folder, f'{image_id}_{ann["id"]}.png'), 'wb') as out:
                out.write(buf.tobytes())
            counts[name] += 1
        bar.update()
    bar.close()
    if outside:
        dropped = sum(o[5] for o in outside)
        ann_id, box, name, w, h, _ = outside[0]
        print_log(f'{ann_file}: {len(outside) - dropped} box(es) extend past their image and were '
                  f'clipped to it, {dropped} lie entirely outside it and were skipped, e.g. annotation '
                  f'{ann_id}: bbox {box} in {name} ({w}x{h})', logger='current', level=30)
    return counts
