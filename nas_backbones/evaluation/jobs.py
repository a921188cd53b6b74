"""Trainings as jobs: one config, one work dir, one seed each, in spawned worker processes, resumable.

A job is a plain dict (:func:`training_job`); :func:`run_jobs` runs a list
of them, ``workers`` at a time, each in a fresh spawned process (no forked
OpenMP or torch state, nothing left over from the previous job) that uses
``threads_per_process(processes)`` threads, counted once before they start.
A job's state is its work dir:

- ``result.json`` (written atomically when the job ends) means done: a job
  that has one is never run again;
- a job killed mid-training (no ``result.json``) resumes from its own last
  checkpoint when there is one (MMEngine's ``resume=True``), else starts over;
- ``job.log`` gets the process's output (several jobs at once would
  interleave theirs on the terminal); the runner keeps its own log as usual.

Used by the comparison against chance (:mod:`.chance`) and by the selection
among searches (:mod:`.selection`). Optuna, which the network-level search
uses, samples architectures; here every job is known in advance, so a pool
over the list is all the scheduling there is.
"""
from __future__ import annotations

import json
import os
import os.path as osp
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from typing import Any, Callable, Optional, Sequence

from mmengine.hooks import Hook

from ..utils.io import atomic_write_text

RESULT = 'result.json'
RESULT_FORMAT = 'nas_backbones.training_job/1'


def check_workers(workers: Any) -> int:
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ValueError(f'--workers: an integer >= 1 (processes training at once), got {workers!r}')
    return workers


EVALUATE = ('test', 'val', 'none')


def training_job(name: str, config: str, work_dir: str, seed: int, options: Optional[dict] = None,
                 evaluate: str = 'test') -> dict:
    """A job: train ``config`` with ``options`` (``--cfg-options`` style) and ``randomness.seed=seed``
    in ``work_dir``. ``evaluate='test'``: then validate (if the schedule did not end with a
    validation) and test on the test dataloader; ``'val'``: validate only; ``'none'``: a search,
    whose result file (``genotype.json``, ``architecture.json``) is recorded instead."""
    if evaluate not in EVALUATE:
        raise ValueError(f'evaluate: one of {EVALUATE}, got {evaluate!r}')
    return dict(name=name, config=osp.abspath(config), work_dir=osp.abspath(work_dir), seed=int(seed),
                options=dict(options or {}), evaluate=evaluate)


def result_path(job: dict) -> str:
    return osp.join(job['work_dir'], RESULT)


def read_result(job: dict) -> Optional[dict]:
    """The job's result, or None if it has not finished."""
    path = result_path(job)
    if not osp.isfile(path):
        return None
    with open(path, encoding='utf-8') as f:
        return json.load(f)


class LastMetrics(Hook):
    """Keeps the metrics of the latest validation."""
    priority = 'LOWEST'

    def __init__(self) -> None:
        self.metrics: Optional[dict] = None

    def after_val_epoch(self, runner, metrics=None) -> None:
        self.metrics = {k: _plain(v) for k, v in (metrics or {}).items()}


def _plain(v: Any) -> Any:
    try:
        return float(v)
    except (TypeError, ValueError):
        return v


def train_and_evaluate(job: dict, threads: int) -> dict:
    """Run one job in this process (the worker's body); returns and writes its result."""
    import torch
    from mmengine.config import Config

    import nas_backbones  # noqa: F401  registers the modules

    from ..engine.launch import build_runner, loading_scope
    torch.set_num_threads(threads)
    print(f'[{job["name"]} seed {job["seed"]}] training with {threads} thread(s) per process '
          f'(torch.set_num_threads)', flush=True)
    cfg = Config.fromfile(job['config'])
    cfg.merge_from_dict(job['options'])
    cfg.merge_from_dict({'randomness.seed': job['seed']})
    cfg.work_dir = job['work_dir']
    cfg.launcher = 'none'
    last = osp.join(job['work_dir'], 'last_checkpoint')
    resumed_from = None
    if osp.isfile(last):  # killed mid-training: go on from its own last checkpoint
        with open(last, encoding='utf-8') as f:
            resumed_from = f.read().strip() or None
        cfg.resume, cfg.load_from = True, None
    else:
        cfg.resume = False
    t0 = time.time()
    runner = build_runner(cfg)
    keep = LastMetrics()
    runner.register_hook(keep)
    test_metrics, result_file = None, None
    with loading_scope(runner):
        runner.train()
        if job['evaluate'] == 'none':
            from mmengine.model import is_model_wrapper
            model = runner.model.module if is_model_wrapper(runner.model) else runner.model
            result_file = osp.join(runner.work_dir, type(model.derive()).filename)
            if not osp.isfile(result_file):
                raise RuntimeError(f'the search in {runner.work_dir} finished but wrote no {result_file}: '
                                   'is DerivationHook in custom_hooks?')
        elif keep.metrics is None:  # the schedule's val_interval did not fall on its last epoch
            runner.val()
        if job['evaluate'] == 'test':
            test_metrics = {k: _plain(v) for k, v in runner.test().items()}
    result = dict(format=RESULT_FORMAT, name=job['name'], seed=job['seed'], config=job['config'],
                  options=job['options'], val=keep.metrics, test=test_metrics, result_file=result_file,
                  resumed_from=resumed_from, threads=threads, seconds=round(time.time() - t0, 1))
    atomic_write_text(result_path(job), json.dumps(result, indent=2) + '\n')
    return result


def die_with_parent() -> None:
    """Ask Linux to send this process SIGTERM when its parent dies (a no-op elsewhere).

    A tool killed while its workers train (Ctrl-C lands on the whole group, but ``kill PID`` or
    a killed job runner does not) would otherwise leave them training on, unseen, taking the cores
    the next run needs; a worker ended this way resumes from its last checkpoint next time.
    """
    if not sys.platform.startswith('linux'):
        return
    import ctypes
    import signal
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):  # no prctl (a libc without it): the old behaviour
        return
    if os.getppid() == 1:  # the parent died before the request was made
        os.kill(os.getpid(), signal.SIGTERM)


def _worker(job: dict, threads: int) -> dict:
    """Entry of a spawned worker: its output to the job's log, ``threads`` torch threads."""
    die_with_parent()
    os.makedirs(job['work_dir'], exist_ok=True)
    log = open(osp.join(job['work_dir'], 'job.log'), 'a', encoding='utf-8', buffering=1)
    os.dup2(log.fileno(), 1)
    os.dup2(log.fileno(), 2)
    sys.stdout = sys.stderr = log
    from mmengine.registry import init_default_scope
    init_default_scope('mmdet')
    return train_and_evaluate(job, threads)


def run_jobs(jobs: Sequence[dict], workers: int = 1,
             say: Callable[[str], None] = lambda s: print(s, flush=True)) -> dict[int, Any]:
    """Run the jobs without a result, ``workers`` at a time; returns index -> result or exception.

    Jobs that fail do not stop the others: their exception is returned in
    their place (their work dir keeps the log and any checkpoint, so running
    again resumes them).
    """
    import multiprocessing as mp
    workers = check_workers(workers)
    out: dict[int, Any] = {}
    todo = []
    for i, job in enumerate(jobs):
        done = read_result(job)
        if done is not None:
            out[i] = done
        else:
            todo.append(i)
    if len(out):
        say(f'{len(out)} of {len(jobs)} training(s) already done (their {RESULT} is kept)')
    if not todo:
        return out
    from ..utils.threads import threads_per_process
    # Counted once, here: a worker that counted the load itself would count its siblings as busy.
    processes = min(workers, len(todo))
    threads = threads_per_process(processes)
    say(f'{len(todo)} training(s) to run, {processes} at a time, {threads} thread(s) per process; '
        'each writes its output to <its work dir>/job.log')
    ctx = mp.get_context('spawn')
    with ProcessPoolExecutor(max_workers=processes, mp_context=ctx,
                             max_tasks_per_child=1) as pool:
        futures = {pool.submit(_worker, jobs[i], threads): i for i in todo}
        for fut in as_completed(futures):
            i = futures[fut]
            job = jobs[i]
            try:
                out[i] = fut.result()
                say(f'  done: {job["name"]} seed {job["seed"]} ({out[i]["seconds"]:.0f} s, '
                    f'{out[i]["threads"]} thread(s))')
            except Exception as e:  # noqa: BLE001  reported with the job; the others go on
                out[i] = e
                say(f'  FAILED: {job["name"]} seed {job["seed"]}: {type(e).__name__}: {e} '
                    f'(see {osp.join(job["work_dir"], "job.log")})')
    return out
