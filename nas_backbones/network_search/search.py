"""The network-level multi-objective search: Optuna's NSGA-II over a declared macro space.

One study per search, kept in an RDB storage (an SQLite file in the work
dir by default), is the whole state:

- **parallel candidates**: ``workers`` processes each run Optuna's
  ``optimize`` loop on the same study (Optuna's own distributed mode; more
  machines are more workers pointed at a shared database URL);
- **resume**: finished trials are in the storage, so a search started
  again goes on until ``n_trials`` trials are complete and evaluates no
  finished candidate again; the trial a killed worker was running stops
  sending heartbeats, is marked failed after ``heartbeat.grace`` seconds
  and retried with the same architecture (``RetryHeartbeatStaleTrialCallback``);
- **duplicates**: NSGA-II proposes the same network again in small spaces;
  a trial whose network was already evaluated copies its metrics.

Objectives: any subset of ``accuracy`` (maximised), ``macs``, ``params`` and
``latency`` (minimised); constraints bound any of them
(``constraints=dict(macs=600e6)`` is ``macs <= 600e6``;
``dict(accuracy=dict(min=0.5))``), through ``Trial.set_constraint``, so
violators are never on the front (Optuna's constrained domination).
The result is ``pareto.json``, ``candidates.json``, ``pareto.png`` and ``report/README.md``.
"""
from __future__ import annotations

import json
import math
import os
import os.path as osp
import time
import warnings
from contextlib import contextmanager
from typing import Any, Optional

import torch
from mmengine.config import Config

from ..utils.result_file import write_json
from .evaluate import check_training, macs_and_params, measured_latency, short_training
from .pareto import CANDIDATES_FORMAT, PARETO_FORMAT
from .space import NetworkSpace, SpaceDeclarationError, build_network_space

DIRECTIONS = {'accuracy': 'maximize', 'macs': 'minimize', 'params': 'minimize', 'latency': 'minimize'}
STUDY_FORMAT = 'nas_backbones.network_search/1'
LATENCY_DEFAULTS = dict(source='measured', device='cpu', batch=1, repeats=10, rounds=1, clock='wall',
                        predictor=None)
SAMPLER_DEFAULTS = dict(population_size=10, seed=0, mutation_prob=None, crossover_prob=0.9)
HEARTBEAT_DEFAULTS = dict(interval=10, grace=30, max_retry=2)
FIELDS = ('space', 'objectives', 'constraints', 'n_trials', 'workers', 'threads', 'sampler', 'storage',
          'study_name', 'accuracy', 'latency', 'heartbeat', 'plot')


def _sub(where: str, value: Any, defaults: dict) -> dict:
    if value is None:
        value = {}
    if not isinstance(value, dict):
        raise SpaceDeclarationError(f'{where}: expected a dict, got {value!r}')
    unknown = sorted(set(value) - set(defaults))
    if unknown:
        raise SpaceDeclarationError(f'{where}: unknown field(s) {unknown}; known: {sorted(defaults)}')
    return dict(defaults, **value)


def _positive_int(where: str, v: Any, low: int = 1) -> int:
    if isinstance(v, bool) or not isinstance(v, int) or v < low:
        raise SpaceDeclarationError(f'{where}: must be an integer >= {low}, got {v!r}')
    return v


class SearchSettings:
    """``network_search`` of a config, checked: every wrong field is named in the error."""

    def __init__(self, cfg: Config, work_dir: str) -> None:
        ns = cfg.get('network_search')
        if ns is None:
            raise SpaceDeclarationError('the config has no network_search = dict(space=..., objectives=...)')
        ns = ns.to_dict() if hasattr(ns, 'to_dict') else dict(ns)
        unknown = sorted(set(ns) - set(FIELDS))
        if unknown:
            raise SpaceDeclarationError(f'network_search: unknown field(s) {unknown}; known: {list(FIELDS)}')
        self.work_dir = osp.abspath(work_dir)
        self.space: NetworkSpace = build_network_space(ns.get('space'))
        objectives = ns.get('objectives')
        if isinstance(objectives, str):
            objectives = [objectives]
        if not objectives or not isinstance(objectives, (list, tuple)):
            raise SpaceDeclarationError(f'network_search.objectives: a non-empty list of '
                                        f'{sorted(DIRECTIONS)} expected, got {objectives!r}')
        for i, o in enumerate(objectives):
            if o not in DIRECTIONS:
                raise SpaceDeclarationError(f'network_search.objectives[{i}]: unknown objective {o!r}; '
                                            f'known: {sorted(DIRECTIONS)}')
        if len(set(objectives)) != len(objectives):
            raise SpaceDeclarationError(f'network_search.objectives: duplicates in {list(objectives)}')
        self.objectives = list(objectives)
        self.constraints = self._constraints(ns.get('constraints') or {})
        self.metrics = self.objectives + [m for m in self.constraints if m not in self.objectives]
        self.n_trials = _positive_int('network_search.n_trials', ns.get('n_trials', 20))
        self.workers = _positive_int('network_search.workers', ns.get('workers', 1))
        self.threads = _positive_int('network_search.threads', ns.get('threads', 1))
        self.sampler = _sub('network_search.sampler', ns.get('sampler'), SAMPLER_DEFAULTS)
        _positive_int('network_search.sampler.population_size', self.sampler['population_size'], 2)
        self.heartbeat = _sub('network_search.heartbeat', ns.get('heartbeat'), HEARTBEAT_DEFAULTS)
        self.latency = _sub('network_search.latency', ns.get('latency'), LATENCY_DEFAULTS)
        if self.latency['source'] not in ('measured', 'predictor'):
            raise SpaceDeclarationError(f"network_search.latency.source: 'measured' or 'predictor', "
                                        f"got {self.latency['source']!r}")
        if self.latency['clock'] not in ('wall', 'cpu'):
            raise SpaceDeclarationError(f"network_search.latency.clock: 'wall' or 'cpu', got {self.latency['clock']!r}")
        if 'latency' in self.metrics and self.latency['source'] == 'predictor' and not self.latency['predictor']:
            raise SpaceDeclarationError("network_search.latency.predictor: source='predictor' needs "
                                        'the file tools/analysis/latency_predictor.py wrote')
        try:
            self.accuracy = check_training(ns.get('accuracy') or {})
        except ValueError as e:
            raise SpaceDeclarationError(str(e)) from None
        self.model = cfg.get('model')
        if self.model is not None:
            self.model = self.model.to_dict() if hasattr(self.model, 'to_dict') else dict(self.model)
        self.space.check_template(self.model)
        self.train_dataloader = cfg.get('train_dataloader')
        self.val_dataloader = cfg.get('val_dataloader')
        if 'accuracy' in self.metrics and (self.train_dataloader is None or self.val_dataloader is None):
            raise SpaceDeclarationError("network_search: objective 'accuracy' trains each candidate on "
                                        'train_dataloader and evaluates it on val_dataloader; the config '
                                        'defines no such loaders')
        storage = ns.get('storage') or 'sqlite:///' + osp.join(self.work_dir, 'study.db')
        self.storage = storage
        self.study_name = ns.get('study_name') or osp.basename(self.work_dir.rstrip('/')) or 'network_search'
        self.plot = bool(ns.get('plot', True))
        visualizer = cfg.get('visualizer')  # trackers the front is sent to when exported
        self.visualizer = visualizer.to_dict() if hasattr(visualizer, 'to_dict') else visualizer

    @staticmethod
    def _constraints(value: Any) -> dict[str, tuple[Optional[float], Optional[float]]]:
        if not isinstance(value, dict):
            raise SpaceDeclarationError(f'network_search.constraints: expected dict(metric=bound), got {value!r}')
        out = {}
        for name, bound in value.items():
            where = f'network_search.constraints.{name}'
            if name not in DIRECTIONS:
                raise SpaceDeclarationError(f'{where}: unknown metric; known: {sorted(DIRECTIONS)}')
            if isinstance(bound, (int, float)) and not isinstance(bound, bool):
                bound = dict(max=bound)
            if not isinstance(bound, dict) or not bound or set(bound) - {'min', 'max'}:
                raise SpaceDeclarationError(f'{where}: a number (upper bound) or dict(min=..., max=...), '
                                            f'got {bound!r}')
            for k, v in bound.items():
                if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
                    raise SpaceDeclarationError(f'{where}.{k}: must be a finite number, got {v!r}')
            out[name] = (bound.get('min'), bound.get('max'))
        return out

    def study_attrs(self) -> dict:
        """What a study remembers of the search that created it (a resumed one must match)."""
        return dict(format=STUDY_FORMAT, objectives=self.objectives,
                    constraints={k: list(v) for k, v in self.constraints.items()},
                    space=self.space.declaration(), latency_source=self.latency['source'])


class Evaluator:
    """The metrics a search needs of one architecture (a fresh network each time)."""

    def __init__(self, settings: SearchSettings) -> None:
        self.s = settings
        self.predictor = None
        if 'latency' in settings.metrics and settings.latency['source'] == 'predictor':
            from ..core.predictor import LatencyPredictor
            self.predictor = LatencyPredictor.load(settings.latency['predictor'],
                                                   encoding=settings.space.predictor_encoding())

    def __call__(self, arch: dict) -> dict[str, float]:
        """Every metric of ``arch`` (costs, then the accuracy of a short training)."""
        out = self.costs(arch)
        if 'accuracy' in self.s.metrics:
            out.update(self.accuracy(arch))
        return out

    def costs(self, arch: dict) -> dict[str, float]:
        """The metrics known without training: MACs, parameters, latency (those the search needs)."""
        space, need = self.s.space, set(self.s.metrics)
        out: dict[str, float] = {}
        shape = space.input_shape(arch)
        if need & {'macs', 'params', 'latency'}:
            model = space.build(arch, self.s.model, training=False)
            if need & {'macs', 'params'}:
                out['macs'], out['params'] = macs_and_params(model, shape)
            if 'latency' in need and self.predictor is None:
                lat = self.s.latency
                out['latency'] = measured_latency(model, shape, lat['device'], lat['batch'], lat['repeats'],
                                                  lat['rounds'], lat['clock'])
            del model
        if self.predictor is not None:
            self.predictor.check_within(space.macro_values(arch), 'network_search: candidate')
            with torch.no_grad():
                out['latency'] = float(self.predictor(space.encode(arch)))
        return out

    def accuracy(self, arch: dict) -> dict[str, float]:
        """Top-1 after the short training, at the candidate's own input size."""
        space = self.s.space
        model = space.build(arch, self.s.model, training=True)
        result = short_training(model, self.s.train_dataloader, self.s.val_dataloader, self.s.accuracy,
                                input_size=space.input_shape(arch)[1:])
        return dict(accuracy=result['accuracy'], train_seconds=result['train_seconds'])


# ---------------------------------------------------------------------- study
def _storage(settings: SearchSettings):
    import optuna
    from optuna.storages import RDBStorage, RetryHeartbeatStaleTrialCallback
    url = settings.storage
    # A server's connections can drop between trials (a restart, an idle timeout): check each
    # before use, so a worker reconnects instead of failing its next trial.
    engine = {'connect_args': {'timeout': 120}} if url.startswith('sqlite') else {'pool_pre_ping': True}
    if url.startswith('sqlite:///'):
        os.makedirs(osp.dirname(url[len('sqlite:///'):]) or '.', exist_ok=True)
    hb = settings.heartbeat
    with _quiet_experimental(optuna):
        return RDBStorage(url, engine_kwargs=engine, heartbeat_interval=hb['interval'],
                          grace_period=hb['grace'],
                          heartbeat_stale_trial_callback=RetryHeartbeatStaleTrialCallback(
                              max_retry=hb['max_retry']))


@contextmanager
def _quiet_experimental(optuna):
    """Optuna marks heartbeats and the retry callback experimental; that warning is noise here."""
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', optuna.exceptions.ExperimentalWarning)
        yield


def open_study(settings: SearchSettings, worker: int = 0):
    """Create the study, or load it and check it was created for this search."""
    import optuna
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    smp = settings.sampler
    sampler = optuna.samplers.NSGAIISampler(
        population_size=smp['population_size'], mutation_prob=smp['mutation_prob'],
        crossover_prob=smp['crossover_prob'],
        # Workers draw different first generations; one worker is reproducible from the seed.
        seed=None if smp['seed'] is None else smp['seed'] + worker)
    study = optuna.create_study(study_name=settings.study_name, storage=_storage(settings),
                                sampler=sampler, load_if_exists=True,
                                directions=[DIRECTIONS[o] for o in settings.objectives])
    want = settings.study_attrs()
    have = study.user_attrs.get('search')
    if have is None:
        study.set_user_attr('search', want)
    elif have != want:
        diff = sorted(k for k in set(want) | set(have) if want.get(k) != have.get(k))
        raise SpaceDeclarationError(
            f'study {settings.study_name!r} in {settings.storage} was made by another search '
            f'(its {diff[0]} is {have.get(diff[0])!r}, this config has {want.get(diff[0])!r}); '
            'resume it with its own config, or use another work dir / study_name')
    return study


def completed(study) -> list:
    import optuna
    return study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))


def _violations(settings: SearchSettings, metrics: dict) -> dict[str, float]:
    """Optuna's convention: a value <= 0 is satisfied (the constraints on ``metrics``' keys)."""
    out = {}
    for name, (lo, hi) in settings.constraints.items():
        if name not in metrics:
            continue
        v = metrics[name]
        out[name] = max(v - hi if hi is not None else -math.inf, lo - v if lo is not None else -math.inf)
    return out


def make_objective(settings: SearchSettings, evaluator: Evaluator, study, worker: int):
    log_path = osp.join(settings.work_dir, 'evaluations.jsonl')

    def objective(trial) -> list[float]:
        arch = settings.space.suggest(trial)
        key = settings.space.key(arch)
        trial.set_user_attr('arch', arch)
        trial.set_user_attr('key', key)
        trial.set_user_attr('worker', worker)
        same = next((t for t in completed(study) if t.user_attrs.get('key') == key), None)
        t0 = time.perf_counter()
        not_trained = None
        if same is not None:
            metrics = same.user_attrs['metrics']
            not_trained = same.user_attrs.get('not_trained')
            trial.set_user_attr('duplicate_of', same.number)
        else:
            metrics = evaluator.costs(arch)
            if 'accuracy' in settings.metrics:
                # a bound already broken stays broken: training would not change the verdict
                not_trained = sorted(n for n, v in _violations(settings, metrics).items() if v > 0) or None
                metrics.update(dict(accuracy=0.) if not_trained else evaluator.accuracy(arch))
            with open(log_path, 'a', encoding='utf-8') as f:  # one short line: an atomic append
                f.write(json.dumps(dict(trial=trial.number, key=key, worker=worker, pid=os.getpid(),
                                        metrics=metrics, not_trained=not_trained)) + '\n')
        seconds = time.perf_counter() - t0
        trial.set_user_attr('metrics', metrics)
        trial.set_user_attr('not_trained', not_trained)
        trial.set_user_attr('seconds', seconds)
        for name, v in _violations(settings, metrics).items():
            trial.set_constraint(name, v)
        shown = ', '.join(f'{o}={metrics[o]:.4g}' for o in settings.metrics)
        dup = f' (= trial {same.number})' if same is not None else f' ({seconds:.1f} s)'
        if not_trained:
            dup += f', not trained: breaks the bound on {", ".join(not_trained)}'
        print(f'[worker {worker}] trial {trial.number}: {shown}{dup}', flush=True)
        return [float(metrics[o]) for o in settings.objectives]

    return objective


def run_worker(settings: SearchSettings, worker: int = 0) -> int:
    """One worker's loop: trials until the study has ``n_trials`` complete; returns how many it ran."""
    import optuna
    from optuna.study import MaxTrialsCallback
    torch.set_num_threads(settings.threads)
    study = open_study(settings, worker)
    before = len(study.get_trials(deepcopy=False))
    with _quiet_experimental(optuna):
        # Trials of killed workers are failed (and queued again) now, even if nothing is left to run.
        optuna.storages.fail_stale_trials(study)
    if len(completed(study)) >= settings.n_trials:
        return 0
    evaluator = Evaluator(settings)
    with _quiet_experimental(optuna):
        study.optimize(make_objective(settings, evaluator, study, worker), catch=(RuntimeError,),
                       callbacks=[MaxTrialsCallback(settings.n_trials,
                                                    states=(optuna.trial.TrialState.COMPLETE,))])
    return len(study.get_trials(deepcopy=False)) - before


def _worker_main(cfg_dict: dict, work_dir: str, worker: int) -> None:
    """Entry of a spawned worker process: registers the modules, then runs the loop."""
    from mmengine.registry import init_default_scope

    import nas_backbones  # noqa: F401  registers the models and the network spaces
    init_default_scope(cfg_dict.get('default_scope', 'mmdet'))
    run_worker(SearchSettings(Config(cfg_dict), work_dir), worker)


def run_search(cfg: Config, work_dir: str, workers: Optional[int] = None) -> dict:
    """Run (or resume) the search with ``workers`` processes, then export the front."""
    settings = SearchSettings(cfg, work_dir)
    workers = settings.workers if workers is None else _positive_int('--workers', workers)
    os.makedirs(settings.work_dir, exist_ok=True)
    open_study(settings)  # create it (and its tables) once, before the workers race for it
    procs = []
    if workers > 1:
        import multiprocessing as mp
        ctx = mp.get_context('spawn')  # no forked OpenMP / torch state
        cfg_dict = cfg.to_dict()
        for w in range(1, workers):
            p = ctx.Process(target=_worker_main, args=(cfg_dict, settings.work_dir, w), daemon=False)
            p.start()
            procs.append(p)
    try:
        run_worker(settings, 0)
    finally:
        for p in procs:
            p.join()
    failed = [p.exitcode for p in procs if p.exitcode]
    if failed:
        raise RuntimeError(f'{len(failed)} worker process(es) failed (exit codes {failed}); '
                           'run the search again to resume it')
    return export(settings)


# --------------------------------------------------------------------- export
def export(settings: SearchSettings, study=None) -> dict:
    """Write ``pareto.json``, ``candidates.json`` (and ``pareto.png``) from the study."""
    import optuna
    study = study or open_study(settings)
    space = settings.space
    objectives = [dict(name=o, direction=DIRECTIONS[o]) for o in settings.objectives]
    rows = []
    for t in study.get_trials(deepcopy=False):
        arch = t.user_attrs.get('arch')
        row = dict(trial=t.number, state=t.state.name, worker=t.user_attrs.get('worker'),
                   params=t.params)
        if arch is not None:
            row['architecture'] = space.point(arch)
        if t.state == optuna.trial.TrialState.COMPLETE:
            metrics = t.user_attrs['metrics']
            row.update(objectives={o: metrics[o] for o in settings.objectives}, metrics=metrics,
                       violations=dict(t.constraints) if settings.constraints else {},
                       feasible=all(v <= 0 for v in t.constraints.values()),
                       duplicate_of=t.user_attrs.get('duplicate_of'),
                       not_trained=t.user_attrs.get('not_trained'),
                       seconds=t.user_attrs.get('seconds'))
        rows.append(row)
    front, seen = [], set()
    for t in sorted(study.best_trials, key=lambda t: t.number):
        key = t.user_attrs['key']
        if key in seen:  # a duplicate of a point already on the front
            continue
        seen.add(key)
        metrics = t.user_attrs['metrics']
        front.append(dict(trial=t.number, architecture=space.point(t.user_attrs['arch']),
                          objectives={o: metrics[o] for o in settings.objectives}, metrics=metrics,
                          params=t.params))
    front.sort(key=lambda p: [p['objectives'][o] * (1 if DIRECTIONS[o] == 'minimize' else -1)
                              for o in settings.objectives])
    head = dict(objectives=objectives, constraints={k: dict(min=lo, max=hi) for k, (lo, hi) in
                                                    settings.constraints.items()},
                space=dict(type=type(space).__name__, **space.declaration()), study=settings.study_name,
                storage=settings.storage)
    pareto = dict(format=PARETO_FORMAT, **head,
                  trials_complete=sum(r['state'] == 'COMPLETE' for r in rows), points=front)
    write_json(osp.join(settings.work_dir, 'pareto.json'), pareto)
    write_json(osp.join(settings.work_dir, 'candidates.json'),
               dict(format=CANDIDATES_FORMAT, **head, candidates=rows))
    if settings.plot and front:
        from ..visualization.pareto import plot_pareto, write_network_report
        plot_pareto(rows, front, settings.objectives, osp.join(settings.work_dir, 'pareto.png'))
        write_network_report(settings.work_dir, pareto, rows, space.builds)
    if settings.visualizer and front:
        from ..visualization.tracking import send_front
        send_front(settings.visualizer, settings.work_dir, pareto,
                   osp.join(settings.work_dir, 'pareto.png') if settings.plot else None)
    return pareto
