"""Datasets and data transforms.

Not imported here: ``synthetic_coco`` and ``coco_split`` (for tools) and ``coco`` (mmdet's datasets
import matplotlib): ``CheckedCocoDataset`` is imported when a config first builds it, and the
detection search configs import ``SearchCocoDataset`` through ``custom_imports``.
"""
from mmdet.registry import DATASETS

from . import loading, samplers  # noqa: F401  register LoadImageOrSkip, ResumableSampler
from .imagenet import ImageNetDataset, read_classes, read_image_list, scan_image_folder
from .subset import sample_per_class, split_counts, write_classes, write_image_list
from .transforms import ColorJitter, PackClsInputs, RandomResizedCrop

__all__ = ['CheckedCocoDataset', 'ImageNetDataset', 'read_classes', 'read_image_list', 'scan_image_folder',
           'sample_per_class', 'split_counts', 'write_classes', 'write_image_list',
           'ColorJitter', 'PackClsInputs', 'RandomResizedCrop']


@DATASETS.register_module(name='CheckedCocoDataset')
def _build_checked_coco_dataset(*args, **kwargs):
    """``type='CheckedCocoDataset'``: imported when first built (mmdet.datasets imports matplotlib)."""
    from .coco import CheckedCocoDataset
    return CheckedCocoDataset(*args, **kwargs)


def __getattr__(name: str):
    if name == 'CheckedCocoDataset':  # `from nas_backbones.datasets import CheckedCocoDataset`
        from .coco import CheckedCocoDataset
        return CheckedCocoDataset
    raise AttributeError(f'module {__name__!r} has no attribute {name!r}')
