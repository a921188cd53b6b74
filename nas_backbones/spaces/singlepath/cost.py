"""The cost of Single-Path NAS: the runtime model (per-layer costs of the four MBConv variants and
the reference's differentiable runtime formula, :class:`RuntimeModel`) and the search's cost term
``lambda * scale * ln R`` (:class:`RuntimeCost`, what the searchable backbone's ``build_cost`` makes).

Per searchable layer ``l`` the costs ``R(k3e3), R(k3e6), R(k5e3), R(k5e6)``
come from a device (``metric='latency'``: the stand-alone MBConv timed at the
layer's input size, kept in a latency-table JSON so a table measured on the
deployment device can be brought along) or from counting
(``metric='flops'``: its multiply-adds). With the layer's indicators::

    R_l = d50c * [R(k5e3) + d100c * (R(k5e6) - R(k5e3))] * [r + (1 - r) * d5x5],
    r   = R(k3e6) / R(k5e6)

and ``R = const + sum_l R_l``, where ``const`` is the cost of everything that
is not searched (stem, fixed layers, head conv, pooling and classifier). The
formula is the reference's: the k3 variants enter only through the ratio r
(so R(k3e3) is estimated as r * R(k5e3); the table still holds it), and a
skipped layer costs 0. Units: milliseconds (latency) or millions of
multiply-adds (FLOPs); the search's ``ln R`` term has the same gradient in any unit.

Named tables shipped with the package (:data:`RUNTIME_TABLES`) are given by
name instead of a path: ``latency_table='pixel1'`` is the reference's Pixel 1
table (TFLite, one thread; the costs the paper's lambda was tuned for), read as
it is and never written. A table may hold one entry for all fixed parts
together (:func:`fixed_key`), which then replaces their sum: that is how a
device table measured as "everything not searched" (the Pixel 1 table's
constant) is kept.

``metric='predictor'`` has no table: ``R`` is a learned
:class:`~nas_backbones.core.predictor.LatencyPredictor`'s milliseconds for the
encoding of the decisions (:mod:`.encoding`, the same relaxed decisions and the
variants weighted as above), for the whole network of the predictor's file
(``tools/analysis/latency_predictor.py`` fits it on measured random architectures).
"""
from __future__ import annotations

import json
import math
import os.path as osp
from typing import TYPE_CHECKING, Callable, Optional, Sequence, Union

import torch
import torch.nn as nn
from mmengine.dist import get_rank

from ...core.cost import shared_from_rank0
from ...core.latency import LatencyTable, register_latency_table
from ...core.predictor import LatencyPredictor
from .layout import VARIANTS, LayerSpec, Layout
from .ops import ConvBNAct, MBConv

if TYPE_CHECKING:
    from .arch import SinglePathArch
    from .supernet import SinglePathTrunk

METRICS = ('flops', 'latency', 'predictor')
UNITS = {'flops': 'M MACs', 'latency': 'ms', 'predictor': 'ms'}
SCALE = {'flops': 1e-6, 'latency': 1e3, 'predictor': 1e3}  # table unit (MACs, seconds) -> reported unit
TABLES_DIR = osp.join(osp.dirname(__file__), 'tables')
# Latency tables shipped with the package, by name (the Single-Path docs page says where each
# comes from: device, source, licence).
RUNTIME_TABLES = {'pixel1': osp.join(TABLES_DIR, 'pixel1.json')}


def expected_runtime(decisions: torch.Tensor, costs: torch.Tensor,
                     const: Union[float, torch.Tensor] = 0.) -> torch.Tensor:
    """``const + sum_l R_l`` for ``decisions`` (layers, 3) = (d5x5, d100c, d50c) rows and
    ``costs`` (layers, 4) = (k3e3, k3e6, k5e3, k5e6) rows."""
    return const + layer_runtimes(decisions, costs).sum()


def layer_runtimes(decisions: torch.Tensor, costs: torch.Tensor) -> torch.Tensor:
    """The reference's per-layer runtime ``R_l`` (layers,)."""
    if decisions.dim() != 2 or decisions.size(1) != 3:
        raise ValueError(f'decisions must be (layers, 3), got {tuple(decisions.shape)}')
    if costs.shape != (decisions.size(0), len(VARIANTS)):
        raise ValueError(f'costs must be ({decisions.size(0)}, {len(VARIANTS)}) for '
                         f'{decisions.size(0)} layers, got {tuple(costs.shape)}')
    costs = costs.to(decisions)
    _, k3e6, k5e3, k5e6 = costs.unbind(1)
    d5, d100, d50 = decisions.unbind(1)
    r = k3e6 / k5e6
    return d50 * (k5e3 + d100 * (k5e6 - k5e3)) * (r + (1 - r) * d5)


# ------------------------------------------------------------------ the pieces
def _sizes(layout: Layout, input_size: Sequence[int]) -> list[tuple[int, int]]:
    """The input size of every layer (the stem halves the image, stride 2 rounds up)."""
    h, w = math.ceil(input_size[0] / 2), math.ceil(input_size[1] / 2)
    sizes = []
    for spec in layout.layers:
        sizes.append((h, w))
        if spec.stride == 2:
            h, w = math.ceil(h / 2), math.ceil(w / 2)
    return sizes + [(h, w)]  # the head's input


def variant_key(spec: LayerSpec, kernel: int, expansion: int, size: tuple[int, int]) -> str:
    return (f'singlepath.mbconv|in={spec.in_channels}|out={spec.out_channels}|k={kernel}|'
            f'e={expansion}|stride={spec.stride}|residual={int(spec.residual)}|{size[0]}x{size[1]}')


class _Head(nn.Module):
    """Head conv, global pool and classifier: the network's end, timed or counted as one piece."""

    def __init__(self, cin: int, cout: int, num_classes: int) -> None:
        super().__init__()
        self.conv = ConvBNAct(cin, cout, 1)
        self.fc = nn.Linear(cout, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.conv(x).mean((2, 3)))


def pieces(layout: Layout, input_size: Sequence[int], num_classes: int):
    """(key, module factory, input shape) of the searchable layers' variants and of the fixed parts.

    Returns ``(variants, fixed)``: ``variants[l]`` lists the four variants of
    searchable layer ``l`` in :data:`VARIANTS` order; ``fixed`` the stem,
    the fixed layers and the head.
    """
    sizes = _sizes(layout, input_size)
    variants, fixed = [], []
    fixed.append((f'singlepath.stem|out={layout.stem_out}|{input_size[0]}x{input_size[1]}',
                  lambda: ConvBNAct(3, layout.stem_out, 3, 2), (3, *input_size)))
    for spec, size in zip(layout.layers, sizes):
        def factory(k, e, spec=spec):
            return lambda: MBConv(spec.in_channels, spec.out_channels, k, e, spec.stride, spec.residual)
        if spec.searchable:
            variants.append([(variant_key(spec, int(v[1]), int(v[3]), size),
                              factory(int(v[1]), int(v[3])), (spec.in_channels, *size))
                             for v in VARIANTS])
        else:
            fixed.append((variant_key(spec, spec.kernel, spec.expansion, size),
                          factory(spec.kernel, spec.expansion), (spec.in_channels, *size)))
    cin, size = layout.layers[-1].out_channels, sizes[-1]
    fixed.append((f'singlepath.head|in={cin}|out={layout.head_out}|classes={num_classes}|'
                  f'{size[0]}x{size[1]}',
                  lambda: _Head(cin, layout.head_out, num_classes), (cin, *size)))
    return variants, fixed


def fixed_key(fixed: Sequence[tuple]) -> str:
    """The key of all fixed parts together (stem, fixed layers, head): their pieces' keys joined,
    so it matches only the layout, input size and classes it was measured for."""
    return 'singlepath.fixed[' + ';'.join(key for key, _, _ in fixed) + ']'


def module_macs(module: nn.Module, shape: Sequence[int]) -> int:
    """Multiply-adds of one inference call at batch 1 (mmengine's FlopAnalyzer)."""
    from mmengine.analysis import FlopAnalyzer
    x = torch.zeros(1, *shape)
    return int(FlopAnalyzer(module.eval(), (x,)).unsupported_ops_warnings(False)
               .uncalled_modules_warnings(False).total())


def measure_costs(layout: Layout, input_size: Sequence[int], cost_of: Callable[[str, Callable, tuple], float],
                  num_classes: int, known: Optional[dict] = None) -> tuple[list[list[float]], float]:
    """Per searchable layer the four variants' costs, and the fixed parts' total (``known``'s
    entry for them together where it has one, see :func:`fixed_key`)."""
    variants, fixed = pieces(layout, input_size, num_classes)
    table = [[float(cost_of(*v)) for v in layer] for layer in variants]
    if known and fixed_key(fixed) in known:
        return table, float(known[fixed_key(fixed)])
    const = float(sum(cost_of(*f) for f in fixed))
    return table, const


def _macs_cost(key: str, factory: Callable, shape: tuple) -> float:
    return float(module_macs(factory(), shape))


class RuntimeModel(nn.Module):
    """``R`` of the supernet's decisions, from per-layer costs measured or counted once.

    Args:
        layout: the supernet's layout.
        input_size: image size the costs are taken at (the search's crop, or the deployment
            size); default 224, for ``'predictor'`` the predictor's.
        metric: ``'flops'`` (multiply-adds), ``'latency'`` (measured on ``device`` at ``batch``)
            or ``'predictor'`` (a learned predictor's latency of the whole network).
        device: latency only: where missing entries are timed; default: a named table's
            device, else ``'cpu'``.
        latency_table: latency only: a JSON file of latencies, read if present and completed
            with what was measured (rank 0 measures, the ranks share its numbers), or the
            name of a table shipped with the package (:data:`RUNTIME_TABLES`, read only).
        num_classes: the classifier's outputs (part of the constant).
        predictor: predictor only: the file ``tools/analysis/latency_predictor.py`` wrote.
    """

    def __init__(self, layout: Layout, input_size: Union[None, int, Sequence[int]] = None,
                 metric: str = 'flops', device: Optional[str] = None, batch: int = 1,
                 latency_table: Optional[str] = None, num_classes: int = 1000,
                 predictor: Optional[str] = None) -> None:
        super().__init__()
        if metric not in METRICS:
            raise ValueError(f'runtime metric must be one of {METRICS}, got {metric!r}')
        if (metric == 'predictor') != (predictor is not None):
            raise ValueError("runtime: metric='predictor' takes a predictor file (predictor=PATH), "
                             f"and only it does (metric={metric!r}, predictor={predictor!r})")
        self.metric, self.unit = metric, UNITS[metric]
        self.searchable = [s.index for s in layout.searchable]
        if metric == 'predictor':
            self._init_predictor(layout, predictor, input_size)
            return
        input_size = 224 if input_size is None else input_size
        size = (input_size, input_size) if isinstance(input_size, int) else tuple(input_size)
        if len(size) != 2 or min(size) < 1:
            raise ValueError(f'runtime input_size must be N or (H, W), got {input_size!r}')
        self.input_size = size
        table = self._table(latency_table, device, batch) if metric == 'latency' else None
        cost_of = table.get if table is not None else _macs_cost
        # One measurement, shared: every rank optimises the same loss.
        known = table.entries if table is not None else None
        try:
            result = shared_from_rank0(lambda: measure_costs(layout, size, cost_of, num_classes, known))
        except KeyError as e:
            if latency_table in RUNTIME_TABLES:
                raise KeyError(f'{e.args[0]}. The shipped table {latency_table!r} holds '
                               f'{table.scope}') from None
            raise
        if table is not None and get_rank() == 0 and latency_table not in RUNTIME_TABLES:
            table.save()
        self.measured = table.measured if table is not None else 0
        costs, const = result
        self._check_order(layout, costs, latency_table)
        scale = SCALE[metric]
        self.register_buffer('costs', torch.tensor(costs, dtype=torch.float64) * scale,
                             persistent=False)
        self.const = const * scale

    @staticmethod
    def _table(latency_table: Optional[str], device: Optional[str], batch: int) -> LatencyTable:
        """The latency table of a path, or of a shipped table's name (on its own device)."""
        if latency_table in RUNTIME_TABLES:
            path = RUNTIME_TABLES[latency_table]
            with open(path) as f:
                meta = json.load(f)
            table = LatencyTable(path, meta['device'] if device is None else device, batch)
            table.scope = meta.get('scope', 'other entries')
            return table
        return LatencyTable(latency_table, 'cpu' if device is None else device, batch)

    def _init_predictor(self, layout: Layout, path: str,
                        input_size: Union[None, int, Sequence[int]]) -> None:
        from .encoding import SinglePathEncoding
        model = LatencyPredictor.load(path).requires_grad_(False)
        self.encoding = SinglePathEncoding(layout)
        model.check_encoding(self.encoding.spec())
        measured = (model.meta.get('macro') or {}).get('input_size')
        if input_size is None:
            input_size = measured
        size = (input_size, input_size) if isinstance(input_size, int) else tuple(input_size or ())
        if len(size) != 2:
            raise ValueError(f'runtime: give input_size (latency predictor {path} names none)')
        for v in size:
            model.check_within({'input_size': v}, f'runtime (latency predictor {path})')
        # A plain attribute, not a submodule: its weights are neither searched nor checkpointed.
        self._predictor = [model]
        self.input_size, self.measured, self.const = size, 0, 0.
        self.register_buffer('costs', None, persistent=False)

    @property
    def predictor(self) -> Optional[LatencyPredictor]:
        return self._predictor[0] if self.metric == 'predictor' else None

    @staticmethod
    def _check_order(layout: Layout, costs: list, source: Optional[str]) -> None:
        """Warn where k5e6 is not the dearest variant: the formula's ratio r then exceeds 1 and
        its gradient favours the larger kernel (a noisy or odd measurement, worth a look)."""
        from mmengine.logging import print_log
        odd = [f'layer {spec.index} ({", ".join(f"{v} {c:.3g}" for v, c in zip(VARIANTS, row))})'
               for spec, row in zip(layout.searchable, costs) if max(row) > row[3]]
        if odd:
            print_log(f'runtime model{f" ({source})" if source else ""}: k5e6 is not the dearest '
                      f'variant in {len(odd)} layer(s): {"; ".join(odd[:3])}'
                      f'{" ..." if len(odd) > 3 else ""}. The reference formula assumes it is; '
                      'check the measurements (a loaded machine makes them noisy).',
                      logger='current', level=30)

    def forward(self, decisions: torch.Tensor) -> torch.Tensor:
        """``R`` (in :attr:`unit`) for (searchable layers, 3) decisions; differentiable."""
        if self.metric == 'predictor':
            model = self._predictor[0]
            if model.x_mean.device != decisions.device:
                model.to(decisions.device)
            return model(self.encoding.of_decisions(decisions)) * SCALE['predictor']
        return expected_runtime(decisions, self.costs.to(decisions.dtype), self.const)

    def of_choices(self, choices: Sequence[dict]) -> float:
        """R of hard choices (``kernel``/``expansion``/``skip`` per searchable layer)."""
        d = torch.tensor([[float(c['kernel'] == 5), float(c['expansion'] == 6), float(not c['skip'])]
                          for c in choices], dtype=torch.float64)
        return float(self(d))


def runtime_entry(runtime: RuntimeModel, decisions: torch.Tensor, runtime_lambda: float) -> dict:
    """The runtime fields of a snapshot: R of ``decisions``, its unit and metric, lambda now, and
    the per-layer runtimes where the model has a table."""
    entry = dict(runtime=float(runtime(decisions)), runtime_unit=runtime.unit,
                 runtime_metric=runtime.metric, runtime_lambda=runtime_lambda)
    if runtime.costs is not None:  # a predictor has no per-layer costs
        entry['layer_runtimes'] = layer_runtimes(decisions, runtime.costs.to(decisions)).cpu().tolist()
    return entry


class RuntimeCost(nn.Module):
    """``lambda * scale * ln R`` of the trunk's decisions, lambda 0 during the architecture's warm-up.

    ``R`` counts the trunk (stem, layers, head conv), pooling and a classifier of
    ``num_classes`` outputs (1 by default: negligible), not a detector's neck or
    head, which the search does not change. A classification search counts its
    classifier (``SinglePathSpace`` passes its ``num_classes``).
    """

    def __init__(self, trunk: SinglePathTrunk, runtime_lambda: float = 0.02,
                 runtime_scale: float = 1e3, num_classes: int = 1, **runtime) -> None:
        super().__init__()
        for name, v in (('runtime_lambda', runtime_lambda), ('runtime_scale', runtime_scale)):
            if v < 0:
                raise ValueError(f'model.space.cost.{name} must be >= 0, got {v}')
        self.runtime = RuntimeModel(trunk.layout, num_classes=num_classes, **runtime)
        self.runtime_lambda, self.runtime_scale = runtime_lambda, runtime_scale
        self._trunk = [trunk]  # a plain reference: the trunk is the detector's, not this module's

    def current_lambda(self, arch: SinglePathArch) -> float:
        return 0. if arch.in_warmup else self.runtime_lambda

    def expected_runtime(self, arch: SinglePathArch) -> torch.Tensor:
        return self.runtime(self._trunk[0].decision_tensor(arch()))

    def forward(self, arch: SinglePathArch) -> torch.Tensor:
        return self.current_lambda(arch) * self.runtime_scale * torch.log(self.expected_runtime(arch))


@register_latency_table('SinglePathSearchBackbone', 'SinglePathSpace')
def latency_table(cfg, out: str, device: str, batch: int, input_size: Optional[int], source: str) -> str:
    """The runtime model's latency table of a Single-Path config: the four MBConv variants of every
    searchable layer and the fixed parts, at ``input_size`` (default: the runtime model's, else 224)."""
    from ...core.model_space import searched_trunk
    from .layout import make_layout
    _, net, runtime, where = searched_trunk(cfg)
    layout = make_layout(net.get('blocks'), net.get('width_mult', 1.0), net.get('stem_channels', 32),
                         net.get('head_channels', 1280), where=f'{where}.blocks')
    size = input_size or runtime.get('input_size', 224)
    model = RuntimeModel(layout, size, metric='latency', device=device, batch=batch,
                         latency_table=out, num_classes=net.get('num_classes', 1000))
    with open(out) as f:
        entries = json.load(f)['entries']
    full = float(model(torch.ones(len(layout.searchable), 3, dtype=torch.float64)))
    return (f'{out}: {len(entries)} entries ({model.measured} measured now) on {device}, '
            f'batch {batch}, input {size}; R of the full k5e6 supernet: {full:.3f} ms '
            f'(fixed parts {model.const:.3f} ms)')
