"""How cells stack into a network: widths, reductions and stems (shared by supernet and derived nets)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence, Union

import torch
import torch.nn as nn
import torch.nn.functional as F

from ...utils.recompute import recomputed

STEMS = ('imagenet', 'cifar')


@dataclass(frozen=True)
class CellSpec:
    index: int
    C_prev_prev: int
    C_prev: int
    C: int                 # channels per node
    reduction: bool
    reduction_prev: bool
    stage: int             # 1 + number of reductions before and at this cell


def reduction_indices(layers: int) -> tuple[int, int]:
    return layers // 3, 2 * layers // 3


Multiplier = Union[int, Sequence[int]]


def check_reductions(layers: int, reductions: Sequence[int]) -> tuple[int, ...]:
    """Explicit reduction positions: distinct cell indices in ``1..layers-1``, increasing
    (not cell 0: the first stage of cells would be empty and have no feature to tap)."""
    if isinstance(reductions, (str, bytes)) or not isinstance(reductions, Sequence):
        raise ValueError(f'reductions: expected a list of cell indices, got {reductions!r}')
    out = tuple(reductions)
    bad = [r for r in out if isinstance(r, bool) or not isinstance(r, int) or not 1 <= r < layers]
    if bad:
        raise ValueError(f'reductions: {bad[0]!r} is not a cell index in 1..{layers - 1} '
                         f'of a {layers}-cell network')
    if list(out) != sorted(set(out)):
        raise ValueError(f'reductions must be distinct and increasing, got {list(out)}')
    return out


def _per_stage(name: str, value: Multiplier, stages: int) -> list[int]:
    if isinstance(value, int):
        return [value] * stages
    values = list(value)
    if len(values) != stages:
        raise ValueError(f'{name}: one value per stage of cells ({stages}) expected, got {values}')
    return values


def cell_plan(C: int, layers: int, stem_channels: int, stem: str,
              normal_multiplier: Multiplier, reduce_multiplier: Multiplier,
              reductions: Optional[Sequence[int]] = None) -> list[CellSpec]:
    """The per-cell widths of DARTS' NetworkCIFAR / NetworkImageNet and the search networks.

    C doubles at each reduction cell: by default ``layers//3`` and
    ``2*layers//3`` (DARTS'), or the cell indices in ``reductions`` (the
    network-level search places them). The ImageNet stem ends one stride
    below the first cell, so the first cell's preprocess0 is a
    FactorizedReduce (``reduction_prev=True``).

    The multipliers (states a cell concatenates) are one int, or one per
    stage of cells (``len(reductions) + 1``, stage 1 first), for networks
    whose stages use different genotypes; a reduction cell belongs to the
    stage it opens.
    """
    if stem not in STEMS:
        raise ValueError(f'stem must be one of {STEMS}, got {stem!r}')
    if reductions is None:
        if layers < 3:
            raise ValueError(f'layers must be >= 3 (two reduction cells and a normal one), got {layers}')
        reductions = reduction_indices(layers)
    else:
        if layers < 1:
            raise ValueError(f'layers must be >= 1, got {layers}')
        reductions = check_reductions(layers, reductions)
    if C < 1 or C % 2:
        # FactorizedReduce splits C in halves.
        raise ValueError(f'C must be a positive even number, got {C}')
    stages = len(reductions) + 1
    normal_mult = _per_stage('normal_multiplier', normal_multiplier, stages)
    reduce_mult = _per_stage('reduce_multiplier', reduce_multiplier, stages)
    C_pp, C_p = stem_channels, stem_channels
    reduction_prev = stem == 'imagenet'
    C_curr, stage = C, 1
    plan = []
    for i in range(layers):
        reduction = i in reductions
        if reduction:
            C_curr *= 2
            stage += 1
        plan.append(CellSpec(i, C_pp, C_p, C_curr, reduction, reduction_prev, stage))
        mult = (reduce_mult if reduction else normal_mult)[stage - 1]
        C_pp, C_p = C_p, mult * C_curr
        reduction_prev = reduction
    return plan


class ImageNetStem(nn.Module):
    """stem0: two stride-2 3x3 convs (to stride 4); stem1: one more (to stride 8).

    ``recompute``: keep only the image for stem0's backward and recompute its
    activations there (the 112x112 maps are most of the stem's memory).
    """

    def __init__(self, C_stem: int, affine: bool = True, recompute: bool = False) -> None:
        super().__init__()
        self.recompute = recompute
        self.stem0 = nn.Sequential(
            nn.Conv2d(3, C_stem // 2, 3, stride=2, padding=1, bias=False),
            nn.BatchNorm2d(C_stem // 2, affine=affine),
            nn.ReLU(inplace=True),
            nn.Conv2d(C_stem // 2, C_stem, 3, stride=2, padding=1, bias=False),
            nn.BatchNorm2d(C_stem, affine=affine))
        self.stem1 = nn.Sequential(
            nn.ReLU(inplace=False),
            nn.Conv2d(C_stem, C_stem, 3, stride=2, padding=1, bias=False),
            nn.BatchNorm2d(C_stem, affine=affine))
        self.strides = (4, 8)  # of s0 and s1: the first cell works at 8

    def forward(self, x: torch.Tensor, activated: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
        """``(s0, s1)``; ``activated``: ``(relu(s0), relu(s1))``, what the first cells'
        preprocessing reads, with relu(s0) computed once for stem1 and cell 0."""
        s0 = recomputed(self.stem0, self.stem0, x) if self.recompute else self.stem0(x)
        if not activated:
            return s0, self.stem1(s0)
        a0 = self.stem1[0](s0)
        return a0, F.relu(self.stem1[2](self.stem1[1](a0)))


class CifarStem(nn.Module):
    """One 3x3 conv at stride 1; both cell inputs are its output. ``recompute``: as ImageNetStem."""

    def __init__(self, C_stem: int, affine: bool = True, recompute: bool = False) -> None:
        super().__init__()
        self.recompute = recompute
        self.stem = nn.Sequential(
            nn.Conv2d(3, C_stem, 3, padding=1, bias=False),
            nn.BatchNorm2d(C_stem, affine=affine))
        self.strides = (1, 1)

    def forward(self, x: torch.Tensor, activated: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
        """``(s, s)``; ``activated``: ``(relu(s), relu(s))``, computed once."""
        s = recomputed(self.stem, self.stem, x) if self.recompute else self.stem(x)
        if activated:
            s = F.relu(s)
        return s, s


def build_stem(stem: str, C_stem: int, recompute: bool = False) -> nn.Module:
    if stem == 'imagenet':
        return ImageNetStem(C_stem, recompute=recompute)
    if stem == 'cifar':
        return CifarStem(C_stem, recompute=recompute)
    raise ValueError(f'stem must be one of {STEMS}, got {stem!r}')


def check_input(x, where: str) -> None:
    """Fail early, with the shape, on input a network cannot take."""
    if x.dim() != 4 or x.size(1) != 3:
        raise ValueError(f'{where}: expected a (N, 3, H, W) image batch, got shape {tuple(x.shape)}')
    if x.size(2) < 2 or x.size(3) < 2:
        raise ValueError(f'{where}: input {x.size(2)}x{x.size(3)} is too small')
