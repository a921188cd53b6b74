"""``frozen_stages`` and ``norm_eval`` of a detection backbone, the way MMDetection's backbones do it.

MMDetection (ResNet, MobileNetV2, ...) writes ``_freeze_stages`` and a ``train()`` override into each
backbone class; this is that pair once, for any backbone that says which modules are frozen.
"""
from __future__ import annotations

import torch.nn as nn


class FrozenStagesMixin:
    """``_freeze_stages()`` and ``train()`` for an ``nn.Module`` with ``norm_eval`` and ``_frozen_modules()``.

    Put it before the module class (``class B(FrozenStagesMixin, BaseModule)``) and call
    ``self._freeze_stages()`` at the end of ``__init__``. The frozen modules stay in eval mode
    with ``requires_grad=False``; with ``norm_eval`` every BatchNorm stays in eval mode while
    training. Adds no parameters, buffers or submodules.
    """

    norm_eval: bool

    def _frozen_modules(self) -> list[nn.Module]:
        """The modules that ``frozen_stages`` freezes."""
        raise NotImplementedError

    def _freeze_stages(self) -> None:
        for m in self._frozen_modules():
            m.eval()
            for p in m.parameters():
                p.requires_grad = False

    def train(self, mode: bool = True):
        super().train(mode)
        self._freeze_stages()
        if mode and self.norm_eval:
            for m in self.modules():
                if isinstance(m, nn.modules.batchnorm._BatchNorm):
                    m.eval()
        return self
