"""A differentiable resource cost for hardware-aware search (the expected-cost idea of Single-Path NAS).

Every candidate op on every edge has a fixed cost, for the op as the derived
network has it (full width, affine BN, at that edge's resolution):

- ``metric='flops'``: its multiply-adds, counted once with mmengine's FlopAnalyzer;
- ``metric='latency'``: its measured inference time on a device, FBNet-style
  (a lookup table of per-op latencies; ``latency_table`` keeps the table in a
  JSON file, so a search measures only what is not there yet and a table
  measured on the deployment device can be brought along).

The expected cost of a cell is ``sum_e 2*beta_e * sum_o softmax(alpha_e)_o * cost_eo``:
each node keeps two edges, and beta is softmaxed over the node's edges
(uniform without edge normalization). The term added to the architecture loss
is ``weight * expected / expected_at_uniform_weights``, so ``weight`` is unitless.
"""
from __future__ import annotations

import json
import math
import os
import statistics
import time
from typing import Callable, Optional, Sequence, Union

import torch
import torch.nn as nn
from mmengine.analysis import FlopAnalyzer
from mmengine.dist import broadcast_object_list, get_rank, get_world_size

from ..space.ops import build_op
from ..utils.io import atomic_write_text

METRICS = ('flops', 'latency')
LATENCY_TABLE_FORMAT = 'nas_backbones.latency/1'


def op_macs(name: str, C: int, stride: int, size: tuple[int, int]) -> int:
    if name == 'none':
        return 0
    op = build_op(name, C, stride, affine=True).eval()
    if not any(True for _ in op.parameters()):
        return 0  # pools and identity: no multiply-adds
    x = torch.zeros(1, C, *size)
    return int(FlopAnalyzer(op, (x,)).unsupported_ops_warnings(False)
               .uncalled_modules_warnings(False).total())


@torch.no_grad()
def op_latency(name: str, C: int, stride: int, size: tuple[int, int], device: str = 'cpu',
               batch: int = 1, repeats: int = 20) -> float:
    """Median seconds of one inference call of the op (eval mode), after a warm-up."""
    if name == 'none':
        return 0.
    op = build_op(name, C, stride, affine=True).eval().to(device)
    x = torch.randn(batch, C, *size, device=device)
    sync = torch.cuda.synchronize if device.startswith('cuda') else (lambda: None)
    for _ in range(3):
        op(x)
    times = []
    for _ in range(repeats):
        sync()
        t0 = time.perf_counter()
        op(x)
        sync()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def _latency_key(name: str, C: int, stride: int, size: tuple[int, int]) -> str:
    return f'{name}|C={C}|stride={stride}|{size[0]}x{size[1]}'


class LatencyTable:
    """Per-op latencies for one device and batch, measured once and kept in a JSON file."""

    def __init__(self, path: Optional[str], device: str, batch: int) -> None:
        self.path, self.device, self.batch = path, device, batch
        self.entries: dict[str, float] = {}
        self.measured = 0
        if path and os.path.isfile(path):
            with open(path) as f:
                try:
                    data = json.load(f)
                except json.JSONDecodeError as e:
                    raise ValueError(f'latency table {path}: not valid JSON ({e})') from None
            fmt = data.get('format') if isinstance(data, dict) else type(data).__name__
            if fmt != LATENCY_TABLE_FORMAT:
                raise ValueError(f'latency table {path}: format {fmt!r}, expected {LATENCY_TABLE_FORMAT!r}')
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
            self.entries = {str(k): float(v) for k, v in data['entries'].items()}

    def __call__(self, name: str, C: int, stride: int, size: tuple[int, int]) -> float:
        key = _latency_key(name, C, stride, size)
        if key not in self.entries:
            if self.device.split(':')[0] not in ('cpu', 'cuda'):
                raise KeyError(f'latency table {self.path} has no entry {key!r}, and device '
                               f'{self.device!r} cannot be measured here: add it to the table')
            self.entries[key] = op_latency(name, C, stride, size, self.device, self.batch)
            self.measured += 1
        return self.entries[key]

    def save(self) -> None:
        if self.path and self.measured:
            atomic_write_text(self.path, json.dumps(dict(
                format=LATENCY_TABLE_FORMAT, device=self.device, batch=self.batch,
                unit='seconds', entries=dict(sorted(self.entries.items()))), indent=1) + '\n')


class ResourceCost(nn.Module):
    """The architecture-loss term: ``weight`` times the expected cost, normalised at uniform weights.

    Args:
        supernet: the :class:`PCDartsSupernet` whose edges are costed.
        weight: the term's weight (0: plain (PC-)DARTS).
        input_size: the image size the costs are taken at.
        metric: ``'flops'`` (multiply-adds) or ``'latency'`` (measured seconds).
        device, batch: latency only: where and at which batch the ops are timed.
        latency_table: latency only: a JSON file of per-op latencies, read if
            present and completed with what was measured (under distributed
            search, rank 0 measures and the ranks share its table).
    """

    def __init__(self, supernet: nn.Module, weight: float = 0.1,
                 input_size: Union[int, Sequence[int]] = 224, metric: str = 'flops',
                 device: str = 'cpu', batch: int = 1, latency_table: Optional[str] = None) -> None:
        super().__init__()
        if weight < 0:
            raise ValueError(f'cost weight must be >= 0, got {weight}')
        if metric not in METRICS:
            raise ValueError(f'cost metric must be one of {METRICS}, got {metric!r}')
        self.weight = weight
        self.metric = metric
        if metric == 'flops':
            op_cost: Callable = op_macs
            table = None
        else:
            table = LatencyTable(latency_table, device, batch)
            op_cost = table
        costs = self._tables(supernet, input_size, op_cost) if get_rank() == 0 else None
        if get_world_size() > 1:  # one measurement, shared: every rank must optimise the same loss
            shared = [costs]
            broadcast_object_list(shared, src=0)
            costs = shared[0]
        if table is not None and get_rank() == 0:
            table.save()
        self.measured = table.measured if table is not None else 0  # ops timed now (latency)
        # Cells of a kind share alpha/beta, so their tables add up.
        self.register_buffer('cost_normal', torch.tensor(costs[False]).sum(0), persistent=False)
        self.register_buffer('cost_reduce', torch.tensor(costs[True]).sum(0), persistent=False)
        self.steps = supernet.steps
        with torch.no_grad():
            self.normalizer = float(self._uniform())

    @staticmethod
    def _tables(supernet: nn.Module, input_size, op_cost: Callable) -> dict:
        """Per cell kind, per cell: the (edges, ops) cost table."""
        h, w = (input_size, input_size) if isinstance(input_size, int) else tuple(input_size)
        down = 8 if supernet.stem_type == 'imagenet' else 1
        h, w = math.ceil(h / down), math.ceil(w / down)
        steps, prims = supernet.steps, supernet.primitives
        cache: dict = {}
        tables: dict = {False: [], True: []}
        for cell in supernet.cells:
            C = cell.preprocess1[1].out_channels
            table = []
            for i in range(steps):
                for j in range(2 + i):
                    stride = 2 if cell.reduction and j < 2 else 1
                    size = (h, w) if stride == 2 or not cell.reduction else (math.ceil(h / 2), math.ceil(w / 2))
                    row = []
                    for p in prims:
                        key = (p, C, stride, size)
                        if key not in cache:
                            cache[key] = op_cost(p, C, stride, size)
                        row.append(float(cache[key]))
                    table.append(row)
            tables[cell.reduction].append(table)
            if cell.reduction:
                h, w = math.ceil(h / 2), math.ceil(w / 2)
        return tables

    def _node_edge_weights(self, edge_weights):
        if edge_weights is not None:
            return 2 * edge_weights
        return torch.cat([torch.full((2 + i,), 2. / (2 + i)) for i in range(self.steps)])

    def _uniform(self) -> torch.Tensor:
        total = 0.
        for cost in (self.cost_normal, self.cost_reduce):
            p = torch.full_like(cost, 1. / cost.size(1))
            total = total + (self._node_edge_weights(None)[:, None] * p * cost).sum()
        return total

    def expected(self, arch) -> torch.Tensor:
        """The expected cells' cost under the current alpha/beta (multiply-adds or seconds)."""
        total = 0.
        for reduction, cost in ((False, self.cost_normal), (True, self.cost_reduce)):
            ew = self._node_edge_weights(arch.edge_weights(reduction)).to(cost)
            total = total + (ew[:, None] * arch.op_weights(reduction) * cost).sum()
        return total

    def forward(self, arch) -> torch.Tensor:
        return self.weight * self.expected(arch) / self.normalizer
