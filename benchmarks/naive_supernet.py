"""The baseline for the speed-ups: the supernet written straight from the papers' description.

Each candidate op, 'none' included (as ``x*0``), is called separately on the
sliced input of every edge; the weighted sum is a Python ``sum``; every edge
concatenates its processed and bypassed channels, shuffles them and is then
scaled by its edge weight; a node is the Python ``sum`` of its edges. This is
what ``model_search.py`` / ``model_search_imagenet.py`` of PC-DARTS do (K=1 is
DARTS' MixedOp). The ops, stems and cell plan are the project's own, so the
network has the same parameters, in the same order, as
:class:`nas_backbones.search.PCDartsSupernet` (one deviation from the
reference kept from the project: the bypass max-pool of a stride-2 edge uses
``ceil_mode`` so that odd sizes work; identical on even sizes).

``tests/test_perf_equivalence.py`` checks that the project's supernet computes
the same outputs and gradients as this one; ``benchmarks/supernet_step.py``
times both.
"""
from __future__ import annotations

from typing import Optional, Sequence

import torch
import torch.nn as nn

from nas_backbones.space.macro import build_stem, cell_plan, check_input, CellSpec
from nas_backbones.space.ops import DEFAULT_PRIMITIVES, FactorizedReduce, ReLUConvBN, build_op


def naive_channel_shuffle(x: torch.Tensor, groups: int) -> torch.Tensor:
    """PC-DARTS' channel_shuffle: view, transpose, contiguous, view."""
    b, c, h, w = x.size()
    x = x.view(b, groups, c // groups, h, w)
    x = torch.transpose(x, 1, 2).contiguous()
    return x.view(b, -1, h, w)


class NaiveMixedOp(nn.Module):

    def __init__(self, C: int, stride: int, primitives: Sequence[str], k: int) -> None:
        super().__init__()
        self.k = k
        self._ops = nn.ModuleList()
        for name in primitives:
            op = build_op(name, C // k, stride, affine=False)
            if 'pool' in name:
                op = nn.Sequential(op, nn.BatchNorm2d(C // k, affine=False))
            self._ops.append(op)
        self.mp = nn.MaxPool2d(2, 2, ceil_mode=True)

    def forward(self, x: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        dim_2 = x.shape[1]
        xtemp = x[:, :dim_2 // self.k, :, :]
        xtemp2 = x[:, dim_2 // self.k:, :, :]
        temp1 = sum(w * op(xtemp) for w, op in zip(weights, self._ops))
        if self.k == 1:  # DARTS' MixedOp
            return temp1
        if temp1.shape[2] == x.shape[2]:
            ans = torch.cat([temp1, xtemp2], dim=1)
        else:
            ans = torch.cat([temp1, self.mp(xtemp2)], dim=1)
        return naive_channel_shuffle(ans, self.k)


class NaiveSearchCell(nn.Module):

    def __init__(self, spec: CellSpec, steps: int, multiplier: int,
                 primitives: Sequence[str], partial_k: int) -> None:
        super().__init__()
        C = spec.C
        self.reduction = spec.reduction
        self.steps, self.multiplier = steps, multiplier
        if spec.reduction_prev:
            self.preprocess0 = FactorizedReduce(spec.C_prev_prev, C, affine=False)
        else:
            self.preprocess0 = ReLUConvBN(spec.C_prev_prev, C, 1, 1, 0, affine=False)
        self.preprocess1 = ReLUConvBN(spec.C_prev, C, 1, 1, 0, affine=False)
        self._ops = nn.ModuleList()
        for i in range(steps):
            for j in range(2 + i):
                stride = 2 if spec.reduction and j < 2 else 1
                self._ops.append(NaiveMixedOp(C, stride, primitives, partial_k))

    def forward(self, s0: torch.Tensor, s1: torch.Tensor, weights: torch.Tensor,
                weights2: Optional[torch.Tensor] = None) -> torch.Tensor:
        states = [self.preprocess0(s0), self.preprocess1(s1)]
        offset = 0
        for _ in range(self.steps):
            if weights2 is None:
                s = sum(self._ops[offset + j](h, weights[offset + j])
                        for j, h in enumerate(states))
            else:
                s = sum(weights2[offset + j] * self._ops[offset + j](h, weights[offset + j])
                        for j, h in enumerate(states))
            offset += len(states)
            states.append(s)
        return torch.cat(states[-self.multiplier:], dim=1)


class NaiveSupernet(nn.Module):
    """Same constructor arguments and forward signature as ``PCDartsSupernet``."""

    def __init__(self, num_classes: int = 1000, C: int = 16, layers: int = 8, steps: int = 4,
                 multiplier: int = 4, stem: str = 'imagenet', stem_multiplier: int = 3,
                 primitives: Sequence[str] = DEFAULT_PRIMITIVES, partial_k: int = 2) -> None:
        super().__init__()
        self.steps, self.multiplier = steps, multiplier
        self.primitives = tuple(primitives)
        self.partial_k = partial_k
        self.stem_type = stem
        C_stem = stem_multiplier * C
        self.stem = build_stem(stem, C_stem)
        plan = cell_plan(C, layers, C_stem, stem, multiplier, multiplier)
        self.cells = nn.ModuleList(
            NaiveSearchCell(spec, steps, multiplier, self.primitives, partial_k) for spec in plan)
        self.global_pooling = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(multiplier * plan[-1].C, num_classes)

    def forward(self, x: torch.Tensor, arch_weights: dict) -> torch.Tensor:
        check_input(x, type(self).__name__)
        s0, s1 = self.stem(x)
        for cell in self.cells:
            w, ew = arch_weights[cell.reduction]
            s0, s1 = s1, cell(s0, s1, w, ew)
        return self.classifier(self.global_pooling(s1).flatten(1))


def copy_state(src: nn.Module, dst: nn.Module) -> None:
    """Copy parameters and buffers by position (the two supernets name their op lists differently).

    Both hold the same tensors in the same order ('none' has none), so a
    shape mismatch or a count mismatch means the structures diverged.
    """
    s, d = list(src.state_dict().items()), list(dst.state_dict().items())
    if len(s) != len(d):
        raise ValueError(f'copy_state: {len(s)} tensors in {type(src).__name__}, '
                         f'{len(d)} in {type(dst).__name__}')
    with torch.no_grad():
        for (ns, ts), (nd, td) in zip(s, d):
            if ts.shape != td.shape:
                raise ValueError(f'copy_state: {ns} {tuple(ts.shape)} vs {nd} {tuple(td.shape)}')
            td.copy_(ts)
