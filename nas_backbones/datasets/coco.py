"""``CheckedCocoDataset``: MMDetection's ``CocoDataset`` with every fault of a user's files named up front.

MMDetection reads a COCO file trustingly: an empty file is a bare
``JSONDecodeError``, an empty ``annotations`` list ends in NumPy's "need at
least one array to concatenate", an image listed but missing on disk crashes
the first batch that draws it (naming the image, not the file that lists it),
and a box partly outside its image is used as it is. This subclass, which
our configs use (``type='CheckedCocoDataset'``), checks all of that when the
dataset is built -- before training starts -- and names the annotation file,
the field, and the image or box at fault. Everything else is mmdet's.

``mmdet.datasets`` pulls in matplotlib, which ``import nas_backbones`` keeps
out, so the name is registered (``nas_backbones/datasets/__init__.py``) by a
builder that imports this module when a config first asks for it.
"""
from __future__ import annotations

import json
import os.path as osp
from typing import Optional

from mmdet.datasets import CocoDataset  # imports matplotlib: this module is imported on first use
from mmdet.registry import DATASETS
from mmengine.logging import print_log

from .samplers import SeededSamples

OUT_OF_IMAGE = ('clip', 'error')


def _short(items: list, n: int = 5) -> str:
    more = f' and {len(items) - n} more' if len(items) > n else ''
    return ', '.join(str(i) for i in items[:n]) + more


class CheckedCocoDataset(CocoDataset):
    """``CocoDataset`` that names what is wrong with its annotation file and images.

    Args:
        out_of_image: a box that extends past its image: ``'clip'`` it to the
            image (and say so once per file, with an example), or ``'error'``.
            Boxes entirely outside their image are dropped, as mmdet does, and
            counted in the same message.
        check_files: check that every listed image exists (local files only).
        **kwargs: :class:`mmdet.datasets.CocoDataset`'s arguments.
    """

    def __init__(self, *args, out_of_image: str = 'clip', check_files: bool = True,
                 **kwargs) -> None:
        if out_of_image not in OUT_OF_IMAGE:
            raise ValueError(f"CheckedCocoDataset: out_of_image must be 'clip' or 'error', "
                             f'got {out_of_image!r}')
        self.out_of_image = out_of_image
        self.check_files = check_files
        self._categories: Optional[dict[int, str]] = None
        self._raw_annotations = 0
        self._outside: list[tuple] = []   # (ann id, bbox, file name, width, height, dropped)
        super().__init__(*args, **kwargs)

    # ----------------------------------------------------------------- loading
    def load_data_list(self) -> list[dict]:
        ann = self.ann_file
        local = '://' not in str(ann)
        if local and not osp.isfile(ann):
            raise FileNotFoundError(f'annotation file {ann} not found')
        self._categories, self._raw_annotations, self._outside = None, 0, []
        try:
            data_list = super().load_data_list()
        except json.JSONDecodeError as e:
            raise ValueError(f'annotation file {ann} is not valid JSON ({e}); '
                             'is it empty or truncated?') from None
        except AssertionError as e:  # pycocotools: "annotation file format ... not supported"
            raise ValueError(f'annotation file {ann} is not a COCO file (a JSON object with '
                             f'"images", "annotations" and "categories"): {e}') from None
        if not data_list:
            raise ValueError(f'annotation file {ann}: "images" is missing or empty, so there is '
                             'nothing to load')
        self._check_categories()
        self._check_annotations(data_list)
        self._report_outside()
        if self.check_files and local and not self.backend_args:
            self._check_images(data_list)
        return data_list

    def parse_data_info(self, raw_data_info: dict) -> dict:
        if self._categories is None:  # mmdet's COCO api exists while the list is loaded
            self._categories = {c['id']: c['name'] for c in self.coco.cats.values()}
        info = super().parse_data_info(raw_data_info)
        img = raw_data_info['raw_img_info']
        width, height = img['width'], img['height']
        self._raw_annotations += len(raw_data_info['raw_ann_info'])
        for a in raw_data_info['raw_ann_info']:
            x, y, w, h = a['bbox']
            if x < 0 or y < 0 or x + w > width or y + h > height:
                inside = (min(x + w, width) - max(x, 0)) > 0 and (min(y + h, height) - max(y, 0)) > 0
                self._outside.append((a.get('id'), [x, y, w, h], img.get('file_name'),
                                      width, height, not inside))
        for inst in info['instances']:
            x0, y0, x1, y1 = inst['bbox']
            inst['bbox'] = [min(max(x0, 0), width), min(max(y0, 0), height),
                            min(max(x1, 0), width), min(max(y1, 0), height)]
        return info

    # ------------------------------------------------------------------ checks
    def _check_categories(self) -> None:
        ann, classes = self.ann_file, list(self.metainfo['classes'])
        names = list((self._categories or {}).values())
        if not names:
            raise ValueError(f'annotation file {ann}: "categories" is missing or empty; '
                             f'it must name the classes {_short(classes)}')
        found = [c for c in classes if c in names]
        if not found:
            raise ValueError(
                f'annotation file {ann}: none of its categories ({_short(names)}) is one of the '
                f"dataset's classes ({_short(classes)}). Set the dataset's "
                'metainfo=dict(classes=(...)) to the category names of the file (without it, '
                "mmdet assumes COCO's 80 classes).")
        ignored = [n for n in names if n not in classes]
        if ignored:
            print_log(f'{ann}: annotations of the categories {_short(ignored)} are not loaded: they '
                      'are not among metainfo classes', logger='current', level=30)
        absent = [c for c in classes if c not in names]
        if absent:
            # Such a class is never trained, and CocoMetric fails on it (IndexError) after
            # the first training epochs: a misspelt class name, named here instead.
            from ..engine.preflight import did_you_mean
            raise ValueError(
                f'annotation file {ann}: metainfo class(es) {_short(absent)} are not among its '
                f'categories ({_short(names)}).{did_you_mean(absent[0], ignored or names)} Set the '
                "dataset's metainfo=dict(classes=(...)) to category names of the file.")

    def _check_annotations(self, data_list: list[dict]) -> None:
        ann = self.ann_file
        if self._raw_annotations == 0:
            message = (f'annotation file {ann}: "annotations" is empty: the '
                       f'{len(data_list)} images have no box')
            if not self.test_mode:
                raise ValueError(message + ', so there is nothing to train on')
            print_log(message + '; evaluation on it measures nothing', logger='current', level=30)
        elif not self.test_mode and not any(d['instances'] for d in data_list):
            raise ValueError(
                f'annotation file {ann}: none of its {self._raw_annotations} annotations is usable '
                '(each is marked ignore, has no area, lies outside its image, or has a category '
                'that is not in metainfo classes)')

    def _report_outside(self) -> None:
        if not self._outside:
            return
        ann_id, box, name, w, h, _ = self._outside[0]
        example = f'annotation {ann_id}: bbox {box} in {name} ({w}x{h})'
        if self.out_of_image == 'error':
            raise ValueError(f'annotation file {self.ann_file}: {len(self._outside)} box(es) extend '
                             f'past their image, e.g. {example} (out_of_image=\'clip\' clips them)')
        dropped = sum(o[5] for o in self._outside)
        clipped = len(self._outside) - dropped
        parts = [f'{clipped} box(es) extend past their image and were clipped to it'] if clipped else []
        if dropped:
            parts.append(f'{dropped} lie entirely outside it and were dropped')
        print_log(f'{self.ann_file}: {" and ".join(parts)}, e.g. {example}', logger='current',
                  level=30)

    def _check_images(self, data_list: list[dict]) -> None:
        missing = [d['img_path'] for d in data_list if not osp.isfile(d['img_path'])]
        if missing:
            raise FileNotFoundError(
                f'annotation file {self.ann_file} lists {len(missing)} image(s) that do not exist, '
                f'e.g. {_short(missing, 3)} (data_root={self.data_root!r}, '
                f"data_prefix.img={self.data_prefix.get('img')!r})")

    def filter_data(self) -> list[dict]:
        kept = super().filter_data()
        if not kept and not self.test_mode:
            raise ValueError(f'annotation file {self.ann_file}: no image is left for training after '
                             f'filter_cfg={self.filter_cfg} (images without a box of the classes, '
                             'or smaller than min_size, are left out)')
        return kept


@DATASETS.register_module()
class SearchCocoDataset(SeededSamples, CheckedCocoDataset):
    """``CheckedCocoDataset`` whose augmentation (SSD's expand, crop, flip, colour) is drawn from a seed of
    (sampler seed, epoch, index) when :class:`~nas_backbones.datasets.samplers.ResumableSampler`
    hands out the indices: a resumed detection search sees the same images, augmented the same
    way, whatever the number of worker processes."""
