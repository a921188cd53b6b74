"""The superkernel MBConv: one 5x5, expansion-6 inverted residual that holds every candidate of a layer.

Only the depthwise kernel ``W`` (C = 6 x in channels, 5x5) is masked. With
the layer's thresholds ``t = (t5x5, t100c, t50c)``:

- kernel:    ``d5x5 = I(||W * ring|| - t5x5)`` (ring = the 5x5 minus its centre 3x3),
             ``W' = W * inner3x3 + d5x5 * (W * ring)``;
- expansion: ``d100c = I(||W' * c100|| - t100c)`` (c100 = channels [C/2, C));
- skip:      ``d50c = I(||W' * c50|| - t50c)`` (c50 = channels [0, C/2)), only on
             layers with an identity shortcut; elsewhere ``d50c = 1``;
- kernel used: ``d50c * (W' * c50 + d100c * (W' * c100))``.

Norms are Frobenius norms over all channels, ``I`` the straight-through
indicator. So d5x5 picks k5 over k3, d100c picks e6 over e3 (the first half
of the expansion channels is e3), and d50c = 0 turns the layer into its
shortcut. The 1x1 expansion conv always computes all 6 x in channels.

Deliberate deviation: the reference relies on the zeroed depthwise channels
(and, for a skip, the zeroed branch) giving zero after their BatchNorm and
activation, which holds only while those BN biases are 0 and in training
mode. Here the same decisions also zero the depthwise stage's output channels
and, for a skip, the branch output, in the forward pass only (their gradient
passes as if unmasked). The forward pass then equals the stand-alone MBConv of
the chosen op in train and eval mode, and the gradients the thresholds and
weights receive are the reference's whenever its assumption holds.
"""
from __future__ import annotations

from typing import NamedTuple, Optional

import torch
import torch.nn as nn
import torch.nn.functional as F

from .layout import EXPANSIONS, KERNELS, SUPER_EXPANSION, SUPER_KERNEL
from .ops import DEFAULT_ACT, ConvBNAct, MBConv
from .relaxation import indicator, indicator_dropout

# Threshold columns, in this order everywhere (thresholds, norms, decisions).
THRESHOLDS = ('t5x5', 't100c', 't50c')


class Decisions(NamedTuple):
    """The three indicators of a layer (0-d tensors) and the norms they compared."""
    d5x5: torch.Tensor
    d100c: torch.Tensor
    d50c: torch.Tensor
    norms: torch.Tensor  # (3,): ||W*ring||, ||W'*c100||, ||W'*c50|| (the last 0 without a shortcut)


def forward_mask(x: torch.Tensor, keep: torch.Tensor) -> torch.Tensor:
    """``x * keep`` in the forward pass, ``x`` in the backward pass (``keep`` is 0/1, no gradient)."""
    return x - (x * (1 - keep)).detach()


class SuperKernelMBConv(nn.Module):
    """A searchable layer: the 5x5 e6 MBConv with the masked depthwise kernel.

    Args:
        in_channels, out_channels, stride: the layer's place in the layout.
        residual: the layer has an identity shortcut, so it may become a skip.
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int, residual: bool,
                 norm_cfg: Optional[dict] = None, act_cfg: Optional[dict] = DEFAULT_ACT) -> None:
        super().__init__()
        if residual and (stride != 1 or in_channels != out_channels):
            raise ValueError(f'SuperKernelMBConv: a shortcut needs stride 1 and equal widths, '
                             f'got stride {stride}, {in_channels} -> {out_channels}')
        C = in_channels * SUPER_EXPANSION
        self.in_channels, self.out_channels, self.stride = in_channels, out_channels, stride
        self.residual = residual
        self.norm_cfg, self.act_cfg = norm_cfg, act_cfg
        self.expand = ConvBNAct(in_channels, C, 1, norm_cfg=norm_cfg, act_cfg=act_cfg)
        self.depthwise = ConvBNAct(C, C, SUPER_KERNEL, stride, groups=C, norm_cfg=norm_cfg,
                                   act_cfg=act_cfg)
        self.project = ConvBNAct(C, out_channels, 1, norm_cfg=norm_cfg, act_cfg=None)
        inner = torch.zeros(1, 1, SUPER_KERNEL, SUPER_KERNEL)
        pad = (SUPER_KERNEL - min(KERNELS)) // 2
        inner[..., pad:SUPER_KERNEL - pad, pad:SUPER_KERNEL - pad] = 1
        half = C * min(EXPANSIONS) // SUPER_EXPANSION
        c50 = torch.zeros(C, 1, 1, 1)
        c50[:half] = 1
        self.register_buffer('inner', inner, persistent=False)
        self.register_buffer('c50', c50, persistent=False)

    # -------------------------------------------------------------- decisions
    def decisions(self, thresholds: torch.Tensor, keep_prob: Optional[float] = None,
                  rescale: bool = True) -> tuple[Decisions, torch.Tensor]:
        """The nested decisions for ``thresholds`` (3,) and the depthwise kernel they select.

        ``keep_prob``: indicator dropout (warm-up); each indicator is dropped
        right after it is computed, so the later norms see the dropped one,
        as in the reference.
        """
        W = self.depthwise.conv.weight
        inner, c50 = self.inner.to(W), self.c50.to(W)
        ring, c100 = 1 - inner, 1 - c50
        n5 = torch.linalg.vector_norm(W * ring)
        d5 = indicator_dropout(indicator(n5 - thresholds[0]), keep_prob, rescale)
        Wk = W * inner + d5 * (W * ring)
        n100 = torch.linalg.vector_norm(Wk * c100)
        d100 = indicator_dropout(indicator(n100 - thresholds[1]), keep_prob, rescale)
        if self.residual:
            n50 = torch.linalg.vector_norm(Wk * c50)
            d50 = indicator_dropout(indicator(n50 - thresholds[2]), keep_prob, rescale)
        else:
            n50, d50 = W.new_zeros(()), W.new_ones(())
        kernel = d50 * (Wk * c50 + d100 * (Wk * c100))
        return Decisions(d5, d100, d50, torch.stack([n5, n100, n50]).detach()), kernel

    @staticmethod
    def choice_of(d: Decisions) -> dict:
        """The op the (hard) decisions select: kernel, expansion and skip."""
        if float(d.d50c.detach()) == 0:
            return dict(kernel=SUPER_KERNEL, expansion=SUPER_EXPANSION, skip=True)
        return dict(kernel=SUPER_KERNEL if float(d.d5x5.detach()) != 0 else min(KERNELS),
                    expansion=SUPER_EXPANSION if float(d.d100c.detach()) != 0 else min(EXPANSIONS),
                    skip=False)

    # ---------------------------------------------------------------- forward
    def forward(self, x: torch.Tensor, thresholds: torch.Tensor,
                keep_prob: Optional[float] = None, rescale: bool = True) -> torch.Tensor:
        d, kernel = self.decisions(thresholds, keep_prob, rescale)
        dw = self.depthwise
        y = self.expand(x)
        y = F.conv2d(y, kernel, None, self.stride, SUPER_KERNEL // 2, groups=y.size(1))
        y = dw.act(dw.bn(y)) if hasattr(dw, 'act') else dw.bn(y)
        on50, on100 = bool(d.d50c.detach() != 0), bool(d.d100c.detach() != 0)
        if not (on50 and on100):  # some channels are off: make them exactly 0
            c50 = self.c50.to(y).view(1, -1, 1, 1)
            y = forward_mask(y, float(on50) * (c50 + float(on100) * (1 - c50)))
        y = self.project(y)
        if not self.residual:
            return y
        return x + (y if on50 else forward_mask(y, torch.zeros((), dtype=y.dtype, device=y.device)))

    # ---------------------------------------------------------------- export
    @torch.no_grad()
    def to_mbconv(self, kernel: int, expansion: int) -> MBConv:
        """The stand-alone MBConv of one choice, with this layer's weights (the derived layer)."""
        if kernel not in KERNELS or expansion not in EXPANSIONS:
            raise ValueError(f'to_mbconv: kernel must be one of {KERNELS} and expansion one of '
                             f'{EXPANSIONS}, got k{kernel}e{expansion}')
        m = MBConv(self.in_channels, self.out_channels, kernel, expansion, self.stride,
                   self.residual, norm_cfg=self.norm_cfg, act_cfg=self.act_cfg)
        m.to(self.depthwise.conv.weight)
        mid = self.in_channels * expansion
        off = (SUPER_KERNEL - kernel) // 2
        _copy(m.expand, self.expand, out=slice(0, mid))
        _copy(m.depthwise, self.depthwise, out=slice(0, mid),
              kernel=(slice(off, SUPER_KERNEL - off),) * 2)
        _copy(m.project, self.project, inp=slice(0, mid))
        return m


def _copy(dst: ConvBNAct, src: ConvBNAct, out: slice = slice(None), inp: slice = slice(None),
          kernel: tuple = (slice(None), slice(None))) -> None:
    w = src.conv.weight
    if dst.conv.groups > 1:  # depthwise: one input channel per group
        dst.conv.weight.copy_(w[out, :, kernel[0], kernel[1]])
    else:
        dst.conv.weight.copy_(w[out, inp, kernel[0], kernel[1]])
    for name in ('weight', 'bias', 'running_mean', 'running_var'):
        getattr(dst.bn, name).copy_(getattr(src.bn, name)[out])
    dst.bn.num_batches_tracked.copy_(src.bn.num_batches_tracked)
