"""The search classifier: a family's searchable trunk -> global pool -> (dropout) -> linear, on cross-entropy.

The proxy task of a classification search, as a model, so that a classification
search is :class:`~nas_backbones.core.model_space.ModelSearchSpace` around it as
a detection search is around a detector.
"""
from __future__ import annotations

from typing import Any, Optional

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmdet.registry import MODELS
from mmengine.model import BaseModule

from .classifier import attach_scores, class_labels


@MODELS.register_module()
class SearchClassifier(BaseModule):
    """Trunk (its last stage in ``out_indices``) -> global average pool -> dropout -> linear.

    Args:
        backbone: the trunk's config, a ``SearchableBackbone`` (``PCDartsSearchBackbone``,
            ``SinglePathSearchBackbone``) whose last returned stage is pooled.
        num_classes: classifier outputs.
        label_smoothing: of the cross-entropy (0: none, DARTS' search; 0.1: Single-Path's).
        dropout: before the classifier (0: none).
        loss_name: the loss's key in the loss dict (``'loss'``, ``'loss_cls'``): what the log shows.

    A trunk that initialises the whole network its own way (Single-Path: the
    reference's initialisation of every conv, linear and BN layer, after all of
    them are built) defines ``init_classifier(model)``; it is called once the
    linear layer exists.
    """

    def __init__(self, backbone: dict, num_classes: int, label_smoothing: float = 0.,
                 dropout: float = 0., loss_name: str = 'loss',
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 1:
            raise ValueError(f'SearchClassifier: num_classes must be an integer >= 1, got {num_classes!r}')
        if not 0. <= label_smoothing < 1.:
            raise ValueError(f'SearchClassifier: label_smoothing must be in [0, 1), got {label_smoothing}')
        if not 0. <= dropout < 1.:
            raise ValueError(f'SearchClassifier: dropout must be in [0, 1), got {dropout}')
        self.backbone = MODELS.build(dict(backbone, _scope_=backbone.get('_scope_', 'mmdet')))
        channels = self.backbone.out_channels[self.backbone.out_indices[-1]]
        self.dropout = nn.Dropout(dropout) if dropout else None
        self.classifier = nn.Linear(channels, num_classes)
        self.num_classes = num_classes
        self.label_smoothing, self.loss_name = label_smoothing, loss_name
        init = getattr(self.backbone, 'init_classifier', None)
        if init is not None:
            init(self)

    def logits(self, inputs: torch.Tensor) -> torch.Tensor:
        x = F.adaptive_avg_pool2d(self.backbone(inputs)[-1], 1).flatten(1)
        return self.classifier(x if self.dropout is None else self.dropout(x))

    def forward(self, inputs: torch.Tensor, data_samples: Any = None, mode: str = 'tensor'):
        logits = self.logits(inputs)
        if mode == 'tensor':
            return logits
        if mode == 'predict':
            return attach_scores(logits, data_samples)
        if mode != 'loss':
            raise ValueError(f"mode must be 'loss', 'predict' or 'tensor', got {mode!r}")
        labels = (data_samples.long().flatten().to(logits.device)
                  if isinstance(data_samples, torch.Tensor)
                  else class_labels(data_samples, logits.device, type(self).__name__))
        return {self.loss_name: F.cross_entropy(logits, labels, label_smoothing=self.label_smoothing),
                'acc': (logits.argmax(1) == labels).float().mean().detach()}
