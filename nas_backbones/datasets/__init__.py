"""Datasets and data transforms.

Not imported here: ``synthetic_coco`` and ``coco_split`` (for tools) and ``coco``
(``SearchCocoDataset``: mmdet's datasets import matplotlib; the detection search configs import it
through ``custom_imports``).
"""
from . import loading, samplers  # noqa: F401  register LoadImageOrSkip, ResumableSampler
from .imagenet import ImageNetDataset, read_classes, read_image_list, scan_image_folder
from .subset import sample_per_class, split_counts, write_classes, write_image_list
from .transforms import ColorJitter, PackClsInputs, RandomResizedCrop

__all__ = ['ImageNetDataset', 'read_classes', 'read_image_list', 'scan_image_folder',
           'sample_per_class', 'split_counts', 'write_classes', 'write_image_list',
           'ColorJitter', 'PackClsInputs', 'RandomResizedCrop']
