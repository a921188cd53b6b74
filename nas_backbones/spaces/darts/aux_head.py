"""The auxiliary classifiers of DARTS' evaluation networks (``model.py``), used in training only.

Both heads pool the tapped map to 2x2, then a 2x2 conv brings it to 1x1.
The reference pools with a fixed ``AvgPool2d(5)``, which gives 2x2 only for
the map size of its input resolution (7x7 at 224 for ImageNet, 8x8 at 32 for
CIFAR). Deviation, for other input sizes: the fixed pool is applied whenever
the map is at least 5x5 and the result is then average-pooled adaptively to
2x2 if it is not 2x2 already; smaller maps go straight to the adaptive pool.
At the reference sizes the computation is exactly the reference's.
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F


class _AuxiliaryHead(nn.Module):

    def __init__(self, in_channels: int, num_classes: int, pool_stride: int,
                 bn_after_conv2x2: bool) -> None:
        super().__init__()
        self.relu = nn.ReLU(inplace=False)
        self.pool = nn.AvgPool2d(5, stride=pool_stride, padding=0, count_include_pad=False)
        layers = [
            nn.Conv2d(in_channels, 128, 1, bias=False),
            nn.BatchNorm2d(128),
            nn.ReLU(inplace=True),
            nn.Conv2d(128, 768, 2, bias=False),
        ]
        if bn_after_conv2x2:
            layers.append(nn.BatchNorm2d(768))
        layers.append(nn.ReLU(inplace=True))
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Linear(768, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # Not in place (the reference's is): the tapped map also feeds the next cell.
        x = self.relu(x)
        if min(x.shape[-2:]) >= self.pool.kernel_size:
            x = self.pool(x)
        if tuple(x.shape[-2:]) != (2, 2):
            x = F.adaptive_avg_pool2d(x, 2)
        x = self.features(x)
        return self.classifier(x.flatten(1))


class AuxiliaryHeadImageNet(_AuxiliaryHead):
    """On the output of cell ``2*layers//3`` (7x7 at 224). The reference omits
    the BN after the 2x2 conv ("a typo" kept for consistency with the paper), and
    so does this head."""

    def __init__(self, in_channels: int, num_classes: int) -> None:
        super().__init__(in_channels, num_classes, pool_stride=2, bn_after_conv2x2=False)


class AuxiliaryHeadCIFAR(_AuxiliaryHead):
    """On the output of cell ``2*layers//3`` (8x8 at 32)."""

    def __init__(self, in_channels: int, num_classes: int) -> None:
        super().__init__(in_channels, num_classes, pool_stride=3, bn_after_conv2x2=True)
