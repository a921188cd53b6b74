"""Candidates against chance: the same detector trained with each candidate backbone and several seeds.

A search result means something only if it beats what chance gives in the
same detector with the same schedule, and one training is not a result (two
seeds of one random cell differed by 5 mAP on a few hundred images). So every
candidate -- searched results, published ones, uniform random results of the
space and random results matched in cost to a reference -- is trained with M
seeds (:mod:`.jobs`: spawned workers, resumable; the random groups may have
seeds of their own, ``random_seeds``: a group's spread comes from many cells, a
named candidate's from its seeds alone), and the table says, per
candidate, the test metric's mean and spread, backbone MACs and parameters,
its rank, the share of random candidates it beats, and a verdict against each
random group (:func:`verdict`).

Work dir::

    candidates.json             the candidates (kind, source, file, cost) and the settings they were trained with
    candidates/<name>.json      each candidate's result file (trainable again as it is)
    runs/<name>/seed<k>/        one training: result.json, job.log, checkpoints, the runner's logs
    chance.json, chance.md, chance.png   the comparison

Running again resumes: finished trainings are kept, new candidates or seeds
are added; a name given to a different result, or another config, is refused.
"""
from __future__ import annotations

import json
import math
import os
import os.path as osp
import statistics
from dataclasses import dataclass
from typing import Any, Callable, Optional, Sequence

from mmengine.config import Config

from ..utils.io import atomic_write_text
from .candidates import CandidateError, backbone_of, check_band, family_of, load_candidate, matched_candidates
from .jobs import check_workers, read_result, run_jobs, training_job

CHANCE_FORMAT = 'nas_backbones.chance/1'
MANIFEST_FORMAT = 'nas_backbones.chance_candidates/1'
GROUPS = ('random', 'matched')  # the chance a candidate is compared against
GROUP_LABEL = {'random': 'uniform random', 'matched': 'cost-matched random'}


# ------------------------------------------------------------------ statistics
def mean_sd(values: Sequence[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (0 for a single value)."""
    values = list(values)
    return statistics.fmean(values), (statistics.stdev(values) if len(values) > 1 else 0.)


def verdict(mean: float, group_means: Sequence[float], seed_values: Sequence[float] = ()) -> str:
    """A candidate's mean against a random group's per-candidate means.

    The margin is the group's standard deviation (how far apart random cells
    land) combined with the candidate's own standard error over its training
    seeds (how far its mean would move with other seeds):
    ``sqrt(sd_group**2 + sd_seeds**2 / n_seeds)``. ``'beats chance'`` when the
    candidate's mean exceeds the group's by more than that margin, ``'below
    chance'`` when it falls short by more, else ``'within noise'``; ``'too few
    random cells'`` when the group has fewer than two (no spread to compare
    with). Without the seed term, three random cells that happen to agree
    make a tiny margin that one lucky training seed clears.
    """
    group_means, seed_values = list(group_means), list(seed_values)
    if len(group_means) < 2:
        return 'too few random cells'
    m, sd = mean_sd(group_means)
    se2 = mean_sd(seed_values)[1] ** 2 / len(seed_values) if len(seed_values) > 1 else 0.
    margin = math.sqrt(sd ** 2 + se2)
    if mean > m + margin:
        return 'beats chance'
    if mean < m - margin:
        return 'below chance'
    return 'within noise'


def share_beaten(mean: float, group_means: Sequence[float]) -> Optional[float]:
    """The share of the group's means below ``mean`` (ties count half); None for an empty group."""
    group_means = list(group_means)
    if not group_means:
        return None
    return statistics.fmean(1. if mean > g else .5 if mean == g else 0. for g in group_means)


# ------------------------------------------------------------------ candidates
@dataclass
class Request:
    """What to compare (the command line of ``tools/against_chance.py``)."""
    config: str
    work_dir: str
    candidates: Sequence[tuple[str, str]] = ()   # (name, published name or file)
    random: int = 0
    matched: int = 0
    match_to: Optional[str] = None
    match_by: str = 'macs'
    band: float = 0.1
    draw_seed: int = 0
    seeds: Sequence[int] = (0,)
    random_seeds: Optional[Sequence[int]] = None   # the random and matched candidates' (default: seeds)
    workers: int = 1
    cfg_options: Optional[dict] = None
    metric: str = 'coco/bbox_mAP'
    input_size: Optional[Sequence[int]] = None
    max_draws: int = 200
    report_only: bool = False   # the table from the trainings finished so far; nothing trained


def parse_candidate(text: str) -> tuple[str, str]:
    """``NAME=PATH_OR_PUBLISHED_NAME`` (a bare published name or path names itself)."""
    name, sep, spec = text.partition('=')
    if not sep:
        spec, name = text, osp.splitext(osp.basename(text))[0]
    if not name or not spec:
        raise CandidateError(f'--candidate {text!r}: expected NAME=PATH_OR_PUBLISHED_NAME')
    if not all(c.isalnum() or c in '-_.' for c in name):
        raise CandidateError(f'--candidate {text!r}: the name {name!r} may hold letters, digits, '
                             "'-', '_' and '.' only (it names a folder)")
    return name, spec


def input_size_of(cfg: Config, given: Optional[Sequence[int]], source: str) -> tuple[int, int]:
    """(H, W) the backbone is measured at: ``--input-size``, else the config's ``input_size``, else
    its SSD anchor generator's."""
    size = given
    if size is None:
        size = cfg.get('input_size')
    if size is None:
        size = (((cfg.get('model') or {}).get('bbox_head') or {}).get('anchor_generator') or {}).get('input_size')
    if size is None:
        raise CandidateError(f'{source}: no input_size in the config (nor an SSD anchor generator\'s); '
                             'give --input-size N (or H W)')
    size = [size] if isinstance(size, int) else list(size)
    if len(size) == 1:
        size = size * 2
    if len(size) != 2 or any(isinstance(v, bool) or not isinstance(v, int) or v < 1 for v in size):
        raise CandidateError(f'input size: N or H W (positive integers), got {given or size!r}')
    return size[0], size[1]


class Comparison:
    """The candidates of one work dir: drawn, saved, checked against what the work dir already holds."""

    def __init__(self, req: Request, say: Callable[[str], None] = print) -> None:
        self.req, self.say = req, say
        if not osp.isfile(req.config):
            raise CandidateError(f'config file not found: {req.config}')
        check_workers(req.workers)
        check_band(req.band)
        for flag, seeds in (('seeds', req.seeds), ('random-seeds', req.random_seeds)):
            if seeds is None and flag == 'random-seeds':
                continue
            if not seeds:
                raise CandidateError(f'--{flag}: at least one training seed')
            if len(set(seeds)) != len(seeds):
                raise CandidateError(f'--{flag}: duplicates in {list(seeds)}')
        for flag in ('random', 'matched'):
            n = getattr(req, flag)
            if isinstance(n, bool) or not isinstance(n, int) or n < 0:
                raise CandidateError(f'--{flag}: an integer >= 0, got {n!r}')
        self.cfg = Config.fromfile(req.config)
        if req.cfg_options:
            self.cfg.merge_from_dict(dict(req.cfg_options))
        from mmengine.registry import init_default_scope
        init_default_scope(self.cfg.get('default_scope', 'mmdet'))
        self.backbone = backbone_of(self.cfg, req.config)
        self.family = family_of(self.backbone, req.config)
        self.size = input_size_of(self.cfg, req.input_size, req.config)
        self.work_dir = osp.abspath(req.work_dir)
        self.manifest_path = osp.join(self.work_dir, 'candidates.json')
        self.settings = dict(config=osp.abspath(req.config), cfg_options=dict(req.cfg_options or {}))
        self.manifest = self._read_manifest()
        self._macs_cache: dict[str, dict] = {}

    # .......................................................... work dir state
    def _read_manifest(self) -> dict:
        if not osp.isfile(self.manifest_path):
            return dict(format=MANIFEST_FORMAT, settings=self.settings, candidates={})
        with open(self.manifest_path, encoding='utf-8') as f:
            manifest = json.load(f)
        old = manifest.get('settings', {})
        for key in ('config', 'cfg_options'):
            if old.get(key) != self.settings[key]:
                raise CandidateError(
                    f'{self.work_dir} holds trainings of another setting: {key} was {old.get(key)!r}, '
                    f'now {self.settings[key]!r}. Results of different settings do not compare; '
                    'use another --work-dir (or the old setting)')
        return manifest

    def cost(self, result: Any) -> dict:
        """Backbone MACs and params with ``result`` at the input size (memoised by content)."""
        from .complexity import backbone_cost
        key = json.dumps(result.to_dict(), sort_keys=True)
        if key not in self._macs_cache:
            self._macs_cache[key] = backbone_cost(dict(self.backbone, **{self.family.key: result}),
                                                  self.size)
        return self._macs_cache[key]

    def _add(self, name: str, kind: str, source: str, result: Any, extra: Optional[dict] = None) -> dict:
        """Save a candidate's file into the work dir; refuse a name already given to another result."""
        folder = osp.join(self.work_dir, 'candidates')
        path = osp.join(folder, name + '.json')
        known = self.manifest['candidates'].get(name)
        if osp.isfile(path):
            saved = load_candidate(self.family, path, f'candidate {name!r}')
            if saved.to_dict() != result.to_dict():
                was = known['source'] if known else path
                raise CandidateError(
                    f'candidate name {name!r} is taken in {self.work_dir}: it was {was} '
                    f'({path}), and {source} is a different result. Give it another name '
                    '(or use another --work-dir)')
        else:
            os.makedirs(folder, exist_ok=True)
            result.save(path)  # atomic
        entry = dict(kind=kind, source=source, file=path, **(extra or {}))
        if known is None or any(known.get(k) != v for k, v in entry.items()):
            self.manifest['candidates'][name] = dict(known or {}, **entry)
        return self.manifest['candidates'][name]

    # .......................................................... the candidates
    def prepare(self) -> list[str]:
        """Load, draw and save every candidate; returns their names in table order."""
        req, fam = self.req, self.family
        names, given = [], {}
        for name, spec in req.candidates:
            if name in given:
                raise CandidateError(f'--candidate: the name {name!r} is given twice')
            result = load_candidate(fam, spec, f'--candidate {name}={spec}')
            kind = 'published' if spec in fam.published else 'searched'
            given[name] = result
            self._add(name, kind, spec if kind == 'published' else osp.abspath(spec), result)
            names.append(name)
        for i in range(req.random):
            name = f'random_s{req.draw_seed}_{i:03d}'
            result = fam.random(self.backbone, req.draw_seed, i)
            self._add(name, 'random', f'random candidate {i} of draw seed {req.draw_seed}', result)
            names.append(name)
        if req.matched:
            if req.match_to is None:
                raise CandidateError('--matched needs --match-to NAME, one of the --candidate names')
            if req.match_to not in given:
                raise CandidateError(f'--match-to {req.match_to!r}: not a --candidate name '
                                     f'(given: {sorted(given) or "none"})')
            self.say(f'drawing {req.matched} random candidate(s) matched to {req.match_to} '
                     f'by {req.match_by}' + (f' (within {req.band:.0%})' if req.match_by == 'macs' else ''))
            drawn = matched_candidates(fam, given[req.match_to], req.matched, req.draw_seed,
                                       req.match_by, req.band, lambda r: self.cost(r)['macs'],
                                       req.max_draws, reference_name=req.match_to)
            for i, (result, how) in enumerate(drawn):
                name = f'matched_s{req.draw_seed}_{i:03d}'
                self._add(name, 'matched', f'matched candidate {i} of draw seed {req.draw_seed}',
                          result, dict(matched=dict(how, to=req.match_to,
                                                    band=req.band if req.match_by == 'macs' else None)))
                names.append(name)
        if not names:
            raise CandidateError('nothing to compare: give --candidate, --random or --matched')
        for name in names:  # the cost of each, kept in the manifest
            entry = self.manifest['candidates'][name]
            if entry.get('input_size') != list(self.size) or 'macs' not in entry:
                result = load_candidate(fam, entry['file'], f'candidate {name!r}')
                entry.update(self.cost(result), input_size=list(self.size))
        self.manifest['settings'] = self.settings
        atomic_write_text(self.manifest_path, json.dumps(self.manifest, indent=2) + '\n')
        return names

    def seeds_of(self, names: Sequence[str]) -> dict[str, list[int]]:
        """Each candidate's training seeds: ``random_seeds`` for the random groups, else ``seeds``."""
        group = self.req.seeds if self.req.random_seeds is None else self.req.random_seeds
        return {n: list(group if self.manifest['candidates'][n]['kind'] in GROUPS else self.req.seeds)
                for n in names}

    def jobs(self, names: Sequence[str]) -> list[dict]:
        key = f'model.backbone.{self.family.key}'
        out = []
        for name, seeds in self.seeds_of(names).items():
            options = dict(self.req.cfg_options or {}, **{key: self.manifest['candidates'][name]['file']})
            for seed in seeds:
                out.append(training_job(name, self.req.config,
                                        osp.join(self.work_dir, 'runs', name, f'seed{seed}'), seed, options))
        return out


# ------------------------------------------------------------------ the table
def metric_of(result: dict, metric: str, split: str, where: str) -> float:
    metrics = result.get(split) or {}
    if metric not in metrics:
        raise CandidateError(f'{where}: its {split} metrics have no {metric!r} (they have '
                             f'{sorted(metrics)}); pick one with --metric')
    return float(metrics[metric])


def summarise(manifest: dict, seeds_of: dict[str, Sequence[int]], results: dict,
              metric: str, split: str = 'test') -> dict:
    """Rows per candidate (mean, sd, per seed, cost, rank, shares beaten, verdicts) and the groups.

    ``seeds_of`` maps each candidate's name to its training seeds; ``results`` maps (name, seed) to
    a job's result, or to the exception it raised.
    """
    rows = []
    for name, seeds in seeds_of.items():
        entry = manifest['candidates'][name]
        per_seed, failed = {}, {}
        for seed in seeds:
            r = results.get((name, seed))
            if isinstance(r, dict):
                per_seed[str(seed)] = metric_of(r, metric, split, f'{name} seed {seed}')
            else:
                failed[str(seed)] = f'{type(r).__name__}: {r}' if r is not None else 'not run'
        m, sd = mean_sd(per_seed.values()) if per_seed else (None, None)
        rows.append(dict(name=name, kind=entry['kind'], source=entry['source'], file=entry['file'],
                         mean=m, sd=sd, per_seed=per_seed, failed=failed, macs=entry.get('macs'),
                         params=entry.get('params'), matched=entry.get('matched')))
    done = sorted((r for r in rows if r['mean'] is not None), key=lambda r: -r['mean'])
    for rank, r in enumerate(done, 1):
        r['rank'] = rank
    groups = {}
    for g in GROUPS:
        members = [r for r in rows if r['kind'] == g and r['mean'] is not None]
        means = [r['mean'] for r in members]
        gm, gsd = mean_sd(means) if means else (None, None)
        groups[g] = dict(n=len(means), mean=gm, sd=gsd, label=GROUP_LABEL[g],
                         macs_mean=statistics.fmean(r['macs'] for r in members) if members else None)
    for r in rows:
        r['beats'], r['verdict'] = {}, {}
        if r['mean'] is None:
            continue
        for g in GROUPS:
            others = [o['mean'] for o in rows if o['kind'] == g and o['mean'] is not None
                      and o['name'] != r['name']]
            r['beats'][g] = share_beaten(r['mean'], others)
            if r['kind'] not in GROUPS:
                r['verdict'][g] = verdict(r['mean'], others, list(r['per_seed'].values()))
    return dict(rows=rows, groups=groups)


def _num(v: Optional[float], digits: int = 3) -> str:
    return '–' if v is None or (isinstance(v, float) and math.isnan(v)) else f'{v:.{digits}f}'


def _share(v: Optional[float]) -> str:
    return '–' if v is None else f'{v:.0%}'


def _mean_sd(row: dict) -> str:
    if row['mean'] is None:
        return '–'
    n = len(row['per_seed'])
    return f'{row["mean"]:.3f} ± {row["sd"]:.3f}' if n > 1 else f'{row["mean"]:.3f} (1 seed)'


def _random_seeds_said(s: dict) -> str:
    rs = s.get('random_seeds')
    return '' if rs is None or list(rs) == list(s['seeds']) else \
        f' (the random candidates: {", ".join(map(str, rs))})'


def markdown(summary: dict) -> str:
    """The table and the verdicts as Markdown (``chance.md``)."""
    s = summary
    h, w = s['input_size']
    lines = [f'# Against chance: {osp.basename(s["config"])}', '',
             f'`{s["metric"]}` on the {s["split"]} split after training with seeds '
             f'{", ".join(map(str, s["seeds"]))}{_random_seeds_said(s)} (mean ± sd over the seeds); '
             'backbone MACs and parameters '
             f'at {h}x{w}. "beats": the share of the uniform random / cost-matched random candidates '
             'whose mean this mean exceeds (ties count half).', '',
             '| rank | candidate | kind | mean ± sd | per seed | MACs (M) | params (M) | beats random '
             '| beats matched | file |',
             '|---:|---|---|---|---|---:|---:|---:|---:|---|']
    order = sorted(s['rows'], key=lambda r: (r.get('rank') or 10 ** 9, r['name']))
    for r in order:
        seeds = ', '.join(f'{v:.3f}' for v in r['per_seed'].values()) or '–'
        if r['failed']:
            seeds += ' (' + ', '.join(f'seed {k}: {"not run" if v == "not run" else "failed"}'
                                      for k, v in r['failed'].items()) + ')'
        ms = _mean_sd(r)
        lines.append(f'| {r.get("rank", "–")} | {r["name"]} | {r["kind"]} | {ms} | {seeds} '
                     f'| {_num(r["macs"] / 1e6 if r["macs"] else None, 2)} '
                     f'| {_num(r["params"] / 1e6 if r["params"] else None, 3)} '
                     f'| {_share(r["beats"].get("random"))} | {_share(r["beats"].get("matched"))} '
                     f'| `{osp.relpath(r["file"], s["work_dir"])}` |')
    lines += ['', '## Verdicts', '']
    for g in GROUPS:
        grp = s['groups'][g]
        if grp['n']:
            lines.append(f'- {grp["label"]} candidates: {grp["mean"]:.3f} ± {grp["sd"]:.3f} '
                         f'(n={grp["n"]}, sd of their means), backbone MACs {grp["macs_mean"] / 1e6:.2f} M on average')
        else:
            lines.append(f'- {grp["label"]} candidates: none')
    if s.get('match'):
        mt = s['match']
        lines.append(f'- cost-matched to {mt["to"]} by {mt["by"]}'
                     + (f', within {mt["band"]:.0%} of its backbone MACs' if mt['by'] == 'macs' else ''))
    lines.append('')
    for r in order:
        if r['kind'] in GROUPS or r['mean'] is None:
            continue
        said = '; '.join(f'against {GROUP_LABEL[g]}: **{r["verdict"][g]}**' for g in GROUPS)
        lines.append(f'- {r["kind"]} `{r["name"]}` ({_mean_sd(r)}): {said}')
    lines += ['', '"beats chance": the mean exceeds the group\'s mean by more than sqrt(sd_group^2 + '
              'sd_seeds^2 / n_seeds) (the spread of the group\'s means and the standard error of the '
              'candidate\'s mean over its seeds); "below chance": it falls short by more than that; '
              '"within noise": neither. With few seeds and few random candidates, "within noise" is '
              'the honest reading of small differences.', '']
    failed = [(r['name'], k, v) for r in s['rows'] for k, v in r['failed'].items()]
    if failed:
        lines += ['## Trainings without a result', '']
        lines += [f'- {n} seed {k}: {v}' for n, k, v in failed]
        lines += ['', 'Run the same command again to resume them.', '']
    return '\n'.join(lines)


def compare(req: Request, say: Callable[[str], None] = print, plot: bool = True) -> dict:
    """Prepare the candidates, train what is missing, write ``chance.json``, ``chance.md``, ``chance.png``."""
    cmp = Comparison(req, say)
    names = cmp.prepare()
    jobs = cmp.jobs(names)
    per = f'{len(req.seeds)} seed(s)' if req.random_seeds is None else \
        f'{len(req.seeds)} seed(s), the random ones {len(req.random_seeds)}'
    say(f'{len(names)} candidate(s) x {per} = {len(jobs)} training(s) in {cmp.work_dir}')
    if req.report_only:  # e.g. while another process trains them: what is finished, the rest 'not run'
        done = {i: r for i, r in enumerate(map(read_result, jobs)) if r is not None}
        say(f'report only: {len(done)} of {len(jobs)} training(s) finished')
    else:
        done = run_jobs(jobs, req.workers, say)
    results = {(j['name'], j['seed']): done.get(i) for i, j in enumerate(jobs)}
    summary = dict(format=CHANCE_FORMAT, config=osp.abspath(req.config),
                   cfg_options=dict(req.cfg_options or {}), work_dir=cmp.work_dir,
                   backbone_type=cmp.backbone.get('type'), key=f'model.backbone.{cmp.family.key}',
                   input_size=list(cmp.size), metric=req.metric, split='test', seeds=list(req.seeds),
                   random_seeds=None if req.random_seeds is None else list(req.random_seeds),
                   match=(dict(to=req.match_to, by=req.match_by, band=req.band) if req.matched else None),
                   draw_seed=req.draw_seed,
                   **summarise(cmp.manifest, cmp.seeds_of(names), results, req.metric))
    atomic_write_text(osp.join(cmp.work_dir, 'chance.json'), json.dumps(summary, indent=2) + '\n')
    atomic_write_text(osp.join(cmp.work_dir, 'chance.md'), markdown(summary))
    if plot:
        from ..visualization.chance import plot_chance
        plot_chance(summary, osp.join(cmp.work_dir, 'chance.png'))
    say(f'wrote {osp.join(cmp.work_dir, "chance.md")} (and chance.json, chance.png)')
    return summary
