"""A learned latency predictor (Latency-Aware DARTS' idea, for any space): an MLP on an architecture encoding.

A space turns an architecture into a fixed-length vector of features (for
DARTS cells: the weight of each op on each edge, plus macro numbers) and
the tool ``tools/analysis/latency_predictor.py`` measures sampled
architectures on the device and fits this MLP to them. Because the
encoding of a search's *soft* architecture weights is a differentiable
function of them, the prediction is a search cost whose gradient reaches
the architecture parameters; unlike a lookup table's sum of block
latencies it can learn what a sum misses (per-call overhead, the stem, the
concatenations, memory traffic).

The MLP regresses log seconds on standardised features, so its error is
relative. The file (JSON, written atomically) holds the weights, the
standardisation, the encoding's description (a space refuses a predictor
fitted for another encoding), the device and the accuracy figures.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any, Callable, Optional, Sequence, Union

import torch
import torch.nn as nn

from ..utils.result_file import ResultFile, read_json

PREDICTOR_FORMAT = 'nas_backbones.latency_predictor/1'


class PredictorError(ValueError):
    """A predictor file or request is malformed; the message names the file and field."""


def relative_errors(pred: torch.Tensor, true: torch.Tensor) -> dict[str, float]:
    """|pred - true| / true: mean, median, 90th percentile and max, plus Spearman's rank correlation."""
    rel = ((pred - true).abs() / true).double()
    out = dict(mean=float(rel.mean()), median=float(rel.median()),
               p90=float(rel.quantile(0.9)) if rel.numel() > 1 else float(rel.max()),
               max=float(rel.max()), n=int(rel.numel()))
    if rel.numel() > 2:
        rank = lambda v: v.argsort().argsort().double()  # noqa: E731  (no ties in timings)
        rp, rt = rank(pred.double()), rank(true.double())
        out['spearman'] = float(torch.corrcoef(torch.stack([rp, rt]))[0, 1])
    return out


class LatencyPredictor(nn.Module, ResultFile):
    """``features -> seconds``: standardise, MLP (ReLU), exp of the standardised log-seconds output.

    Args:
        in_features: length of the encoding.
        hidden: widths of the hidden layers.
        encoding: the space's description of its encoding (compared on load).
        meta: what is saved beside the weights (device, batch, backend, figures).
    """
    FORMAT = PREDICTOR_FORMAT
    ERROR = PredictorError
    WHAT = 'latency predictor'

    def __init__(self, in_features: int, hidden: Sequence[int] = (64, 64),
                 encoding: Optional[dict] = None, meta: Optional[dict] = None) -> None:
        super().__init__()
        if in_features < 1:
            raise PredictorError(f'in_features must be >= 1, got {in_features}')
        self.in_features = in_features
        self.hidden = tuple(int(h) for h in hidden)
        self.encoding = dict(encoding or {})
        self.meta = dict(meta or {})
        layers: list[nn.Module] = []
        width = in_features
        for h in self.hidden:
            layers += [nn.Linear(width, h), nn.ReLU()]
            width = h
        layers.append(nn.Linear(width, 1))
        self.mlp = nn.Sequential(*layers)
        self.register_buffer('x_mean', torch.zeros(in_features))
        self.register_buffer('x_std', torch.ones(in_features))
        self.register_buffer('y_mean', torch.zeros(()))
        self.register_buffer('y_std', torch.ones(()))

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        """Predicted seconds for ``(..., in_features)`` features (differentiable in them)."""
        if features.shape[-1] != self.in_features:
            raise PredictorError(f'latency predictor takes {self.in_features} features, '
                                 f'got {features.shape[-1]}')
        z = (features.to(self.x_mean) - self.x_mean) / self.x_std
        return torch.exp(self.mlp(z).squeeze(-1) * self.y_std + self.y_mean)

    def check_within(self, values: dict[str, float], where: str) -> None:
        """Refuse to extrapolate: each value must lie in the range the measured architectures
        spanned (``meta['macro_range']``, name -> [min, max]); unknown names are not checked."""
        ranges = self.meta.get('macro_range') or {}
        for name, v in values.items():
            if name in ranges:
                lo, hi = ranges[name]
                if not lo <= v <= hi:
                    raise PredictorError(f'{where}: {name}={v} is outside what the latency predictor '
                                         f'was measured on ({name} in [{lo}, {hi}]); measure '
                                         'architectures like it (tools/analysis/latency_predictor.py)')

    # ------------------------------------------------------------------ fitting
    @classmethod
    def fit(cls, features: torch.Tensor, seconds: torch.Tensor, hidden: Sequence[int] = (64, 64),
            steps: int = 1000, lr: float = 3e-3, weight_decay: float = 1e-4, seed: int = 0,
            encoding: Optional[dict] = None, meta: Optional[dict] = None) -> 'LatencyPredictor':
        """Fit on ``(N, D)`` features and ``(N,)`` seconds: full-batch Adam on the log-seconds MSE."""
        features = torch.as_tensor(features, dtype=torch.float32)
        seconds = torch.as_tensor(seconds, dtype=torch.float32)
        if features.dim() != 2 or seconds.shape != features.shape[:1]:
            raise PredictorError(f'fit: expected (N, D) features and (N,) seconds, got '
                                 f'{tuple(features.shape)} and {tuple(seconds.shape)}')
        if features.size(0) < 2:
            raise PredictorError(f'fit: needs at least 2 measured architectures, got {features.size(0)}')
        if not bool((seconds > 0).all()) or not bool(torch.isfinite(seconds).all()):
            raise PredictorError('fit: every measured latency must be a finite number of seconds > 0')
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            model = cls(features.size(1), hidden, encoding, meta)
            std = features.std(0)
            model.x_mean.copy_(features.mean(0))
            model.x_std.copy_(torch.where(std > 1e-8, std, torch.ones_like(std)))  # constant columns
            target = seconds.log()
            model.y_mean.copy_(target.mean())
            model.y_std.copy_(target.std().clamp_min(1e-3))
            z = (features - model.x_mean) / model.x_std
            t = (target - model.y_mean) / model.y_std
            opt = torch.optim.AdamW(model.mlp.parameters(), lr=lr, weight_decay=weight_decay)
            sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps)
            for _ in range(steps):
                opt.zero_grad(set_to_none=True)
                loss = (model.mlp(z).squeeze(-1) - t).pow(2).mean()
                loss.backward()
                opt.step()
                sched.step()
        return model.eval()

    # --------------------------------------------------------------------- file
    def to_dict(self) -> dict[str, Any]:
        linears = [m for m in self.mlp if isinstance(m, nn.Linear)]
        return dict(
            format=PREDICTOR_FORMAT, unit='seconds', in_features=self.in_features,
            hidden=list(self.hidden), encoding=self.encoding, **self.meta,
            normalization=dict(x_mean=self.x_mean.tolist(), x_std=self.x_std.tolist(),
                               y_mean=float(self.y_mean), y_std=float(self.y_std)),
            layers=[dict(weight=m.weight.detach().tolist(), bias=m.bias.detach().tolist())
                    for m in linears])

    def to_json(self) -> str:
        return json.dumps(self.to_dict()) + '\n'  # weights: one line, not indented

    @classmethod
    def load(cls, path: Union[str, os.PathLike], encoding: Optional[dict] = None) -> 'LatencyPredictor':
        """Read and check a predictor file; with ``encoding``, refuse one fitted for another encoding."""
        path = os.fspath(path)
        data = read_json(path, cls.WHAT, PredictorError)
        model = cls.from_dict(data, source=f'latency predictor {path}')
        model.path = path
        if encoding is not None:
            model.check_encoding(encoding)
        return model

    def check_encoding(self, encoding: dict) -> None:
        """Refuse a predictor fitted on another encoding of the architectures."""
        if self.encoding != encoding:
            diff = sorted(k for k in set(encoding) | set(self.encoding)
                          if encoding.get(k) != self.encoding.get(k))
            k = 'space' if 'space' in diff else diff[0]  # another family: say so first
            raise PredictorError(
                f'latency predictor {getattr(self, "path", "")} was fitted for another encoding: '
                f'"encoding.{k}" is {self.encoding.get(k)!r}, this search needs {encoding.get(k)!r}')

    @classmethod
    def from_dict(cls, data: Any, source: str = 'latency predictor') -> 'LatencyPredictor':
        data = cls.check(data, source)
        missing = [k for k in ('in_features', 'hidden', 'encoding', 'normalization', 'layers')
                   if k not in data]
        if missing:
            raise PredictorError(f'{source}: missing field(s) {missing}')
        d = data['in_features']
        if isinstance(d, bool) or not isinstance(d, int) or d < 1:
            raise PredictorError(f'{source}: "in_features" must be a positive integer, got {d!r}')
        hidden = data['hidden']
        if not isinstance(hidden, list) or not all(isinstance(h, int) and h > 0 for h in hidden):
            raise PredictorError(f'{source}: "hidden" must be a list of positive widths, got {hidden!r}')
        if not isinstance(data['encoding'], dict):
            raise PredictorError(f'{source}: "encoding" must be an object')
        meta = {k: v for k, v in data.items() if k not in (
            'format', 'unit', 'in_features', 'hidden', 'encoding', 'normalization', 'layers')}
        model = cls(d, hidden, data['encoding'], meta)
        linears = [m for m in model.mlp if isinstance(m, nn.Linear)]
        layers = data['layers']
        if not isinstance(layers, list) or len(layers) != len(linears):
            raise PredictorError(f'{source}: "layers" must list {len(linears)} layers '
                                 f'(hidden {hidden}), got {len(layers) if isinstance(layers, list) else layers!r}')
        state = {}
        for i, (m, entry) in enumerate(zip(linears, layers)):
            for name, param in (('weight', m.weight), ('bias', m.bias)):
                value = entry.get(name) if isinstance(entry, dict) else None
                state[f'layers[{i}].{name}'] = (param, _tensor(value, tuple(param.shape),
                                                               f'{source}: "layers[{i}].{name}"'))
        norm = data['normalization']
        if not isinstance(norm, dict):
            raise PredictorError(f'{source}: "normalization" must be an object')
        for name, shape in (('x_mean', (d,)), ('x_std', (d,)), ('y_mean', ()), ('y_std', ())):
            state[name] = (getattr(model, name), _tensor(norm.get(name), shape,
                                                         f'{source}: "normalization.{name}"'))
        if not bool((state['x_std'][1] > 0).all()) or float(state['y_std'][1]) <= 0:
            raise PredictorError(f'{source}: "normalization" standard deviations must be > 0')
        with torch.no_grad():
            for target, value in state.values():
                target.copy_(value)
        return model.eval()


def _tensor(value: Any, shape: tuple, where: str) -> torch.Tensor:
    try:
        t = torch.tensor(value, dtype=torch.float32)
    except (TypeError, ValueError, RuntimeError):
        raise PredictorError(f'{where}: expected numbers of shape {list(shape)}, got '
                             f'{type(value).__name__}') from None
    if tuple(t.shape) != shape:
        raise PredictorError(f'{where}: shape {list(t.shape)}, expected {list(shape)}')
    if not bool(torch.isfinite(t).all()):
        raise PredictorError(f'{where}: values must be finite')
    return t


def fit_with_holdout(features: torch.Tensor, seconds: torch.Tensor, holdout: float = 0.25,
                     seed: int = 0, **fit_kwargs) -> tuple['LatencyPredictor', dict, torch.Tensor]:
    """Fit on a random ``1 - holdout`` of the architectures; the figures are the relative errors on
    both parts (``holdout``: architectures the MLP never saw). Returns the held-out indices too."""
    features = torch.as_tensor(features, dtype=torch.float32)
    seconds = torch.as_tensor(seconds, dtype=torch.float32)
    if not 0 <= holdout < 1:
        raise PredictorError(f'holdout must be in [0, 1), got {holdout}')
    n = features.size(0)
    perm = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
    k = int(round(n * holdout)) if holdout > 0 else 0
    test, train = perm[:k], perm[k:]
    model = LatencyPredictor.fit(features[train], seconds[train], seed=seed, **fit_kwargs)
    with torch.no_grad():
        figures = dict(train=relative_errors(model(features[train]), seconds[train]))
        if k:
            figures['holdout'] = relative_errors(model(features[test]), seconds[test])
    return model, figures, test


def backends() -> list[str]:
    """Where latencies can be measured here: eager PyTorch, and ONNX Runtime when it imports."""
    out = ['torch']
    try:
        import onnx  # noqa: F401  (torch.onnx.export writes through it)
        import onnxruntime  # noqa: F401
        out.append('onnxruntime')
    except ImportError:
        pass
    return out


CLOCKS = ('wall', 'cpu')


def measure_latency(module: nn.Module, input_shape: Sequence[int], device: str = 'cpu',
                    batch: int = 1, repeats: int = 10, backend: str = 'torch', rounds: int = 1,
                    clock: str = 'wall') -> float:
    """Seconds of one inference call of ``module`` (eval mode) in ``backend``: the median of
    ``repeats`` calls, the smallest such median of ``rounds`` (a burst of load on a shared
    machine slows a round, it does not speed one up). ``clock='cpu'``: this process's CPU
    time (single-threaded CPU runs on a shared machine: what the neighbours took is left out).

    ``'torch'``: eager PyTorch (:func:`~nas_backbones.core.latency.time_module`);
    ``'onnxruntime'``: the module exported to ONNX as ``tools/deployment/export_onnx.py``
    exports (:func:`~nas_backbones.utils.export.export_onnx`) and run by an ONNX Runtime
    session on ``device`` (CPU, or CUDA where its provider exists), with
    ``torch.get_num_threads()`` threads.
    """
    import time
    if clock not in CLOCKS:
        raise ValueError(f'clock must be one of {CLOCKS}, got {clock!r}')
    if clock == 'cpu' and device != 'cpu':
        raise ValueError(f"clock='cpu' times CPU work; device {device!r} needs the wall clock")
    timer = time.process_time if clock == 'cpu' else time.perf_counter
    if backend == 'torch':
        from .latency import time_module
        return min(time_module(module, input_shape, device, batch, repeats, timer) for _ in range(rounds))
    if backend != 'onnxruntime':
        raise ValueError(f"backend must be 'torch' or 'onnxruntime', got {backend!r}")
    import statistics
    import tempfile

    from ..utils.export import export_onnx, onnx_session, require_onnx
    require_onnx()
    x = torch.randn(batch, *input_shape)
    with tempfile.TemporaryDirectory() as tmp:
        # the deployment export (tools/deployment/export_onnx.py): what is timed is what ships
        path = export_onnx(module, x, os.path.join(tmp, 'net.onnx'), input_names=['x'])
        session = onnx_session(path, device)
    feed = {'x': x.numpy()}
    for _ in range(3):
        session.run(None, feed)
    medians = []
    for _ in range(rounds):
        times = []
        for _ in range(repeats):
            t0 = timer()
            session.run(None, feed)
            times.append(timer() - t0)
        medians.append(statistics.median(times))
    return min(medians)


def device_description(device: str) -> dict[str, Any]:
    """What a latency belongs to: the device's name, threads and the software that ran it."""
    import platform
    desc: dict[str, Any] = dict(device=device, torch=torch.__version__, python=platform.python_version(),
                                threads=torch.get_num_threads())
    if device.startswith('cuda') and torch.cuda.is_available():
        desc['name'] = torch.cuda.get_device_name(torch.device(device))
    else:
        name = platform.processor() or platform.machine()
        try:
            with open('/proc/cpuinfo') as f:
                name = next((ln.split(':', 1)[1].strip() for ln in f if ln.startswith('model name')), name)
        except OSError:
            pass
        desc['name'] = name
        desc['logical_cpus'] = os.cpu_count()
    return desc


# ------------------------------------------------------------------ space families
@dataclass
class MeasureTask:
    """What a space family hands ``tools/analysis/latency_predictor.py``: architectures to time.

    ``samples``: per architecture ``(build, input_shape, features)``, ``build()`` making
    the deployed network; ``encoding``: the encoding's description; ``meta``: what the
    file records of the networks (``macro``, ``macro_range``, ``num_classes`` ...).
    """
    encoding: dict
    samples: list[tuple[Callable[[], nn.Module], tuple[int, ...], torch.Tensor]]
    meta: dict


# Search-space type (``network_search.space.type``, the searchable backbone's type of a
# ``model.space``, or a deprecated classification space's type)
# -> (the family's task function, the tool options it takes).
PREDICTOR_TASKS: dict[str, tuple[Callable[..., MeasureTask], tuple[str, ...]]] = {}


def register_predictor_task(*space_types: str, options: Sequence[str] = ()) -> Callable:
    """Register ``fn(cfg, n, seed, **options) -> MeasureTask`` for configs of these space types."""
    def wrap(fn: Callable[..., MeasureTask]) -> Callable[..., MeasureTask]:
        for t in space_types:
            PREDICTOR_TASKS[t] = (fn, tuple(options))
        return fn
    return wrap


def space_type_of(cfg: Any) -> Optional[str]:
    """The search space a config declares: its network-search space, else the searchable backbone of
    its model's search space (:func:`~.model_space.searched_trunk`)."""
    from .model_space import searched_trunk
    ns = cfg.get('network_search')
    if ns is not None:
        return (ns.get('space') or {}).get('type')
    found = searched_trunk(cfg)
    return None if found is None else found[0]


def predictor_task(cfg: Any, n: int, seed: int, source: str = 'config', **options: Any) -> MeasureTask:
    """``n`` architectures (seeded) of the config's space to measure, from the space's family."""
    kind = space_type_of(cfg)
    if kind not in PREDICTOR_TASKS:
        raise PredictorError(f'{source}: the latency predictor knows no search space {kind!r} '
                             f'(model.space\'s searchable backbone or network_search.space.type); '
                             f'known: {sorted(PREDICTOR_TASKS)}')
    fn, allowed = PREDICTOR_TASKS[kind]
    given = {k: v for k, v in options.items() if v not in (None, False)}
    extra = sorted(set(given) - set(allowed))
    if extra:
        raise PredictorError(f'{source}: option(s) {extra} do not apply to a {kind} config '
                             f'(it takes {list(allowed)})')
    return fn(cfg, n, seed, **given)
