"""A Runner that accepts mmdet's dataloader defaults with ``num_workers=0``."""
from __future__ import annotations

from typing import Dict, Optional, Union

# The root registry, not mmdet's: mmdet's tools/train.py looks `runner_type` up
# there before any default scope exists, and tools/test.py looks in mmdet's
# registry, which falls back to its parent only for unscoped names. So
# `runner_type='NASRunner'` works in both ('mmdet.NASRunner' fails in tools/test.py).
from mmengine.registry import RUNNERS
from mmengine.runner import Runner
from torch.utils.data import DataLoader


@RUNNERS.register_module()
class NASRunner(Runner):
    """``Runner`` whose dataloaders turn ``persistent_workers`` off when ``num_workers=0``.

    mmdet's dataset configs set ``persistent_workers=True``; torch's DataLoader
    raises on that when ``num_workers=0`` (the usual setting on a small CPU
    machine or when debugging). Select it with ``runner_type='NASRunner'``;
    mmdet's own ``tools/train.py`` and ``tools/test.py`` build it too.
    """

    @staticmethod
    def build_dataloader(dataloader: Union[DataLoader, Dict],
                         seed: Optional[int] = None,
                         diff_rank_seed: bool = False) -> DataLoader:
        if isinstance(dataloader, dict):
            dataloader = dict(dataloader)  # shallow: the caller's config stays as it was
            if not dataloader.get('num_workers', 0):
                # Workers that do not exist cannot persist.
                dataloader['persistent_workers'] = False
        return Runner.build_dataloader(dataloader, seed=seed, diff_rank_seed=diff_rank_seed)
