"""Datasets and data transforms (``synthetic_coco`` is a generator for tools, not imported here)."""
from . import loading, samplers  # noqa: F401  register LoadImageOrSkip, ResumableSampler
from .coco import SearchCocoDataset
from .imagenet import ImageNetDataset, read_classes, read_image_list, scan_image_folder
from .subset import sample_per_class, split_counts, write_classes, write_image_list
from .transforms import ColorJitter, PackClsInputs, RandomResizedCrop

__all__ = ['SearchCocoDataset', 'ImageNetDataset', 'read_classes', 'read_image_list', 'scan_image_folder',
           'sample_per_class', 'split_counts', 'write_classes', 'write_image_list',
           'ColorJitter', 'PackClsInputs', 'RandomResizedCrop']
