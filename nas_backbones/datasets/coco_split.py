"""Two disjoint, seeded image subsets of a COCO-format annotation file: the two levels of a detection search.

The weight split and the architecture split of a bilevel search must not
share images, and each should see every category, or the architecture is
chosen on classes the weights never learnt. :func:`split_coco` draws the
images in a seeded random order; it first gives each split one image of
every category it lacks (rarest category first, while the split has room),
then fills each split to its size from the same order. A category with a
single image can only be in one split; with small splits, some categories
cannot be in both (:class:`SplitReport` names them). The sizes follow
``nas_backbones/datasets/subset.py``'s rule for one class: ``round(f * N)``
images each, at least one.
"""
from __future__ import annotations

import json
import os
import random
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Optional, Sequence, Union

from ..utils.io import atomic_write_text
from .subset import split_counts

PathLike = Union[str, os.PathLike]


@dataclass
class SplitReport:
    """What a split holds: images, annotations, categories, and the names of those it lacks
    although the input has boxes of them."""
    images: int
    annotations: int
    categories: int
    missing: list[str] = field(default_factory=list)


def load_coco(path: PathLike) -> dict:
    """The annotation file, checked for what a split needs; errors name the file and the field."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f'{path}: annotation file not found')
    try:
        with open(path, encoding='utf-8') as f:
            coco = json.load(f)
    except json.JSONDecodeError as e:
        raise ValueError(f'{path}: not valid JSON ({e})') from None
    except UnicodeDecodeError as e:
        raise ValueError(f'{path}: not a UTF-8 text file ({e})') from None
    check_coco(coco, path)
    return coco


def _check_records(coco: dict, key: str, required: dict[str, type], where: str,
                   allow_empty: bool = False) -> None:
    records = coco.get(key)
    if not isinstance(records, list):
        got = 'missing' if key not in coco else f'a {type(records).__name__}'
        raise ValueError(f'{where}: field {key!r} must be a list, got {got}')
    if not records and not allow_empty:
        raise ValueError(f'{where}: field {key!r} is empty')
    for i, r in enumerate(records):
        if not isinstance(r, dict):
            raise ValueError(f'{where}: {key}[{i}] must be an object, got {type(r).__name__}')
        for name, kind in required.items():
            value = r.get(name)
            if isinstance(value, bool) or not isinstance(value, kind):
                got = 'missing' if name not in r else repr(value)
                raise ValueError(f'{where}: {key}[{i}].{name} must be {kind.__name__}, got {got}')


def check_coco(coco: Any, where: str = '<annotations>') -> None:
    """Raise ValueError naming ``where`` and the field if ``coco`` is not a usable COCO detection file."""
    if not isinstance(coco, dict):
        raise ValueError(f'{where}: the top level must be an object with images, annotations and '
                         f'categories, got {type(coco).__name__}')
    _check_records(coco, 'images', {'id': int, 'file_name': str}, where)
    _check_records(coco, 'categories', {'id': int, 'name': str}, where)
    _check_records(coco, 'annotations', {'id': int, 'image_id': int, 'category_id': int}, where,
                   allow_empty=True)
    for key in ('images', 'categories', 'annotations'):
        seen: set[int] = set()
        for i, r in enumerate(coco[key]):
            if r['id'] in seen:
                raise ValueError(f'{where}: {key}[{i}].id {r["id"]} is used twice')
            seen.add(r['id'])
    images = {im['id'] for im in coco['images']}
    categories = {c['id'] for c in coco['categories']}
    for i, a in enumerate(coco['annotations']):
        if a['image_id'] not in images:
            raise ValueError(f'{where}: annotations[{i}].image_id {a["image_id"]} is not an image id')
        if a['category_id'] not in categories:
            raise ValueError(f'{where}: annotations[{i}].category_id {a["category_id"]} is not a '
                             'category id')


def split_coco(coco: dict, fractions: Sequence[float], seed: int = 0,
               names: Sequence[str] = ()) -> tuple[list[dict], list[SplitReport]]:
    """Disjoint image subsets of ``coco`` (checked with :func:`check_coco`), as COCO dicts.

    Each output keeps every top-level field (info, licenses, all categories)
    and the images and annotations of its subset, in the input's order. The
    same seed gives the same subsets.
    """
    names = list(names) or [f'fractions[{i}]' for i in range(len(fractions))]
    sizes = [c[0] for c in split_counts([len(coco['images'])], fractions, seed, names)]
    order = sorted(im['id'] for im in coco['images'])
    random.Random(f'{seed}/coco_split').shuffle(order)
    cats_of: dict[int, set[int]] = {img: set() for img in order}
    for a in coco['annotations']:
        cats_of[a['image_id']].add(a['category_id'])
    images_of: dict[int, list[int]] = {c['id']: [] for c in coco['categories']}
    for img in order:  # in the drawn order
        for c in cats_of[img]:
            images_of[c].append(img)

    part_of: dict[int, int] = {}  # image -> split; images in no split are absent
    members: list[list[int]] = [[] for _ in sizes]
    counts: list[Counter] = [Counter() for _ in sizes]  # images of each category per split

    def move(img: int, s: Optional[int]) -> None:
        """Put ``img`` in split ``s`` (None: in no split)."""
        old = part_of.pop(img, None)
        if old is not None:
            members[old].remove(img)
            counts[old].subtract(cats_of[img])
        if s is not None:
            part_of[img] = s
            members[s].append(img)
            counts[s].update(cats_of[img])

    def losses(img: int, s: int) -> set[int]:
        """The categories split ``s`` would lose without ``img``."""
        return {c for c in cats_of[img] if counts[s][c] == 1}

    rarest_first = sorted(images_of, key=lambda c: (len(images_of[c]), c))
    # 1. Every category into every split that lacks it, rarest first, while there is room.
    for c in rarest_first:
        for s, size in enumerate(sizes):
            if counts[s][c] or len(members[s]) >= size:
                continue
            free = next((img for img in images_of[c] if img not in part_of), None)
            if free is None:
                break
            move(free, s)
    # 2. Fill each split from the drawn order.
    for img in order:
        if img in part_of:
            continue
        s = next((s for s, size in enumerate(sizes) if len(members[s]) < size), None)
        if s is None:
            break
        move(img, s)
    # 3. Repair what step 1 could not place (its picks for rarer categories took the images):
    #    exchange an image of the category for one of the split's, when neither split loses a
    #    category by it (what one gives up, the image it receives brings back).
    for c in rarest_first:
        for s in range(len(sizes)):
            if counts[s][c]:
                continue
            for x in images_of[c]:
                t = part_of.get(x)
                if t is None and len(members[s]) < sizes[s]:
                    move(x, s)
                    break
                lost_t = set() if t is None else losses(x, t)
                y = next((y for y in members[s] if losses(y, s) <= cats_of[x]
                          and (lost_t <= cats_of[y] if t is not None else not losses(y, s))), None)
                if y is not None:
                    move(y, t)  # to x's split, or to none
                    move(x, s)
                    break

    cat_names = {c['id']: c['name'] for c in coco['categories']}
    parts, reports = [], []
    for s in range(len(sizes)):
        keep = set(members[s])
        anns = [a for a in coco['annotations'] if a['image_id'] in keep]
        parts.append({**coco, 'images': [im for im in coco['images'] if im['id'] in keep],
                      'annotations': anns})
        present = {c for c, n in counts[s].items() if n > 0}
        missing = [cat_names[c] for c in sorted(cat_names) if images_of[c] and c not in present]
        reports.append(SplitReport(len(keep), len(anns), len(present), missing))
    return parts, reports


def write_coco(path: PathLike, coco: dict) -> None:
    """One COCO json file, written atomically."""
    atomic_write_text(path, json.dumps(coco))
