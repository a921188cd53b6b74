"""A differentiable FLOPs cost for hardware-aware search (the expected-cost idea of Single-Path NAS).

Every candidate op on every edge has a fixed cost: its multiply-adds in the
derived network (full width, affine BN, at that edge's resolution), counted
once with mmengine's FlopAnalyzer. The expected cost of a cell is
``sum_e 2*beta_e * sum_o softmax(alpha_e)_o * cost_eo``: each node keeps two
edges, and beta is softmaxed over the node's edges (uniform without edge
normalization). The term added to the architecture loss is
``weight * expected / expected_at_uniform_weights``, so ``weight`` is unitless.
"""
from __future__ import annotations

import math
from typing import Sequence, Union

import torch
import torch.nn as nn
from mmengine.analysis import FlopAnalyzer

from ..space.ops import build_op


def op_macs(name: str, C: int, stride: int, size: tuple[int, int]) -> int:
    if name == 'none':
        return 0
    op = build_op(name, C, stride, affine=True).eval()
    if not any(True for _ in op.parameters()):
        return 0  # pools and identity: no multiply-adds
    x = torch.zeros(1, C, *size)
    return int(FlopAnalyzer(op, (x,)).unsupported_ops_warnings(False)
               .uncalled_modules_warnings(False).total())


class ResourceCost(nn.Module):

    def __init__(self, supernet: nn.Module, weight: float = 0.1,
                 input_size: Union[int, Sequence[int]] = 224) -> None:
        super().__init__()
        if weight < 0:
            raise ValueError(f'cost weight must be >= 0, got {weight}')
        self.weight = weight
        h, w = (input_size, input_size) if isinstance(input_size, int) else tuple(input_size)
        down = 8 if supernet.stem_type == 'imagenet' else 1
        h, w = math.ceil(h / down), math.ceil(w / down)
        steps, prims = supernet.steps, supernet.primitives
        cache: dict = {}
        tables = {False: [], True: []}
        for cell in supernet.cells:
            C = cell.preprocess1[1].out_channels
            table = []
            for i in range(steps):
                for j in range(2 + i):
                    stride = 2 if cell.reduction and j < 2 else 1
                    size = (h, w) if stride == 2 or not cell.reduction else (math.ceil(h / 2), math.ceil(w / 2))
                    row = []
                    for p in prims:
                        key = (p, C, stride, size)
                        if key not in cache:
                            cache[key] = op_macs(p, C, stride, size)
                        row.append(float(cache[key]))
                    table.append(row)
            tables[cell.reduction].append(table)
            if cell.reduction:
                h, w = math.ceil(h / 2), math.ceil(w / 2)
        # Cells of a kind share alpha/beta, so their tables add up.
        self.register_buffer('macs_normal', torch.tensor(tables[False]).sum(0), persistent=False)
        self.register_buffer('macs_reduce', torch.tensor(tables[True]).sum(0), persistent=False)
        self.steps = steps
        with torch.no_grad():
            self.normalizer = float(self._uniform())

    def _node_edge_weights(self, edge_weights):
        if edge_weights is not None:
            return 2 * edge_weights
        return torch.cat([torch.full((2 + i,), 2. / (2 + i)) for i in range(self.steps)])

    def _uniform(self) -> torch.Tensor:
        total = 0.
        for macs in (self.macs_normal, self.macs_reduce):
            p = torch.full_like(macs, 1. / macs.size(1))
            total = total + (self._node_edge_weights(None)[:, None] * p * macs).sum()
        return total

    def expected_macs(self, arch) -> torch.Tensor:
        total = 0.
        for reduction, macs in ((False, self.macs_normal), (True, self.macs_reduce)):
            ew = self._node_edge_weights(arch.edge_weights(reduction)).to(macs)
            total = total + (ew[:, None] * arch.op_weights(reduction) * macs).sum()
        return total

    def forward(self, arch) -> torch.Tensor:
        return self.weight * self.expected_macs(arch) / self.normalizer
