"""Measured latencies of building blocks, kept in a JSON lookup table (FBNet-style).

A space names each block it can cost by a string key (e.g.
``sep_conv_3x3|C=16|stride=1|28x28``) and says how to build it; the table
times what it does not hold yet, on ``device`` at ``batch``, and writes
itself back atomically, so a table measured on the deployment device can be
brought along and a search measures only what is missing. Each family registers how a
config's network is measured into a table (:func:`register_latency_table`), for
``tools/analysis/latency_table.py``.
"""
from __future__ import annotations

import os
import statistics
import time
from typing import Callable, Optional, Sequence

import torch
import torch.nn as nn

from ..utils.result_file import check_format, read_json, write_json

LATENCY_TABLE_FORMAT = 'nas_backbones.latency/1'


@torch.no_grad()
def time_module(module: nn.Module, input_shape: Sequence[int], device: str = 'cpu',
                batch: int = 1, repeats: int = 20,
                timer: Callable[[], float] = time.perf_counter) -> float:
    """Median seconds of one inference call of ``module`` (eval mode) on a random
    ``(batch, *input_shape)`` input, after a warm-up.

    ``timer``: the wall clock by default; ``time.process_time`` measures the CPU time
    of this process instead, which on a shared machine leaves out the time the
    neighbours took (one intra-op thread: it is the uncontended wall time)."""
    module = module.eval().to(device)
    x = torch.randn(batch, *input_shape, device=device)
    sync = torch.cuda.synchronize if device.startswith('cuda') else (lambda: None)
    for _ in range(3):
        module(x)
    times = []
    for _ in range(repeats):
        sync()
        t0 = timer()
        module(x)
        sync()
        times.append(timer() - t0)
    return statistics.median(times)


class LatencyTable:
    """Per-block latencies for one device and batch, measured once and kept in a JSON file."""

    def __init__(self, path: Optional[str], device: str, batch: int) -> None:
        self.path, self.device, self.batch = path, device, batch
        self.entries: dict[str, float] = {}
        self.measured = 0
        if path and os.path.isfile(path):
            self.entries = self._read(path, device, batch)

    @staticmethod
    def _read(path: str, device: str, batch: int) -> dict[str, float]:
        data = check_format(read_json(path, 'latency table'), LATENCY_TABLE_FORMAT,
                            f'latency table {path}')
        for field, want in (('device', device), ('batch', batch)):
            if data.get(field) != want:
                raise ValueError(f'latency table {path} was measured with {field}='
                                 f'{data.get(field)!r}, this search asks for {field}={want!r}')
        if not isinstance(data.get('entries'), dict):
            raise ValueError(f'latency table {path}: "entries" must be an object of seconds per op')
        bad = [k for k, v in data['entries'].items()
               if isinstance(v, bool) or not isinstance(v, (int, float)) or v < 0]
        if bad:
            raise ValueError(f'latency table {path}: entries must be seconds >= 0, '
                             f'not {bad[0]!r}: {data["entries"][bad[0]]!r}')
        return {str(k): float(v) for k, v in data['entries'].items()}

    def get(self, key: str, build: Callable[[], nn.Module], input_shape: Sequence[int]) -> float:
        """The seconds of ``key``; timed now (``build()`` on a ``(batch, *input_shape)`` input) if absent."""
        if key not in self.entries:
            if self.device.split(':')[0] not in ('cpu', 'cuda'):
                raise KeyError(f'latency table {self.path} has no entry {key!r}, and device '
                               f'{self.device!r} cannot be measured here: add it to the table')
            self.entries[key] = time_module(build(), input_shape, self.device, self.batch)
            self.measured += 1
        return self.entries[key]

    def save(self) -> None:
        if self.path and self.measured:
            write_json(self.path, dict(
                format=LATENCY_TABLE_FORMAT, device=self.device, batch=self.batch,
                unit='seconds', entries=dict(sorted(self.entries.items()))))


# ------------------------------------------------------------------ space families
# The searchable backbone's type (``model.space``'s, or a deprecated space's) -> the family's
# function that completes the latency table of a config's network for ``tools/analysis/latency_table.py``:
# ``fn(cfg, out, device, batch, input_size, source) -> one line saying what the table holds``.
LATENCY_TABLE_TASKS: dict[str, Callable[..., str]] = {}


def register_latency_table(*space_types: str) -> Callable:
    """Register ``fn`` as the latency-table measurement for configs of these space types."""
    def wrap(fn: Callable[..., str]) -> Callable[..., str]:
        for t in space_types:
            LATENCY_TABLE_TASKS[t] = fn
        return fn
    return wrap


def measure_latency_table(cfg, out: str, device: str = 'cpu', batch: int = 1,
                          input_size: Optional[int] = None, source: str = 'config') -> str:
    """Measure what ``out`` lacks of the config's network, through its space's family; its summary."""
    from .predictor import space_type_of
    kind = space_type_of(cfg)
    if kind is None:
        raise ValueError(f'{source}: no searchable backbone found (model.space.model.backbone or '
                         'model.space.detector.backbone); this tool measures a search config')
    if kind not in LATENCY_TABLE_TASKS:
        raise ValueError(f'{source}: the latency table knows no searchable backbone {kind!r} '
                         f'(model.space\'s); known: {sorted(LATENCY_TABLE_TASKS)}')
    return LATENCY_TABLE_TASKS[kind](cfg, out, device, batch, input_size, source)
