"""A derived Single-Path network as an ImageNet classifier: the pre-training step of the transfer.

Its ``backbone`` is a :class:`SinglePathBackbone`, so a checkpoint of this
model initialises a detector's backbone with
``init_cfg=dict(type='Pretrained', checkpoint=..., prefix='backbone.')``.
The head is the reference's: global average pool, dropout (0.2), FC;
the loss is cross-entropy with label smoothing (0.1, the MnasNet recipe the
reference trains the found network with).
"""
from __future__ import annotations

from typing import Optional, Sequence, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmdet.registry import MODELS
from mmengine.model import BaseModel
from mmengine.structures import BaseDataElement

from .mbconv import reference_init

# BGR uint8 in (LoadImageFromFile), ImageNet mean/std on RGB.
DEFAULT_PREPROCESSOR = dict(type='ImgDataPreprocessor', mean=(123.675, 116.28, 103.53),
                            std=(58.395, 57.12, 57.375), bgr_to_rgb=True)


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


@MODELS.register_module()
class SinglePathClassifier(BaseModel):
    """SinglePathBackbone (up to its head conv) -> global average pool -> dropout -> Linear.

    Args:
        backbone: config of the trunk (``type`` defaults to
            ``'SinglePathBackbone'``); its keyword arguments may also be given
            directly, e.g. ``SinglePathClassifier(arch='SPNAS_Pixel1')``.
        num_classes: number of classes.
        dropout: before the classifier (0.2 in the reference).
        label_smoothing: 0.1 in the reference recipe.
    """

    def __init__(self, backbone: Optional[dict] = None, num_classes: int = 1000,
                 dropout: float = 0.2, label_smoothing: float = 0.1,
                 data_preprocessor: Optional[dict] = None, init_cfg: Optional[dict] = None,
                 **backbone_kwargs) -> None:
        super().__init__(data_preprocessor=data_preprocessor or dict(DEFAULT_PREPROCESSOR),
                         init_cfg=init_cfg)
        cfg = dict(backbone or {})
        overlap = set(cfg) & set(backbone_kwargs)
        if overlap:
            raise ValueError(f'SinglePathClassifier: backbone option(s) {sorted(overlap)} given '
                             'both in `backbone` and as keyword arguments')
        cfg.update(backbone_kwargs)
        cfg.setdefault('type', 'SinglePathBackbone')
        cfg.setdefault('_scope_', 'mmdet')
        self.backbone = MODELS.build(cfg)
        if not hasattr(self.backbone, 'forward_stages'):
            raise TypeError(f'SinglePathClassifier: backbone {cfg["type"]!r} has no forward_stages; '
                            'it must be a SinglePathBackbone (or behave like one)')
        if num_classes < 1:
            raise ValueError(f'num_classes must be >= 1, got {num_classes}')
        if not 0. <= label_smoothing < 1.:
            raise ValueError(f'label_smoothing must be in [0, 1), got {label_smoothing}')
        if not 0. <= dropout < 1.:
            raise ValueError(f'dropout must be in [0, 1), got {dropout}')
        self.num_classes = num_classes
        self.label_smoothing = label_smoothing
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(self.backbone.out_channels[-1], num_classes)
        reference_init(self.head)

    def logits(self, inputs: torch.Tensor) -> torch.Tensor:
        x = self.backbone.forward_stages(inputs)[-1]
        return self.head(self.dropout(F.adaptive_avg_pool2d(x, 1).flatten(1)))

    def forward(self, inputs: torch.Tensor,
                data_samples: Optional[Sequence[BaseDataElement]] = None,
                mode: str = 'tensor') -> Union[dict, list, torch.Tensor]:
        if mode == 'loss':
            labels = class_labels(data_samples, inputs.device, type(self).__name__)
            return {'loss_cls': F.cross_entropy(self.logits(inputs), labels,
                                                label_smoothing=self.label_smoothing)}
        if mode == 'predict':
            return attach_scores(self.logits(inputs), data_samples)
        if mode == 'tensor':
            return self.logits(inputs)
        raise ValueError(f"mode must be 'loss', 'predict' or 'tensor', got {mode!r}")
