"""The layers of the derived network: conv-BN-activation and MobileNetV2's inverted residual (MBConv).

MBConv: 1x1 expansion to ``in * e`` channels (none for e = 1), k x k depthwise,
1x1 projection (no activation), identity shortcut when it has one. Padding is
``k // 2``, so a stride-2 layer maps H to ceil(H / 2): any input size works,
odd ones included. Convolutions carry no bias (BN follows each).

Initialisation follows the reference (MnasNet's TF code, as timm's "goog"
init): conv kernels normal with std sqrt(2 / fan_out), fan_out counted per
group (so a depthwise kxk kernel has fan_out k*k), the classifier uniform in
+-1/sqrt(out), BN weight 1 and bias 0.
"""
from __future__ import annotations

import math
from typing import Optional

import torch
import torch.nn as nn
from mmcv.cnn import build_activation_layer, build_norm_layer

# BatchNorm as in the reference: TF momentum 0.99 (PyTorch 0.01), eps 1e-3.
DEFAULT_NORM = dict(type='BN', momentum=0.01, eps=1e-3)
DEFAULT_ACT = dict(type='ReLU')


class ConvBNAct(nn.Sequential):
    """conv (no bias) -> norm -> activation (left out when ``act_cfg`` is None)."""

    def __init__(self, in_channels: int, out_channels: int, kernel: int = 1, stride: int = 1,
                 groups: int = 1, norm_cfg: Optional[dict] = None,
                 act_cfg: Optional[dict] = DEFAULT_ACT) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, kernel, stride, kernel // 2,
                              groups=groups, bias=False)
        self.bn = build_norm_layer(dict(norm_cfg or DEFAULT_NORM), out_channels)[1]
        if act_cfg is not None:
            self.act = build_activation_layer(dict(act_cfg))


class MBConv(nn.Module):
    """An inverted residual of one kernel size and expansion."""

    def __init__(self, in_channels: int, out_channels: int, kernel: int, expansion: int,
                 stride: int = 1, residual: bool = True, norm_cfg: Optional[dict] = None,
                 act_cfg: Optional[dict] = DEFAULT_ACT) -> None:
        super().__init__()
        mid = in_channels * expansion
        self.kernel, self.expansion, self.stride = kernel, expansion, stride
        self.expand = (ConvBNAct(in_channels, mid, 1, norm_cfg=norm_cfg, act_cfg=act_cfg)
                       if expansion != 1 else None)
        self.depthwise = ConvBNAct(mid, mid, kernel, stride, groups=mid, norm_cfg=norm_cfg,
                                   act_cfg=act_cfg)
        self.project = ConvBNAct(mid, out_channels, 1, norm_cfg=norm_cfg, act_cfg=None)
        if residual and (stride != 1 or in_channels != out_channels):
            raise ValueError(f'MBConv: an identity shortcut needs stride 1 and equal widths, '
                             f'got stride {stride}, {in_channels} -> {out_channels}')
        self.residual = residual

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.expand(x) if self.expand is not None else x
        y = self.project(self.depthwise(y))
        return x + y if self.residual else y


@torch.no_grad()
def reference_init(module: nn.Module) -> None:
    """The reference's initialisation of every conv, linear and BN layer in ``module``."""
    for m in module.modules():
        if isinstance(m, nn.Conv2d):
            fan_out = m.kernel_size[0] * m.kernel_size[1] * m.out_channels // m.groups
            m.weight.normal_(0, math.sqrt(2.0 / fan_out))
            if m.bias is not None:
                m.bias.zero_()
        elif isinstance(m, nn.Linear):
            bound = 1.0 / math.sqrt(m.out_features)
            m.weight.uniform_(-bound, bound)
            if m.bias is not None:
                m.bias.zero_()
        elif isinstance(m, nn.modules.batchnorm._BatchNorm) and m.affine:
            m.weight.fill_(1.)
            m.bias.zero_()
