"""Latencies of the Single-Path pieces (MBConv variants, stem, head) in the project's latency-table JSON."""
from __future__ import annotations

import statistics
import time
from typing import Callable, Optional, Sequence

import torch
import torch.nn as nn

from ...search.cost import LatencyTable


@torch.no_grad()
def time_module(module: nn.Module, shape: Sequence[int], device: str = 'cpu', batch: int = 1,
                repeats: int = 20) -> float:
    """Median seconds of one inference call (eval mode) at ``batch``, after a warm-up."""
    module = module.eval().to(device)
    x = torch.randn(batch, *shape, device=device)
    sync = torch.cuda.synchronize if device.startswith('cuda') else (lambda: None)
    for _ in range(3):
        module(x)
    times = []
    for _ in range(repeats):
        sync()
        t0 = time.perf_counter()
        module(x)
        sync()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


class SinglePathLatency(LatencyTable):
    """A :class:`LatencyTable` whose entries are keyed by this space's pieces."""

    def __init__(self, path: Optional[str], device: str, batch: int) -> None:
        super().__init__(path, device, batch)

    def __call__(self, key: str, factory: Callable[[], nn.Module], shape: Sequence[int]) -> float:
        if key not in self.entries:
            if self.device.split(':')[0] not in ('cpu', 'cuda'):
                raise KeyError(f'latency table {self.path} has no entry {key!r}, and device '
                               f'{self.device!r} cannot be measured here: add it to the table')
            self.entries[key] = time_module(factory(), shape, self.device, self.batch)
            self.measured += 1
        return self.entries[key]
