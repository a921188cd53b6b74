"""Candidate operations of the DARTS search space (DARTS / PC-DARTS ``operations.py``).

Every factory in :data:`OPS` takes ``(C, stride, affine)`` and maps C channels
to C channels. Convolutions have no bias. One deliberate deviation: at
stride 2 every op returns ``ceil(H/2)``, :class:`FactorizedReduce` included
(the reference's fails on odd sizes, e.g. the 75x75 map of a 300x300 input);
on even sizes the result is identical to the reference.
"""
from __future__ import annotations

from typing import Callable

import torch
import torch.nn as nn
import torch.nn.functional as F

# Alpha columns follow this order; it is part of a search's result.
DEFAULT_PRIMITIVES = (
    'none',
    'max_pool_3x3',
    'avg_pool_3x3',
    'skip_connect',
    'sep_conv_3x3',
    'sep_conv_5x5',
    'dil_conv_3x3',
    'dil_conv_5x5',
)

# Ops without weights: DARTS' collapse shows up as these dominating a cell.
PARAMETER_FREE_OPS = frozenset({'none', 'max_pool_3x3', 'avg_pool_3x3', 'skip_connect'})


class ReLUConvBN(nn.Sequential):
    """ReLU -> Conv -> BN: the 1x1 cell preprocessing."""

    def __init__(self, C_in: int, C_out: int, kernel_size: int, stride: int,
                 padding: int, affine: bool = True) -> None:
        super().__init__(
            nn.ReLU(inplace=False),
            nn.Conv2d(C_in, C_out, kernel_size, stride, padding, bias=False),
            nn.BatchNorm2d(C_out, affine=affine))

    def forward_activated(self, x: torch.Tensor) -> torch.Tensor:
        """``forward`` of an input that is already ``relu(x)``."""
        return self[2](self[1](x))


class DilConv(nn.Sequential):
    """ReLU -> depthwise (dilated) conv -> pointwise conv -> BN."""

    def __init__(self, C_in: int, C_out: int, kernel_size: int, stride: int,
                 padding: int, dilation: int, affine: bool = True) -> None:
        super().__init__(
            nn.ReLU(inplace=False),
            nn.Conv2d(C_in, C_in, kernel_size, stride, padding, dilation=dilation,
                      groups=C_in, bias=False),
            nn.Conv2d(C_in, C_out, 1, bias=False),
            nn.BatchNorm2d(C_out, affine=affine))


class SepConv(nn.Sequential):
    """Two stacked DilConv blocks with dilation 1; only the first is strided."""

    def __init__(self, C_in: int, C_out: int, kernel_size: int, stride: int,
                 padding: int, affine: bool = True) -> None:
        super().__init__(
            DilConv(C_in, C_in, kernel_size, stride, padding, 1, affine),
            DilConv(C_in, C_out, kernel_size, 1, padding, 1, affine))


class Conv7x1_1x7(nn.Sequential):
    """ReLU -> 1x7 -> 7x1 -> BN (used by the AmoebaNet genotype only)."""

    def __init__(self, C: int, stride: int, affine: bool = True) -> None:
        super().__init__(
            nn.ReLU(inplace=False),
            nn.Conv2d(C, C, (1, 7), stride=(1, stride), padding=(0, 3), bias=False),
            nn.Conv2d(C, C, (7, 1), stride=(stride, 1), padding=(3, 0), bias=False),
            nn.BatchNorm2d(C, affine=affine))


class Identity(nn.Identity):
    """Stride-1 skip connection; drop path leaves it alone."""


class Zero(nn.Module):
    """The 'none' op: zeros of the (strided) output shape."""

    def __init__(self, stride: int) -> None:
        super().__init__()
        self.stride = stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.stride == 1:
            return x.mul(0.)
        return x[:, :, ::self.stride, ::self.stride].mul(0.)


class FactorizedReduce(nn.Module):
    """ReLU -> two 1x1 stride-2 convs, the second offset by one pixel -> concat -> BN.

    The offset path is zero-padded by one row and column at the bottom/right
    so that both halves have ``ceil(H/2)`` rows: on even sizes this samples
    exactly the pixels the reference samples, on odd sizes it still works.
    """

    def __init__(self, C_in: int, C_out: int, affine: bool = True) -> None:
        super().__init__()
        if C_out % 2:
            raise ValueError(f'FactorizedReduce: C_out must be even, got {C_out}')
        self.relu = nn.ReLU(inplace=False)
        self.conv_1 = nn.Conv2d(C_in, C_out // 2, 1, stride=2, bias=False)
        self.conv_2 = nn.Conv2d(C_in, C_out // 2, 1, stride=2, bias=False)
        self.bn = nn.BatchNorm2d(C_out, affine=affine)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_activated(self.relu(x))

    def forward_activated(self, x: torch.Tensor) -> torch.Tensor:
        """``forward`` of an input that is already ``relu(x)``."""
        shifted = F.pad(x[:, :, 1:, 1:], (0, 1, 0, 1))
        return self.bn(torch.cat([self.conv_1(x), self.conv_2(shifted)], dim=1))


OpFactory = Callable[[int, int, bool], nn.Module]

OPS: dict[str, OpFactory] = {
    'none': lambda C, stride, affine: Zero(stride),
    'avg_pool_3x3': lambda C, stride, affine: nn.AvgPool2d(
        3, stride=stride, padding=1, count_include_pad=False),
    'max_pool_3x3': lambda C, stride, affine: nn.MaxPool2d(3, stride=stride, padding=1),
    'skip_connect': lambda C, stride, affine: (
        Identity() if stride == 1 else FactorizedReduce(C, C, affine=affine)),
    'sep_conv_3x3': lambda C, stride, affine: SepConv(C, C, 3, stride, 1, affine),
    'sep_conv_5x5': lambda C, stride, affine: SepConv(C, C, 5, stride, 2, affine),
    'sep_conv_7x7': lambda C, stride, affine: SepConv(C, C, 7, stride, 3, affine),
    'dil_conv_3x3': lambda C, stride, affine: DilConv(C, C, 3, stride, 2, 2, affine),
    'dil_conv_5x5': lambda C, stride, affine: DilConv(C, C, 5, stride, 4, 2, affine),
    'conv_7x1_1x7': lambda C, stride, affine: Conv7x1_1x7(C, stride, affine),
}


def build_op(name: str, C: int, stride: int, affine: bool = True) -> nn.Module:
    try:
        factory = OPS[name]
    except KeyError:
        raise KeyError(f'unknown op {name!r}; known ops: {sorted(OPS)}') from None
    return factory(C, stride, affine)


def drop_path(x: torch.Tensor, drop_prob: float) -> torch.Tensor:
    """Per-sample path dropout as in DARTS (scale by 1/keep), on any device."""
    if drop_prob <= 0.:
        return x
    keep = 1. - drop_prob
    mask = torch.empty(x.size(0), 1, 1, 1, dtype=x.dtype, device=x.device).bernoulli_(keep)
    return x / keep * mask
