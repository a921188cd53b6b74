"""What the families' ImageNet classifiers (backbone -> pool -> linear) share.

The trunk is built from a ``backbone`` config merged with keyword arguments; labels come from each
sample's ``gt_label``; ``pred_score`` / ``pred_label`` are what ``ClsAccuracy`` reads. The loss is
torch's ``F.cross_entropy(..., label_smoothing=...)``.
"""
from __future__ import annotations

from typing import Optional, Sequence

import torch
import torch.nn as nn
from mmdet.registry import MODELS
from mmengine.structures import BaseDataElement

IMAGENET_MEAN = (123.675, 116.28, 103.53)
IMAGENET_STD = (58.395, 57.12, 57.375)

# Inputs are BGR uint8 (LoadImageFromFile); ImageNet mean/std on RGB.
DEFAULT_PREPROCESSOR = dict(
    type='ImgDataPreprocessor', mean=IMAGENET_MEAN, std=IMAGENET_STD, bgr_to_rgb=True)


def build_trunk(backbone: Optional[dict], backbone_kwargs: dict, default_type: str,
                where: str) -> tuple[nn.Module, dict]:
    """The backbone from ``backbone`` and ``backbone_kwargs`` (an option in both is an error).

    Returns the module and the config it was built from (``type`` defaults to
    ``default_type``, the scope to mmdet whatever default scope the caller left set).
    """
    cfg = dict(backbone or {})
    overlap = set(cfg) & set(backbone_kwargs)
    if overlap:
        raise ValueError(f'{where}: backbone option(s) {sorted(overlap)} given '
                         'both in `backbone` and as keyword arguments')
    cfg.update(backbone_kwargs)
    cfg.setdefault('type', default_type)
    cfg.setdefault('_scope_', 'mmdet')
    return MODELS.build(cfg), cfg


def check_head_args(num_classes: int, label_smoothing: float) -> None:
    if num_classes < 1:
        raise ValueError(f'num_classes must be >= 1, got {num_classes}')
    if not 0. <= label_smoothing < 1.:
        raise ValueError(f'label_smoothing must be in [0, 1), got {label_smoothing}')


def class_labels(data_samples: Optional[Sequence[BaseDataElement]], device,
                 where: str) -> torch.Tensor:
    """One label per sample from ``gt_label``, naming the sample that has none."""
    if not data_samples:
        raise ValueError(f"{where}: mode 'loss' needs data_samples with gt_label")
    labels = []
    for i, sample in enumerate(data_samples):
        if 'gt_label' not in sample:
            raise ValueError(f'{where}: data_samples[{i}] has no gt_label')
        labels.append(torch.as_tensor(sample.gt_label).reshape(-1)[:1])
    return torch.cat(labels).long().to(device)


def attach_scores(logits: torch.Tensor,
                  data_samples: Optional[Sequence[BaseDataElement]]) -> list[BaseDataElement]:
    """``pred_score`` / ``pred_label`` on each sample, as ClsAccuracy reads them."""
    scores = logits.softmax(dim=1)
    if data_samples is None:
        data_samples = [BaseDataElement() for _ in range(len(scores))]
    for sample, score in zip(data_samples, scores):
        sample.set_field(score, 'pred_score')
        sample.set_field(score.argmax(dim=0, keepdim=True), 'pred_label')
    return list(data_samples)
