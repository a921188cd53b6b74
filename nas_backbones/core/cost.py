"""The expected-cost term of hardware-aware search (Single-Path NAS' idea, for any space).

A space states the cost of each candidate choice (multiply-adds, or measured
seconds from a :class:`~nas_backbones.core.latency.LatencyTable`) and how
its architecture parameters weight them (:meth:`ExpectedCost.expected`).
The term added to the architecture loss is
``weight * expected / expected_at_uniform_weights``, so ``weight`` is
unitless. The tables are computed on rank 0 and shared, so every rank
optimises the same loss even when measured latencies differ between ranks.
"""
from __future__ import annotations

from typing import Any, Callable, Optional

import torch
import torch.nn as nn
from mmengine.dist import broadcast_object_list, get_rank, get_world_size

from .latency import LatencyTable

METRICS = ('flops', 'latency', 'predictor')


def shared_from_rank0(compute: Callable[[], Any]) -> Any:
    """``compute()`` on rank 0, broadcast to every rank (a plain call when not distributed)."""
    value = compute() if get_rank() == 0 else None
    if get_world_size() > 1:
        box = [value]
        broadcast_object_list(box, src=0)
        value = box[0]
    return value


class ExpectedCost(nn.Module):
    """Base of a space's cost term: validation, the latency table, normalisation at uniform weights.

    Subclasses compute their cost tables in ``__init__`` (through
    :meth:`measure`), then call :meth:`set_normalizer`, and implement
    :meth:`expected` (a differentiable function of the architecture
    parameters) and :meth:`expected_uniform`.
    """

    def __init__(self, weight: float = 0.1, metric: str = 'flops', device: str = 'cpu',
                 batch: int = 1, latency_table: Optional[str] = None,
                 predictor: Optional[str] = None) -> None:
        super().__init__()
        if weight < 0:
            raise ValueError(f'cost weight must be >= 0, got {weight}')
        if metric not in METRICS:
            raise ValueError(f'cost metric must be one of {METRICS}, got {metric!r}')
        if (metric == 'predictor') != (predictor is not None):
            raise ValueError("cost: metric='predictor' takes a predictor file (predictor=PATH), "
                             f"and only it does (metric={metric!r}, predictor={predictor!r})")
        self.predictor_path = predictor
        self.weight = weight
        self.metric = metric
        self.table = LatencyTable(latency_table, device, batch) if metric == 'latency' else None
        self.measured = 0  # blocks timed by this run (latency)
        self.normalizer = 1.

    def measure(self, compute: Callable[[], Any]) -> Any:
        """Run ``compute`` (which fills the tables) on rank 0, share the result, save the latency table."""
        value = shared_from_rank0(compute)
        if self.table is not None and get_rank() == 0:
            self.table.save()
            self.measured = self.table.measured
        return value

    def set_normalizer(self) -> None:
        with torch.no_grad():
            self.normalizer = float(self.expected_uniform())

    def expected(self, arch: nn.Module) -> torch.Tensor:
        raise NotImplementedError

    def expected_uniform(self) -> torch.Tensor:
        raise NotImplementedError

    def forward(self, arch: nn.Module) -> torch.Tensor:
        return self.weight * self.expected(arch) / self.normalizer
