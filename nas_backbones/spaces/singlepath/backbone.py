"""A derived Single-Path network as a detection backbone (and the trunk of its classifier)."""
from __future__ import annotations

from typing import Optional, Sequence

import torch
import torch.nn as nn
from mmdet.registry import MODELS
from mmengine.model import BaseModule

from ...models.backbone import FrozenStagesMixin
from .ops import DEFAULT_ACT, ConvBNAct, MBConv, reference_init
from .published import ArchitectureSpec, load_architecture
from .result import Architecture


@MODELS.register_module()
class SinglePathBackbone(FrozenStagesMixin, BaseModule):
    """Stem, the architecture's MBConv blocks and the 1x1 head conv, without pooling or classifier.

    Stages follow MMDetection's MobileNetV2: stage ``i`` < number of blocks
    is the output of block ``i``, the last stage is the head conv. For the
    reference's table they are 16, 24, 40, 80, 96, 192, 320 and 1280 channels
    at strides 2, 4, 8, 16, 16, 32, 32, 32; SSDLite taps stages 4 and 7
    (stride 16 and the head), as it taps MobileNetV2. A stride-2 layer maps H
    to ceil(H / 2), so every input size works, odd ones included.

    Args:
        arch: a published name (``'SPNAS_Pixel1'``), an ``architecture.json``
            (a search's result), a dict or an :class:`Architecture`.
        width_mult: override the architecture's width multiplier.
        out_indices: stages to return.
        frozen_stages: -1 freezes nothing, 0 the stem, ``i`` the stem and
            blocks 0..i-1 (MMDetection's MobileNetV2 convention); the number
            of stages freezes the head conv too.
        norm_eval: keep BN layers in eval mode while training.
        norm_cfg, act_cfg: BN (default momentum 0.01, eps 1e-3, the
            reference's) and activation (ReLU).
        init_cfg: e.g. ``dict(type='Pretrained', checkpoint=..., prefix='backbone.')``
            from a :class:`SinglePathClassifier` checkpoint; without one the
            reference's initialisation.
    """

    def __init__(self,
                 arch: ArchitectureSpec = 'SPNAS_Pixel1',
                 width_mult: Optional[float] = None,
                 out_indices: Sequence[int] = (1, 2, 4, 7),
                 frozen_stages: int = -1,
                 norm_eval: bool = False,
                 norm_cfg: Optional[dict] = None,
                 act_cfg: Optional[dict] = DEFAULT_ACT,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.arch: Architecture = load_architecture(arch)
        if width_mult is not None and width_mult != self.arch.width_mult:
            self.arch = Architecture(self.arch.blocks, self.arch.choices, width_mult,
                                     self.arch.stem_channels, self.arch.head_channels,
                                     source=self.arch.source)
        layout = self.arch.layout
        self.stem = ConvBNAct(3, layout.stem_out, 3, 2, norm_cfg=norm_cfg, act_cfg=act_cfg)
        blocks = [nn.Sequential() for _ in layout.blocks]
        for spec, choice in self.arch.layers():
            # A skipped layer stays as an identity, so module names follow the file's layers.
            blocks[spec.block].append(
                nn.Identity() if choice.skip else
                MBConv(spec.in_channels, spec.out_channels, choice.kernel, choice.expansion,
                       spec.stride, spec.residual, norm_cfg, act_cfg))
        self.blocks = nn.ModuleList(blocks)
        self.head = ConvBNAct(layout.layers[-1].out_channels, layout.head_out, 1,
                              norm_cfg=norm_cfg, act_cfg=act_cfg)
        self.num_stages = layout.num_stages
        self.out_channels = list(layout.block_out) + [layout.head_out]
        self.strides = list(layout.stage_strides)
        out_indices = tuple(out_indices)
        if not out_indices:
            raise ValueError('SinglePathBackbone: out_indices is empty')
        for i in out_indices:
            if isinstance(i, bool) or not isinstance(i, int) or not 0 <= i < self.num_stages:
                raise ValueError(f'SinglePathBackbone: out_indices: stage {i!r} does not exist '
                                 f'(0..{self.num_stages - 1}: blocks, then the head conv)')
        if not -1 <= frozen_stages <= self.num_stages:
            raise ValueError(f'SinglePathBackbone: frozen_stages must be in -1..{self.num_stages}, '
                             f'got {frozen_stages}')
        self.out_indices = out_indices
        self.frozen_stages = frozen_stages
        self.norm_eval = norm_eval
        reference_init(self)
        self._freeze_stages()

    def architecture_options(self) -> dict:
        """The option that rebuilds this network (recorded in training checkpoints, engine/checkpoints.py)."""
        return {'arch': self.arch.to_dict()}

    def init_weights(self) -> None:
        if self.init_cfg is None:
            reference_init(self)  # mmengine's recursion would not know this network's init
            self._is_init = True
        else:
            super().init_weights()

    # ------------------------------------------------------------------ state
    def _frozen_modules(self) -> list[nn.Module]:
        # FrozenStagesMixin freezes these (and keeps BN in eval mode with norm_eval)
        if self.frozen_stages < 0:
            return []
        mods: list[nn.Module] = [self.stem] + list(self.blocks[:self.frozen_stages])
        if self.frozen_stages == self.num_stages:
            mods.append(self.head)
        return mods

    # ---------------------------------------------------------------- forward
    def forward_stages(self, x: torch.Tensor, last: Optional[int] = None) -> list[torch.Tensor]:
        """The stages' outputs (blocks, then the head conv), up to stage ``last`` (default all)."""
        if x.dim() != 4 or x.size(1) != 3:
            raise ValueError(f'SinglePathBackbone: expected a (N, 3, H, W) image batch, '
                             f'got shape {tuple(x.shape)}')
        last = self.num_stages - 1 if last is None else last
        x = self.stem(x)
        outs = []
        for block in self.blocks[:last + 1]:
            x = block(x)
            outs.append(x)
        if last == self.num_stages - 1:
            outs.append(self.head(x))
        return outs

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        stages = self.forward_stages(x, max(self.out_indices))
        return tuple(stages[i] for i in self.out_indices)
