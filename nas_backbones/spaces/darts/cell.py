"""The cell a genotype describes (DARTS ``model.py`` ``Cell``)."""
from __future__ import annotations

import torch
import torch.nn as nn

from .layout import CellSpec
from .ops import FactorizedReduce, Identity, ReLUConvBN, build_op, drop_path
from .result import Genotype
from .topology import edge_stride


class GenotypeCell(nn.Module):

    def __init__(self, genotype: Genotype, spec: CellSpec) -> None:
        super().__init__()
        C = spec.C
        self.reduction = spec.reduction
        if spec.reduction_prev:
            self.preprocess0 = FactorizedReduce(spec.C_prev_prev, C)
        else:
            self.preprocess0 = ReLUConvBN(spec.C_prev_prev, C, 1, 1, 0)
        self.preprocess1 = ReLUConvBN(spec.C_prev, C, 1, 1, 0)
        genes = genotype.genes(spec.reduction)
        self._indices = [idx for _, idx in genes]
        self._concat = list(genotype.concat(spec.reduction))
        self._steps = len(genes) // 2
        self.multiplier = len(self._concat)
        self._ops = nn.ModuleList(
            build_op(op, C, edge_stride(spec.reduction, idx), True) for op, idx in genes)
        self.drop_prob = 0.

    def forward(self, s0: torch.Tensor, s1: torch.Tensor) -> torch.Tensor:
        states = [self.preprocess0(s0), self.preprocess1(s1)]
        apply_drop = self.training and self.drop_prob > 0.
        for i in range(self._steps):
            h = []
            for j in (2 * i, 2 * i + 1):
                op = self._ops[j]
                out = op(states[self._indices[j]])
                if apply_drop and not isinstance(op, Identity):
                    out = drop_path(out, self.drop_prob)
                h.append(out)
            states.append(h[0] + h[1])
        return torch.cat([states[i] for i in self._concat], dim=1)
