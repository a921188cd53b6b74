"""Distributed search: the search's train_step routed through DDP so architecture gradients are averaged too."""
from __future__ import annotations

from mmengine.model import MMDistributedDataParallel
from mmengine.registry import MODEL_WRAPPERS  # the runner looks wrappers up in the root registry


@MODEL_WRAPPERS.register_module()
class SearchDDP(MMDistributedDataParallel):
    """``MMDistributedDataParallel`` whose train_step is the search's (one or two forward/backward phases).

    Every phase runs its forward through this wrapper, so DDP averages the
    gradients of the architecture parameters like those of the weights and
    every rank takes the same architecture step. (On CPUs, ``NASRunner``
    builds it with ``device_ids=None``.)
    """

    def train_step(self, data, optim_wrapper):
        return self.module.train_step(data, optim_wrapper, model=self)
