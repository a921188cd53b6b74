"""The partial-channel mixed operation of PC-DARTS (K=1 is DARTS' MixedOp)."""
from __future__ import annotations

from typing import Sequence

import torch
import torch.nn as nn

from ..space.ops import build_op


def channel_shuffle(x: torch.Tensor, groups: int) -> torch.Tensor:
    """(B, g*c, H, W) -> interleave the g groups, as PC-DARTS does after the partial op."""
    b, c, h, w = x.shape
    return x.view(b, groups, c // groups, h, w).transpose(1, 2).reshape(b, c, h, w)


def search_op(name: str, C: int, stride: int) -> nn.Module:
    """A candidate op as the search builds it: no affine BN, and a BN after each pool."""
    op = build_op(name, C, stride, affine=False)
    if 'pool' in name:
        op = nn.Sequential(op, nn.BatchNorm2d(C, affine=False))
    return op


class PartialMixedOp(nn.Module):
    """``sum_o w_o * op_o(x[:, :C/K])``, the other channels bypass (max-pooled at stride 2), then shuffle.

    The sampled channels are the first C/K, a fixed slice, as in the reference
    code (the shuffle moves different channels into that slice in the next
    cell). The 'none' op contributes exactly zero to both the output and the
    gradients, so it is not computed; its alpha still takes part in the softmax.
    """

    def __init__(self, C: int, stride: int, primitives: Sequence[str], k: int = 1) -> None:
        super().__init__()
        if k < 1 or C % k:
            raise ValueError(f'partial-channel K={k} must divide the channels C={C}')
        if stride == 2 and (C // k) % 2 and 'skip_connect' in primitives:
            raise ValueError(f'partial channels C/K={C // k} must be even for a stride-2 '
                             'skip_connect (FactorizedReduce)')
        self.k = k
        self.stride = stride
        self.primitives = tuple(primitives)
        self.op_index = [i for i, p in enumerate(primitives) if p != 'none']
        if not self.op_index:
            raise ValueError("a search space needs at least one op besides 'none'")
        self._ops = nn.ModuleList(search_op(primitives[i], C // k, stride) for i in self.op_index)
        # ceil_mode keeps odd maps in step with the ops' ceil(H/2); identical on even sizes.
        self.bypass_pool = nn.MaxPool2d(2, 2, ceil_mode=True) if stride == 2 and k > 1 else None

    def forward(self, x: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        if self.k == 1:
            xs = x
        else:
            xs = x[:, :x.size(1) // self.k]
        out = None
        for i, op in zip(self.op_index, self._ops):
            y = op(xs) * weights[i]
            out = y if out is None else out + y
        if self.k == 1:
            return out
        rest = x[:, x.size(1) // self.k:]
        if self.bypass_pool is not None:
            rest = self.bypass_pool(rest)
        return channel_shuffle(torch.cat([out, rest], dim=1), self.k)
