"""COCO-format detection data for a search: mmdet's CocoDataset with per-sample augmentation seeds.

Imported by the detection search configs (``custom_imports``), not by ``import nas_backbones``:
mmdet's datasets pull in matplotlib.
"""
from __future__ import annotations

from mmdet.datasets import CocoDataset
from mmdet.registry import DATASETS

from .samplers import SeededSamples


@DATASETS.register_module()
class SearchCocoDataset(SeededSamples, CocoDataset):
    """``CocoDataset`` whose augmentation (SSD's expand, crop, flip, colour) is drawn from a seed of
    (sampler seed, epoch, index) when :class:`~nas_backbones.datasets.samplers.ResumableSampler`
    hands out the indices: a resumed detection search sees the same images, augmented the same
    way, whatever the number of worker processes."""
