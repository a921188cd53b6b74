"""A searchable cell: every node sums mixed ops over all earlier states (14 edges for 4 nodes)."""
from __future__ import annotations

from typing import Optional, Sequence

import torch
import torch.nn as nn

from ..space.macro import CellSpec
from ..space.ops import FactorizedReduce, ReLUConvBN
from .mixed_op import PartialMixedOp


def num_edges(steps: int) -> int:
    return sum(2 + i for i in range(steps))


class SearchCell(nn.Module):

    def __init__(self, spec: CellSpec, steps: int, multiplier: int,
                 primitives: Sequence[str], partial_k: int) -> None:
        super().__init__()
        C = spec.C
        self.reduction = spec.reduction
        self.steps = steps
        self.multiplier = multiplier
        if spec.reduction_prev:
            self.preprocess0 = FactorizedReduce(spec.C_prev_prev, C, affine=False)
        else:
            self.preprocess0 = ReLUConvBN(spec.C_prev_prev, C, 1, 1, 0, affine=False)
        self.preprocess1 = ReLUConvBN(spec.C_prev, C, 1, 1, 0, affine=False)
        self._ops = nn.ModuleList()
        for i in range(steps):
            for j in range(2 + i):
                stride = 2 if spec.reduction and j < 2 else 1
                self._ops.append(PartialMixedOp(C, stride, primitives, partial_k))

    def forward(self, s0: torch.Tensor, s1: torch.Tensor, weights: torch.Tensor,
                edge_weights: Optional[torch.Tensor] = None) -> torch.Tensor:
        """``weights``: (edges, ops) op weights; ``edge_weights``: (edges,) or None (DARTS)."""
        states = [self.preprocess0(s0), self.preprocess1(s1)]
        offset = 0
        for _ in range(self.steps):
            s = None
            for j, h in enumerate(states):
                e = offset + j
                y = self._ops[e](h, weights[e])
                if edge_weights is not None:
                    y = y * edge_weights[e]
                s = y if s is None else s + y
            offset += len(states)
            states.append(s)
        return torch.cat(states[-self.multiplier:], dim=1)
