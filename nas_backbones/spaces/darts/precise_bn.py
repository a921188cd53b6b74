"""Training-mode BatchNorm of a channels-last tensor with the NCHW kernel's float32 precision.

torch's CPU BatchNorm for channels-last inputs accumulates the per-channel
statistics (forward) and gradient sums (backward) of float32 inputs with
7-20x the rounding error of its NCHW kernel, more where a channel's mean is
large against its spread. In a supernet that moved some float32 gradients by
up to 2e-3 against float64 (``docs/faithfulness.md``). Converting to NCHW
around every BatchNorm costs a copy each way (45% more time per DARTS step on
CPU); here the sums are torch's ``sum`` reductions, which are as precise in
either layout (cascade summation), and the rest is elementwise in the input's
layout. The maths is BatchNorm's: biased variance to normalise, unbiased for
the running variance, the usual backward through the batch statistics.
"""
from __future__ import annotations

from typing import Optional

import torch
import torch.nn as nn

_DIMS = (0, 2, 3)
_C = (1, -1, 1, 1)


class _BatchNormCL(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x: torch.Tensor, weight: Optional[torch.Tensor], eps: float):
        n = x.numel() // x.size(1)
        mean = x.sum(_DIMS) / n
        xc = x - mean.view(_C)
        var = xc.square().sum(_DIMS) / n  # two passes: no cancellation against the mean
        invstd = (var + eps).rsqrt()
        scale = invstd if weight is None else invstd * weight
        y = xc.mul_(scale.view(_C))
        ctx.save_for_backward(x, weight, mean, invstd)
        return y, mean, var

    @staticmethod
    def backward(ctx, g: torch.Tensor, _gm, _gv):
        x, weight, mean, invstd = ctx.saved_tensors
        n = x.numel() // x.size(1)
        xc = x - mean.view(_C)
        g_sum = g.sum(_DIMS)
        dotp = (g * xc).sum(_DIMS)
        grad_x = grad_w = None
        if ctx.needs_input_grad[0]:
            # (g - mean(g) - xc invstd^2 mean(g xc)) * invstd * weight
            scale = invstd if weight is None else invstd * weight
            k = dotp * invstd * invstd / n
            grad_x = xc.mul_(-k.view(_C)).add_(g).sub_((g_sum / n).view(_C)).mul_(scale.view(_C))
        if weight is not None and ctx.needs_input_grad[1]:
            grad_w = dotp * invstd
        return grad_x, grad_w, None


def batch_norm_cl(bn: nn.BatchNorm2d, x: torch.Tensor, weight: Optional[torch.Tensor],
                  momentum: float) -> torch.Tensor:
    """``F.batch_norm(x, bn's running statistics, weight, None, training=True, momentum, bn.eps)``
    for a channels-last ``x``, with precise sums; updates ``bn``'s running statistics."""
    y, mean, var = _BatchNormCL.apply(x, weight, bn.eps)
    if bn.track_running_stats and bn.running_mean is not None:
        n = x.numel() // x.size(1)
        with torch.no_grad():
            bn.running_mean.lerp_(mean, momentum)
            bn.running_var.lerp_(var * (n / max(n - 1, 1)), momentum)
    return y
