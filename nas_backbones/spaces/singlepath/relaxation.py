"""The straight-through indicator of Single-Path NAS and its warm-up dropout.

``indicator(x)`` is ``1[x >= 0]`` in the forward pass and has the gradient of
``sigmoid(x)`` in the backward pass: the reference writes it as
``stop_gradient(1[x >= 0] - sigmoid(x)) + sigmoid(x)``. Here it is
``1[x >= 0] + (sigmoid(x) - stop_gradient(sigmoid(x)))``, the same function
with the same gradient, whose forward value is exactly 0 or 1 in any
floating-point precision (the bracket is exactly zero).
"""
from __future__ import annotations

from typing import Optional

import torch


def indicator(x: torch.Tensor) -> torch.Tensor:
    """Hard 0/1 of ``x >= 0`` forward; ``sigmoid'(x)`` backward."""
    s = torch.sigmoid(x)
    return (x >= 0).to(x.dtype) + (s - s.detach())


def indicator_dropout(d: torch.Tensor, keep_prob: Optional[float], rescale: bool = True,
                      generator: Optional[torch.Generator] = None) -> torch.Tensor:
    """Drop an indicator with probability ``1 - keep_prob`` (the reference's warm-up trick).

    As TF's ``tf.nn.dropout`` (which the reference calls), a kept indicator is
    scaled by ``1 / keep_prob`` unless ``rescale=False``. ``keep_prob=None``
    or 1 returns ``d`` unchanged. One draw per indicator per call: the whole
    batch sees the same sampled sub-network.
    """
    if keep_prob is None or keep_prob >= 1:
        return d
    if not 0 < keep_prob < 1:
        raise ValueError(f'indicator dropout: keep_prob must be in (0, 1], got {keep_prob}')
    keep = (torch.rand(d.shape, generator=generator, device=d.device) < keep_prob).to(d.dtype)
    return d * keep / keep_prob if rescale else d * keep
