"""The expected-cost term of hardware-aware search (Single-Path NAS' idea, for any space).

A space states the cost of each candidate choice (multiply-adds, or measured
seconds from a :class:`~nas_backbones.core.latency.LatencyTable`) and how
its architecture parameters weight them (:meth:`ExpectedCost.expected`).
The term added to the architecture loss is
``weight * expected / expected_at_uniform_weights``, so ``weight`` is
unitless. The tables are computed on rank 0 and shared, so every rank
optimises the same loss even when measured latencies differ between ranks.

``reference_steps=N`` says ``weight`` is meant for a search of N architecture
steps: a search that takes T steps (``SearchLoop``'s ``arch_steps_planned``)
uses ``weight * N / T``. Adam moves each architecture parameter by about its
learning rate per step in the direction of the consistent part of its
gradient, so a constant pull adds up linearly with the steps while the
noise grows with their square root: a weight that nudges an 18-step search
decides a 96-step one (``docs/search_quality.md``). Scaled by N / T, the
pull's total over the search stays what ``weight`` gives in N steps, and a
longer search lets the task's own consistent gradient, which grows with T,
outweigh it. None (the default): the weight as given, whatever the length.
"""
from __future__ import annotations

from typing import Any, Callable, Optional

import torch
import torch.nn as nn
from mmengine.dist import broadcast_object_list, get_rank, get_world_size
from mmengine.logging import MessageHub

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
                 predictor: Optional[str] = None, reference_steps: Optional[int] = None) -> None:
        super().__init__()
        if weight < 0:
            raise ValueError(f'cost weight must be >= 0, got {weight}')
        if reference_steps is not None and (isinstance(reference_steps, bool)
                                            or not isinstance(reference_steps, int)
                                            or reference_steps < 1):
            raise ValueError(f'cost.reference_steps must be None or an integer >= 1, '
                             f'got {reference_steps!r}')
        self.reference_steps = reference_steps
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

    def current_weight(self) -> float:
        """``weight``, or ``weight * reference_steps / architecture steps of the search``."""
        if self.reference_steps is None:
            return self.weight
        planned = MessageHub.get_current_instance().get_info('arch_steps_planned')
        if not planned:
            raise RuntimeError(
                'cost.reference_steps scales the weight by the number of architecture steps of the '
                'search, which SearchLoop states when it starts (arch_steps_planned); this search '
                'has none: run it with train_cfg.type=SearchLoop, or set cost.reference_steps=None')
        return self.weight * self.reference_steps / planned

    def forward(self, arch: nn.Module) -> torch.Tensor:
        return self.current_weight() * self.expected(arch) / self.normalizer
