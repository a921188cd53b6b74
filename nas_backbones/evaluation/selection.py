"""The DARTS paper's selection protocol, for detection: S searches, a short training each, keep the best.

DARTS ran its search four times with different seeds and kept the cell
whose network did best after a short training on the validation data (the
search's own validation score says little: one search's cell is a draw).
Here the short training is the user's detector, on its training split,
scored by the detector's validation metric. A search config with a
``selection = dict(...)`` block (``configs/templates/search_own_coco.py``)::

    selection = dict(
        seeds=[0, 1, 2, 3],            # one search per seed (randomness.seed)
        detector='configs/templates/ssd_my_data.py',   # the detector the results are trained in
        options={'train_cfg.max_epochs': 6, ...},      # its short schedule (--cfg-options style)
        train_seeds=[0],               # training seeds per result (their mean is the score)
        metric='coco/bbox_mAP',        # the validation metric
        workers=1)                     # searches / trainings at once, one process each

Work dir: ``search_seed<s>/`` (each search, through the project's search
runner: a finished search is not run again, a killed one resumes),
``short/search_seed<s>/seed<k>/`` (each short training, :mod:`.jobs`),
``selection.json`` (every search's result and score, the choice) and the
chosen result as ``genotype.json`` (``architecture.json`` for Single-Path)
-- both atomically, and a different earlier choice is never overwritten.
"""
from __future__ import annotations

import json
import os.path as osp
import statistics
from typing import Callable, Optional

from mmengine.config import Config

from ..utils.io import atomic_write_text
from .candidates import backbone_of, family_of, load_candidate
from .jobs import check_workers, run_jobs, training_job

SELECTION_FORMAT = 'nas_backbones.selection/1'
FIELDS = dict(seeds=None, detector=None, options={}, train_seeds=[0], metric='coco/bbox_mAP', workers=1)


class SelectionError(ValueError):
    """The ``selection`` block or the work dir is not what the protocol needs; the message says which."""


def settings(cfg: Config, source: str) -> dict:
    """The config's ``selection`` block, checked, defaults filled in."""
    sel = cfg.get('selection')
    if sel is None:
        raise SelectionError(f'{source}: no selection = dict(seeds=..., detector=...) block '
                             '(see configs/templates/search_own_coco.py)')
    sel = sel.to_dict() if hasattr(sel, 'to_dict') else dict(sel)
    unknown = sorted(set(sel) - set(FIELDS))
    if unknown:
        raise SelectionError(f'{source}: selection: unknown field(s) {unknown}; known: {sorted(FIELDS)}')
    s = {k: sel.get(k, v) for k, v in FIELDS.items()}
    for key in ('seeds', 'train_seeds'):
        v = s[key]
        if not isinstance(v, (list, tuple)) or not v or \
                any(isinstance(x, bool) or not isinstance(x, int) for x in v) or len(set(v)) != len(v):
            raise SelectionError(f'{source}: selection.{key}: a non-empty list of distinct integers, got {v!r}')
        s[key] = list(v)
    if not isinstance(s['detector'], str) or not osp.isfile(s['detector']):
        raise SelectionError(f'{source}: selection.detector: the detector config the results are '
                             f'short-trained in; {s["detector"]!r} is not a file')
    if not isinstance(s['options'], dict):
        raise SelectionError(f'{source}: selection.options: a dict of config overrides, got {s["options"]!r}')
    try:
        s['workers'] = check_workers(s['workers'])
    except ValueError as e:
        raise SelectionError(f'{source}: selection.workers: {e}') from None
    return s


def choose(scores: dict[str, Optional[float]]) -> str:
    """The name with the highest score (the first of equals, in the given order); None scores lose."""
    valid = [(name, v) for name, v in scores.items() if v is not None]
    if not valid:
        raise SelectionError('no search has a score: every short training failed')
    best = max(v for _, v in valid)
    return next(name for name, v in valid if v == best)


def select(config: str, work_dir: str, cfg_options: Optional[dict] = None,
           say: Callable[[str], None] = print) -> dict:
    """Run the protocol (resuming whatever is done) and write ``selection.json`` and the chosen result."""
    if not osp.isfile(config):
        raise SelectionError(f'config file not found: {config}')
    cfg = Config.fromfile(config)
    if cfg_options:
        cfg.merge_from_dict(dict(cfg_options))
    sel = settings(cfg, config)
    work_dir = osp.abspath(work_dir)
    det = Config.fromfile(sel['detector'])
    try:
        det.merge_from_dict(dict(sel['options']))
    except (KeyError, TypeError, ValueError) as e:
        raise SelectionError(f'{config}: selection.options do not apply to {sel["detector"]}: {e}') from None
    family = family_of(backbone_of(det, sel['detector']), sel['detector'])
    key = f'model.backbone.{family.key}'

    say(f'{len(sel["seeds"])} search(es), seeds {sel["seeds"]}')
    searches = [training_job(f'search_seed{s}', config, osp.join(work_dir, f'search_seed{s}'), s,
                             dict(cfg_options or {}), evaluate='none') for s in sel['seeds']]
    done = run_jobs(searches, sel['workers'], say)
    failed = {searches[i]['name']: r for i, r in done.items() if isinstance(r, BaseException)}
    if failed:
        raise SelectionError(f'{len(failed)} search(es) failed: '
                             + '; '.join(f'{n}: {type(e).__name__}: {e}' for n, e in failed.items())
                             + '. Run the same command again to resume them')
    found = {searches[i]['name']: done[i]['result_file'] for i in range(len(searches))}

    say(f'short training of each result in {sel["detector"]}, seeds {sel["train_seeds"]}')
    trainings = [training_job(name, sel['detector'], osp.join(work_dir, 'short', name, f'seed{k}'), k,
                              dict(sel['options'], **{key: path}), evaluate='val')
                 for name, path in found.items() for k in sel['train_seeds']]
    trained = run_jobs(trainings, sel['workers'], say)
    rows = []
    for name, path in found.items():
        per_seed, problems = {}, {}
        for i, job in enumerate(trainings):
            if job['name'] != name:
                continue
            r = trained.get(i)
            if isinstance(r, dict):
                metrics = r.get('val') or {}
                if sel['metric'] not in metrics:
                    raise SelectionError(f'{job["work_dir"]}: the validation metrics have no '
                                         f'{sel["metric"]!r} (they have {sorted(metrics)}); set selection.metric')
                per_seed[str(job['seed'])] = float(metrics[sel['metric']])
            else:
                problems[str(job['seed'])] = f'{type(r).__name__}: {r}'
        result = load_candidate(family, path, name)
        rows.append(dict(name=name, seed=int(name.rsplit('seed', 1)[1]), file=path,
                         result=result.to_dict(), val=per_seed, failed=problems,
                         score=statistics.fmean(per_seed.values()) if per_seed else None))
    chosen = choose({r['name']: r['score'] for r in rows})
    row = next(r for r in rows if r['name'] == chosen)
    for r in rows:
        say(f'  {r["name"]}: {sel["metric"]} {r["score"] if r["score"] is None else round(r["score"], 4)}'
            + ('  <- chosen' if r['name'] == chosen else ''))
    result = load_candidate(family, row['file'], chosen)
    target = osp.join(work_dir, type(result).filename)
    if osp.isfile(target):
        earlier = load_candidate(family, target, target)
        if earlier.to_dict() != result.to_dict():
            raise SelectionError(
                f'{target} holds another result than the one chosen now ({chosen}, {row["file"]}): an '
                'earlier selection chose it, or it was put there by hand. Move it away to keep it, '
                'then run again')
    summary = dict(format=SELECTION_FORMAT, config=osp.abspath(config), cfg_options=dict(cfg_options or {}),
                   detector=osp.abspath(sel['detector']), options=sel['options'], metric=sel['metric'],
                   split='val', train_seeds=sel['train_seeds'], key=key, searches=rows,
                   chosen=dict(name=chosen, seed=row['seed'], file=target, source=row['file'],
                               score=row['score']))
    if not osp.isfile(target):
        result.save(target)  # atomic
    atomic_write_text(osp.join(work_dir, 'selection.json'), json.dumps(summary, indent=2) + '\n')
    say(f'chosen: {chosen} -> {target} (and selection.json)')
    return summary
