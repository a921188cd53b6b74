"""A small, seeded detection dataset in COCO format: coloured shapes on textured backgrounds.

It exists so that the detection pipeline (training, CocoMetric, checkpoints)
can be run end to end in minutes on a CPU without downloading anything. Each
image is drawn from its own seed (``seed``, split, index), so the same
arguments always give the same files, and asking for more images keeps the
first ones unchanged.

Layout under ``out_dir`` (what ``configs/ssd_pcdarts_demo.py`` reads)::

    annotations/instances_train.json   annotations/instances_val.json
    train/000000.jpg ...               val/000000.jpg ...
"""
from __future__ import annotations

import json
import os
from typing import Sequence

import cv2
import numpy as np

from ..utils.io import atomic_open, atomic_write_text

CLASSES = ('circle', 'square', 'triangle')
# A hue band per class (OpenCV hue, 0-179) makes the task learnable by a tiny
# network in a few CPU minutes; the shape is still what the box must fit.
_HUE_BANDS = {'circle': (0, 12), 'square': (50, 75), 'triangle': (105, 130)}
_SPLIT_CODES = {'train': 1, 'val': 2}


def _background(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """Low-frequency colour noise + stripes + pixel noise, muted so shapes stand out a little."""
    grid = rng.uniform(60, 190, size=(rng.integers(3, 7), rng.integers(3, 7), 3))
    img = cv2.resize(grid.astype(np.float32), (w, h), interpolation=cv2.INTER_CUBIC)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    angle = rng.uniform(0, np.pi)
    period = rng.uniform(6, 24)
    stripes = np.sin((xx * np.cos(angle) + yy * np.sin(angle)) * 2 * np.pi / period)
    img += rng.uniform(5, 25) * stripes[..., None]
    img += rng.normal(0, 8, size=img.shape).astype(np.float32)
    gray = img.mean(axis=2, keepdims=True)
    img = gray + 0.5 * (img - gray)  # desaturate
    return img


def _colour(rng: np.random.Generator, cls: str) -> tuple[int, int, int]:
    lo, hi = _HUE_BANDS[cls]
    hsv = np.array([[[rng.integers(lo, hi + 1), rng.integers(170, 256), rng.integers(150, 256)]]],
                   dtype=np.uint8)
    b, g, r = cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR)[0, 0]
    return int(b), int(g), int(r)


def _shape_mask(rng: np.random.Generator, cls: str, h: int, w: int,
                box: tuple[int, int, int, int]) -> np.ndarray:
    x0, y0, bw, bh = box
    mask = np.zeros((h, w), np.uint8)
    if cls == 'circle':
        cv2.ellipse(mask, (x0 + bw // 2, y0 + bh // 2), (bw // 2, bh // 2), 0, 0, 360, 255, -1)
    elif cls == 'square':
        cv2.rectangle(mask, (x0, y0), (x0 + bw - 1, y0 + bh - 1), 255, -1)
    else:
        apex = x0 + int(rng.integers(0, bw))
        pts = np.array([[apex, y0], [x0, y0 + bh - 1], [x0 + bw - 1, y0 + bh - 1]], np.int32)
        cv2.fillPoly(mask, [pts], 255)
    return mask


def _overlaps(box, boxes, gap: int = 2) -> bool:
    x, y, w, h = box
    return any(x < bx + bw + gap and bx < x + w + gap and y < by + bh + gap and by < y + h + gap
               for bx, by, bw, bh in boxes)


def draw_image(seed: int, split: str, index: int, size_range: Sequence[int] = (224, 320),
               max_objects: int = 4, object_range: Sequence[float] = (0.12, 0.45)
               ) -> tuple[np.ndarray, list[dict]]:
    """One BGR image and its objects (``category``, ``bbox`` [x, y, w, h], ``area``); no overlaps."""
    rng = np.random.default_rng([seed, _SPLIT_CODES[split], index])
    h, w = (int(v) for v in rng.integers(size_range[0], size_range[1] + 1, size=2))
    img = _background(rng, h, w)
    boxes, objects = [], []
    for _ in range(int(rng.integers(1, max_objects + 1))):
        cls = CLASSES[int(rng.integers(len(CLASSES)))]
        for _try in range(20):
            side = rng.uniform(*object_range) * min(h, w)
            bw = max(8, int(side * rng.uniform(0.8, 1.25)))
            bh = max(8, int(side * rng.uniform(0.8, 1.25)))
            if cls == 'square':
                bh = bw
            if bw >= w or bh >= h:
                continue
            box = (int(rng.integers(0, w - bw)), int(rng.integers(0, h - bh)), bw, bh)
            if not _overlaps(box, boxes):
                break
        else:
            continue
        mask = _shape_mask(rng, cls, h, w, box)
        ys, xs = np.nonzero(mask)
        if len(xs) == 0:
            continue
        img[mask > 0] = _colour(rng, cls)
        # The tight box of the drawn pixels (COCO boxes are [x, y, w, h] in pixels).
        x0, y0, x1, y1 = xs.min(), ys.min(), xs.max() + 1, ys.max() + 1
        boxes.append(box)
        objects.append(dict(category=cls, bbox=[float(x0), float(y0), float(x1 - x0), float(y1 - y0)],
                            area=float(len(xs))))
    img += rng.normal(0, 4, size=img.shape).astype(np.float32)
    return np.clip(img, 0, 255).astype(np.uint8), objects


def make_split(out_dir: str, split: str, num_images: int, seed: int = 0, **draw_kwargs) -> str:
    """Write ``split/*.jpg`` and ``annotations/instances_<split>.json`` (last); return the json path."""
    if split not in _SPLIT_CODES:
        raise ValueError(f'split must be one of {tuple(_SPLIT_CODES)}, got {split!r}')
    if num_images < 1:
        raise ValueError(f'{split}: num_images must be >= 1, got {num_images}')
    cat_ids = {name: i + 1 for i, name in enumerate(CLASSES)}
    images, annotations = [], []
    for idx in range(num_images):
        img, objects = draw_image(seed, split, idx, **draw_kwargs)
        file_name = f'{idx:06d}.jpg'
        ok, buf = cv2.imencode('.jpg', img, [cv2.IMWRITE_JPEG_QUALITY, 95])
        if not ok:
            raise RuntimeError(f'could not encode {split}/{file_name}')
        with atomic_open(os.path.join(out_dir, split, file_name), 'wb') as f:
            f.write(buf.tobytes())
        image_id = idx + 1
        images.append(dict(id=image_id, file_name=file_name, height=img.shape[0], width=img.shape[1]))
        for obj in objects:
            annotations.append(dict(id=len(annotations) + 1, image_id=image_id,
                                    category_id=cat_ids[obj['category']], bbox=obj['bbox'],
                                    area=obj['area'], iscrowd=0))
    coco = dict(
        info=dict(description=f'nas_backbones synthetic shapes ({split})', version='1.0',
                  year=2024, contributor='nas_backbones', url='', date_created=''),
        licenses=[],
        images=images,
        annotations=annotations,
        categories=[dict(id=i, name=name, supercategory='shape') for name, i in cat_ids.items()])
    ann_file = os.path.join(out_dir, 'annotations', f'instances_{split}.json')
    atomic_write_text(ann_file, json.dumps(coco))
    return ann_file


def make_synthetic_coco(out_dir: str, num_train: int = 256, num_val: int = 64, seed: int = 0,
                        **draw_kwargs) -> dict[str, str]:
    """Both splits; return ``{'train': json, 'val': json}``."""
    return {split: make_split(out_dir, split, n, seed, **draw_kwargs)
            for split, n in (('train', num_train), ('val', num_val))}
