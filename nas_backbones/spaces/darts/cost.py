"""The DARTS space's cost tables: every candidate op on every edge, as the derived network has it.

Each op is costed at full width with affine BN, at its edge's resolution:
``metric='flops'`` counts its multiply-adds once with mmengine's
FlopAnalyzer; ``metric='latency'`` times it on a device
(:class:`~nas_backbones.core.latency.LatencyTable`, kept in a JSON file).
``metric='predictor'`` has no table: the soft weights' encoding
(:mod:`~nas_backbones.spaces.darts.encoding`) goes through a learned
:class:`~nas_backbones.core.predictor.LatencyPredictor`, which predicts
the whole network's seconds (the network in the predictor's file).

The expected cost of a cell is ``sum_e 2*beta_e * sum_o softmax(alpha_e)_o * cost_eo``:
each node keeps two edges, and beta is softmaxed over the node's edges
(uniform without edge normalization). Normalisation and sharing across
ranks are the core's (:class:`~nas_backbones.core.cost.ExpectedCost`).
"""
from __future__ import annotations

import math
from typing import Callable, Optional, Sequence, Union

import torch
import torch.nn as nn
from mmengine.analysis import FlopAnalyzer

from ...core.cost import ExpectedCost
from ...core.latency import LatencyTable, register_latency_table, time_module
from ...core.predictor import LatencyPredictor, PredictorError
from .encoding import DartsEncoding, macro_values
from .ops import build_op
from .topology import cell_edges, node_edge_ranges


def op_macs(name: str, C: int, stride: int, size: tuple[int, int]) -> int:
    if name == 'none':
        return 0
    op = build_op(name, C, stride, affine=True).eval()
    if not any(True for _ in op.parameters()):
        return 0  # pools and identity: no multiply-adds
    x = torch.zeros(1, C, *size)
    return int(FlopAnalyzer(op, (x,)).unsupported_ops_warnings(False)
               .uncalled_modules_warnings(False).total())


def op_latency(name: str, C: int, stride: int, size: tuple[int, int], device: str = 'cpu',
               batch: int = 1, repeats: int = 20) -> float:
    """Median seconds of one inference call of the op (eval mode), after a warm-up."""
    if name == 'none':
        return 0.
    return time_module(build_op(name, C, stride, affine=True), (C, *size), device, batch, repeats)


def latency_key(name: str, C: int, stride: int, size: tuple[int, int]) -> str:
    return f'{name}|C={C}|stride={stride}|{size[0]}x{size[1]}'


def table_op_cost(table: LatencyTable) -> Callable[[str, int, int, tuple[int, int]], float]:
    def cost(name: str, C: int, stride: int, size: tuple[int, int]) -> float:
        if name == 'none':
            return 0.
        return table.get(latency_key(name, C, stride, size),
                         lambda: build_op(name, C, stride, affine=True), (C, *size))
    return cost


def edge_cost_tables(supernet: nn.Module, input_size: Union[int, Sequence[int]],
                     op_cost: Callable) -> dict[bool, list]:
    """Per cell kind, per cell: the (edges, ops) cost table of ``supernet`` at ``input_size``."""
    h, w = (input_size, input_size) if isinstance(input_size, int) else tuple(input_size)
    down = supernet.stem.strides[1]  # the stride the first cell works at
    h, w = math.ceil(h / down), math.ceil(w / down)
    cache: dict = {}
    tables: dict = {False: [], True: []}
    for spec in supernet.plan:
        table = []
        for e in cell_edges(supernet.steps, spec.reduction):
            # Stride-1 edges of a reduction cell work at its output resolution.
            size = (h, w) if e.stride == 2 or not spec.reduction else (math.ceil(h / 2), math.ceil(w / 2))
            row = []
            for p in supernet.primitives:
                key = (p, spec.C, e.stride, size)
                if key not in cache:
                    cache[key] = op_cost(p, spec.C, e.stride, size)
                row.append(float(cache[key]))
            table.append(row)
        tables[spec.reduction].append(table)
        if spec.reduction:
            h, w = math.ceil(h / 2), math.ceil(w / 2)
    return tables


class ResourceCost(ExpectedCost):
    """The architecture-loss term: ``weight`` times the expected cells' cost, normalised at uniform weights.

    Args:
        supernet: the :class:`PCDartsSupernet` whose edges are costed.
        weight: the term's weight (0: plain (PC-)DARTS).
        input_size: the image size the costs are taken at (tables; default 224).
            With a predictor: the input size of the predicted network
            (``macro``'s, default the predictor file's), checked against the
            sizes the predictor was measured at.
        metric: ``'flops'`` (multiply-adds), ``'latency'`` (measured
            seconds, summed over the cells' ops) or ``'predictor'`` (a
            learned predictor's seconds for the whole network).
        device, batch: latency only: where and at which batch the ops are timed.
        latency_table: latency only: a JSON file of per-op latencies, read if
            present and completed with what was measured (under distributed
            search, rank 0 measures and the ranks share its table).
        predictor: predictor only: the file ``tools/analysis/latency_predictor.py`` wrote.
        macro: predictor only: the network whose latency is predicted,
            ``dict(C=..., input_size=..., stage_cells=[...])`` (normal cells
            per stage); default: the network in the predictor's file.
        reference_steps: the weight is for a search of this many architecture
            steps; a longer or shorter one scales it by reference_steps / its
            steps (:class:`~nas_backbones.core.cost.ExpectedCost`). None: as given.
    """

    def __init__(self, supernet: nn.Module, weight: float = 0.1,
                 input_size: Union[int, Sequence[int], None] = None, metric: str = 'flops',
                 device: str = 'cpu', batch: int = 1, latency_table: Optional[str] = None,
                 predictor: Optional[str] = None, macro: Optional[dict] = None,
                 reference_steps: Optional[int] = None) -> None:
        super().__init__(weight, metric, device, batch, latency_table, predictor, reference_steps)
        self.steps = supernet.steps
        if metric == 'predictor':
            self._init_predictor(supernet, predictor, macro, input_size)
        else:
            input_size = 224 if input_size is None else input_size
            if macro is not None:
                raise ValueError("cost: macro is for metric='predictor' only")
            op_cost = op_macs if self.table is None else table_op_cost(self.table)
            costs = self.measure(lambda: edge_cost_tables(supernet, input_size, op_cost))
            # Cells of a kind share alpha/beta, so their tables add up.
            self.register_buffer('cost_normal', torch.tensor(costs[False]).sum(0), persistent=False)
            self.register_buffer('cost_reduce', torch.tensor(costs[True]).sum(0), persistent=False)
        self.set_normalizer()

    def _init_predictor(self, supernet: nn.Module, path: str, macro: Optional[dict],
                        input_size: Union[int, Sequence[int], None] = None) -> None:
        stages = 1 + sum(spec.reduction for spec in supernet.plan)
        model = LatencyPredictor.load(path).requires_grad_(False)
        self.encoding = DartsEncoding(supernet.steps, supernet.primitives, stages,
                                      per_edge=model.encoding.get('per_edge') is True)
        model.check_encoding(self.encoding.spec())
        # A plain attribute, not a submodule: its weights are neither searched nor checkpointed.
        self._predictor = [model]
        given = macro is not None
        macro = dict(self._predictor[0].meta.get('macro') or {}) if macro is None else dict(macro)
        if input_size is not None:
            size = input_size if isinstance(input_size, int) else tuple(input_size)
            if not isinstance(size, int):
                if len(set(size)) != 1:
                    raise PredictorError(f'cost: input_size {list(size)}: the latency predictor '
                                         'predicts square inputs')
                size = size[0]
            if given and 'input_size' in macro and macro['input_size'] != size:
                raise PredictorError(f'cost: input_size={size}, but macro.input_size='
                                     f'{macro["input_size"]}: give one of them')
            macro['input_size'] = size
        missing = [k for k in ('C', 'input_size', 'stage_cells') if k not in macro]
        if missing:
            raise PredictorError(f'cost: the network to predict needs {missing}: give '
                                 f'macro=dict(C=..., input_size=..., stage_cells=[...]) '
                                 f'(latency predictor {path} names no single network)')
        if len(macro['stage_cells']) != stages:
            raise PredictorError(f'cost: macro.stage_cells {list(macro["stage_cells"])} must give '
                                 f'the normal cells of {stages} stages')
        self._predictor[0].check_within(macro_values(macro), 'cost: macro')
        self.macro = macro

    @property
    def predictor(self) -> Optional[LatencyPredictor]:
        return self._predictor[0] if self.metric == 'predictor' else None

    def _predicted(self, blocks: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
        model = self._predictor[0]
        if model.x_mean.device != blocks[0].device:
            model.to(blocks[0].device)
        feats = self.encoding.features([blocks] * self.encoding.stages, self.macro['C'],
                                       self.macro['input_size'], self.macro['stage_cells'])
        return model(feats)

    def _node_edge_weights(self, edge_weights: Optional[torch.Tensor]) -> torch.Tensor:
        if edge_weights is not None:
            return 2 * edge_weights
        return torch.cat([torch.full((n,), 2. / n) for _, n in node_edge_ranges(self.steps)])

    def expected_uniform(self) -> torch.Tensor:
        if self.metric == 'predictor':
            O = len(self.encoding.primitives)
            uniform = self.encoding.soft_block(torch.full((self.encoding.edges, O), 1. / O), None)
            return self._predicted((uniform, uniform))
        total = 0.
        for cost in (self.cost_normal, self.cost_reduce):
            p = torch.full_like(cost, 1. / cost.size(1))
            total = total + (self._node_edge_weights(None)[:, None] * p * cost).sum()
        return total

    def expected(self, arch) -> torch.Tensor:
        """The expected cells' cost under the current alpha/beta (multiply-adds or seconds);
        the predicted network seconds for ``metric='predictor'``."""
        if self.metric == 'predictor':
            return self._predicted(tuple(self.encoding.soft_block(arch.op_weights(r), arch.edge_weights(r))
                                         for r in (False, True)))
        total = 0.
        for reduction, cost in ((False, self.cost_normal), (True, self.cost_reduce)):
            ew = self._node_edge_weights(arch.edge_weights(reduction)).to(cost)
            total = total + (ew[:, None] * arch.op_weights(reduction) * cost).sum()
        return total


@register_latency_table('PCDartsSearchBackbone', 'DartsClassifierSpace')
def latency_table(cfg, out: str, device: str, batch: int, input_size: Optional[int], source: str) -> str:
    """Every op of a cell search's trunk (its width, cells and op vocabulary) at ``input_size``
    (default: the config's cost input size, else 224), completed into the table ``out``."""
    import json

    from mmdet.registry import MODELS

    from ...core.model_space import searched_trunk
    kind, trunk, cost_cfg, _ = searched_trunk(cfg)
    if kind == 'DartsClassifierSpace':  # the deprecated layout: the supernet's own config
        supernet = MODELS.build(trunk)
    else:  # the searchable backbone: the trunk alone
        supernet = MODELS.build({k: v for k, v in trunk.items() if k != 'num_classes'})
    size = input_size or cost_cfg.get('input_size', 224)
    cost = ResourceCost(supernet, weight=0., input_size=size, metric='latency', device=device,
                        batch=batch, latency_table=out)
    with open(out) as f:
        entries = json.load(f)['entries']
    return (f'{out}: {len(entries)} ops ({cost.measured} measured now) on {device}, '
            f'batch {batch}, input {size}; expected cells at uniform alpha/beta: '
            f'{cost.normalizer * 1e3:.3f} ms')
