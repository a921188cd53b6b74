"""The Single-Path supernet: stem, MBConv layers (searchable ones are superkernels), head, classifier.

``forward(x, thresholds)`` takes the architecture parameters as input, as the
DARTS supernet takes alpha/beta: a (searchable layers, 3) tensor of
``(t5x5, t100c, t50c)`` rows, one per searchable layer in layout order.
"""
from __future__ import annotations

from typing import Iterable, Optional

import torch
import torch.nn as nn
from mmdet.registry import MODELS

from .blocks import DEFAULT_HEAD, DEFAULT_STEM, BlockLike, Layout, make_layout
from .mbconv import DEFAULT_ACT, ConvBNAct, MBConv, reference_init
from .superkernel import Decisions, SuperKernelMBConv


@MODELS.register_module()
class SinglePathSupernet(nn.Module):
    """The searchable MobileNetV2-style network of Single-Path NAS.

    Args:
        num_classes: classifier outputs (1000 for ImageNet).
        blocks: the block table (dicts or BlockSpecs); default the reference's.
        width_mult: width multiplier (widths rounded to multiples of 8).
        stem_channels, head_channels: before the multiplier (32 and 1280).
        dropout: before the classifier (0.2 in the reference).
        norm_cfg, act_cfg: BN (default momentum 0.01, eps 1e-3, the
            reference's) and activation (ReLU) of every layer.
    """

    def __init__(self, num_classes: int = 1000, blocks: Optional[Iterable[BlockLike]] = None,
                 width_mult: float = 1.0, stem_channels: int = DEFAULT_STEM,
                 head_channels: int = DEFAULT_HEAD, dropout: float = 0.2,
                 norm_cfg: Optional[dict] = None, act_cfg: Optional[dict] = DEFAULT_ACT) -> None:
        super().__init__()
        if num_classes < 1:
            raise ValueError(f'num_classes must be >= 1, got {num_classes}')
        if not 0 <= dropout < 1:
            raise ValueError(f'dropout must be in [0, 1), got {dropout}')
        self.layout: Layout = make_layout(blocks, width_mult, stem_channels, head_channels)
        L = self.layout
        self.stem = ConvBNAct(3, L.stem_out, 3, 2, norm_cfg=norm_cfg, act_cfg=act_cfg)
        layers = []
        for spec in L.layers:
            if spec.searchable:
                layers.append(SuperKernelMBConv(spec.in_channels, spec.out_channels, spec.stride,
                                                spec.residual, norm_cfg, act_cfg))
            else:
                layers.append(MBConv(spec.in_channels, spec.out_channels, spec.kernel,
                                     spec.expansion, spec.stride, spec.residual, norm_cfg, act_cfg))
        self.layers = nn.ModuleList(layers)
        self.head = ConvBNAct(L.layers[-1].out_channels, L.head_out, 1, norm_cfg=norm_cfg,
                              act_cfg=act_cfg)
        self.dropout = nn.Dropout(dropout)
        self.classifier = nn.Linear(L.head_out, num_classes)
        self.num_classes = num_classes
        self.searchable_index = [s.index for s in L.searchable]
        reference_init(self)

    @property
    def num_searchable(self) -> int:
        return len(self.searchable_index)

    def superkernels(self) -> list[SuperKernelMBConv]:
        return [self.layers[i] for i in self.searchable_index]

    def _check(self, thresholds: torch.Tensor) -> None:
        if thresholds.shape != (self.num_searchable, 3):
            raise ValueError(f'SinglePathSupernet: thresholds must have shape '
                             f'({self.num_searchable}, 3), got {tuple(thresholds.shape)}')

    def decisions(self, thresholds: torch.Tensor) -> list[Decisions]:
        """The (undropped) decisions of every searchable layer."""
        self._check(thresholds)
        return [layer.decisions(t)[0] for layer, t in zip(self.superkernels(), thresholds)]

    def forward_features(self, x: torch.Tensor, thresholds: torch.Tensor,
                         keep_prob: Optional[float] = None, rescale: bool = True) -> torch.Tensor:
        self._check(thresholds)
        x = self.stem(x)
        t = iter(thresholds)
        for layer in self.layers:
            if isinstance(layer, SuperKernelMBConv):
                x = layer(x, next(t), keep_prob, rescale)
            else:
                x = layer(x)
        return self.head(x)

    def forward(self, x: torch.Tensor, thresholds: torch.Tensor,
                keep_prob: Optional[float] = None, rescale: bool = True) -> torch.Tensor:
        """Logits; ``keep_prob`` applies the indicator dropout (the warm-up)."""
        x = self.forward_features(x, thresholds, keep_prob, rescale)
        x = torch.flatten(nn.functional.adaptive_avg_pool2d(x, 1), 1)
        return self.classifier(self.dropout(x))
