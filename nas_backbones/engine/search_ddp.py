"""Distributed search: the bilevel train_step routed through DDP so alpha/beta gradients are averaged too."""
from __future__ import annotations

from mmdet.registry import MODEL_WRAPPERS
from mmengine.model import MMDistributedDataParallel


@MODEL_WRAPPERS.register_module()
class SearchDDP(MMDistributedDataParallel):
    """``MMDistributedDataParallel`` whose train_step is the search's (two forward/backward phases)."""

    def train_step(self, data, optim_wrapper):
        return self.module.train_step(data, optim_wrapper, model=self)
