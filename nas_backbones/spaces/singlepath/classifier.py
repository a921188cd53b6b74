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

# DEFAULT_PREPROCESSOR: BGR uint8 in (LoadImageFromFile), ImageNet mean/std on RGB.
from ...models.classifier import DEFAULT_PREPROCESSOR, attach_scores, build_trunk, check_head_args, class_labels
from .ops import reference_init


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
        self.backbone, cfg = build_trunk(backbone, backbone_kwargs, 'SinglePathBackbone',
                                         'SinglePathClassifier')
        if not hasattr(self.backbone, 'forward_stages'):
            raise TypeError(f'SinglePathClassifier: backbone {cfg["type"]!r} has no forward_stages; '
                            'it must be a SinglePathBackbone (or behave like one)')
        check_head_args(num_classes, label_smoothing)
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
