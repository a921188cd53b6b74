"""Object crops of a COCO-format detection set, as ImageNet-format classification data.

This lets a search run on the same images a detector will be trained on (the
main job does this on its generated data; a user can do it on their own).
"""
from __future__ import annotations

import json
import os
import os.path as osp
import shutil

import cv2
import mmcv
from mmengine.logging import print_log

from ..utils.io import atomic_open
from ..utils.progress import Progress

CROP_EXTENSION = '.png'


def class_folder(name: str) -> str:
    """The folder name of a class: its name with path separators replaced (``RBC/cells`` -> ``RBC_cells``)."""
    folder = name.replace('/', '_').replace(os.sep, '_').strip()
    return '_' if folder in ('', '.', '..') else folder


def clear_crop_folder(out_dir: str, overwrite: bool = False) -> None:
    """Refuse an ``out_dir`` that holds anything (``overwrite=False``), or empty it of earlier crops.

    Crops are named by image and annotation id, so a second export into the
    same folder would replace some earlier crops by other objects under the
    same names and mix new ones in: a corrupted set the next search trains
    on. ``overwrite=True`` removes the earlier crops first, but only a folder
    that holds nothing else (class folders of ``.png`` files): other files
    there are the user's, and are refused even then.
    """
    if not osp.isdir(out_dir):
        if osp.exists(out_dir):
            raise FileExistsError(f'output folder {out_dir} exists and is not a folder')
        return
    entries = sorted(os.listdir(out_dir))
    if not entries:
        return
    others = [e for e in entries if not osp.isdir(osp.join(out_dir, e))
              or any(not f.endswith(CROP_EXTENSION) or not osp.isfile(osp.join(out_dir, e, f))
                     for f in os.listdir(osp.join(out_dir, e)))]
    if overwrite and not others:
        for e in entries:
            shutil.rmtree(osp.join(out_dir, e))
        return
    crops = sum(len(os.listdir(osp.join(out_dir, e))) for e in entries if e not in others)
    if overwrite:
        raise FileExistsError(f'output folder {out_dir} holds more than crops (e.g. {others[0]}), so '
                              '--overwrite does not empty it: give a new output folder')
    raise FileExistsError(
        f'output folder {out_dir} is not empty ({len(entries)} entries, {crops} crops in class folders): '
        'exporting into it would replace some of its crops by other objects under the same names and '
        'mix new ones in. Give a new output folder, or --overwrite to remove its crops first.')


def export_box_crops(ann_file: str, img_dir: str, out_dir: str, size: int = 64,
                     min_box: int = 8, context: float = 0.1,
                     out_of_image: str = 'clip', overwrite: bool = False) -> dict[str, int]:
    """Write ``out_dir/<class folder>/<image id>_<ann id>.png`` square crops; return counts per class.

    ``out_dir`` must be empty or new (:func:`clear_crop_folder`; ``overwrite``
    empties one of earlier crops). A class name with a ``/`` gets a folder
    with ``_`` instead (:func:`class_folder`; said once), not nested folders.
    A box with a width or height of 0 or less is skipped and reported once.

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
    folders = {name: class_folder(name) for name in names.values()}
    clashes = sorted({f for f in folders.values() if list(folders.values()).count(f) > 1})
    if clashes:
        raise ValueError(f'{ann_file}: classes {[n for n, f in folders.items() if f == clashes[0]]} '
                         f'would share the crop folder {clashes[0]!r}; rename one in "categories"')
    renamed = {n: f for n, f in folders.items() if n != f}
    clear_crop_folder(out_dir, overwrite)
    if renamed:
        print_log(f'{ann_file}: class name(s) not usable as a folder name get one with "_": '
                  + ', '.join(f'{n!r} -> {f!r}' for n, f in renamed.items()), logger='current', level=30)
    images = {im['id']: im for im in coco['images']}
    counts = {name: 0 for name in names.values()}
    by_image: dict[int, list] = {}
    for ann in coco['annotations']:
        by_image.setdefault(ann['image_id'], []).append(ann)
    bar = Progress(len(by_image))
    outside: list[tuple] = []  # (ann id, bbox, file name, width, height, dropped)
    degenerate: list[tuple] = []  # (ann id, bbox, file name)
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
            if bw <= 0 or bh <= 0:
                degenerate.append((ann['id'], [x, y, bw, bh], images[image_id]['file_name']))
                continue
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
            folder = osp.join(out_dir, folders[name])
            os.makedirs(folder, exist_ok=True)
            ok, buf = cv2.imencode('.png', crop)
            if not ok:
                raise RuntimeError(f'could not encode a crop of {path}')
            with atomic_open(osp.join(folder, f'{image_id}_{ann["id"]}.png'), 'wb') as out:
                out.write(buf.tobytes())
            counts[name] += 1
        bar.update()
    bar.close()
    if degenerate:
        ann_id, box, name = degenerate[0]
        print_log(f'{ann_file}: {len(degenerate)} box(es) with a width or height of 0 or less were '
                  f'skipped, e.g. annotation {ann_id}: bbox {box} in {name}', logger='current', level=30)
    if outside:
        dropped = sum(o[5] for o in outside)
        ann_id, box, name, w, h, _ = outside[0]
        print_log(f'{ann_file}: {len(outside) - dropped} box(es) extend past their image and were '
                  f'clipped to it, {dropped} lie entirely outside it and were skipped, e.g. annotation '
                  f'{ann_id}: bbox {box} in {name} ({w}x{h})', logger='current', level=30)
    return counts
