"""WORK_DIR/report/README.md: what a search found, its cost and how it got there, from its history.

Inputs: ``search_history.json`` (DerivationHook) and, for the settings table,
the config MMEngine dumped into the work dir (optional). Everything in the
report folder is regenerated on every call, with deterministic file names
and contents, so ``tools/analysis/search_report.py WORK_DIR`` can rebuild it
at any time.
"""
from __future__ import annotations

import glob
import os
import os.path as osp
from typing import Any, Optional, Union

from ..core.signal import CHANCE_CHECK, judge_entry
from ..engine.preflight import RUNNER_KEYS
from ..utils.io import atomic_write_text
from .cost import CostCache, CostSpec
from .history import (
    KINDS,
    SearchHistory,
    load_history,
    parameter_free_counts,
    plot_alpha,
    plot_beta,
    plot_cost,
    plot_parameter_free,
    read_entries,
)

REPORT_DIR = 'report'

# (label, dotted key) rows of the settings table; missing keys are left out.
SETTINGS = (
    ('algorithm', 'model.type'),
    ('search space', 'model.space.type'),
    # a classification search (ModelSearchSpace): the search classifier and its searchable backbone
    ('model', 'model.space.model.type'),
    ('searchable backbone', 'model.space.model.backbone.type'),
    ('channels per node C', 'model.space.model.backbone.C'),
    ('cells (layers)', 'model.space.model.backbone.layers'),
    ('nodes per cell (steps)', 'model.space.model.backbone.steps'),
    ('partial channels K', 'model.space.model.backbone.partial_k'),
    ('stem', 'model.space.model.backbone.stem'),
    ('classes', 'model.space.model.num_classes'),
    ('operations', 'model.space.model.backbone.primitives'),
    # the deprecated DartsClassifierSpace's layout
    ('supernet', 'model.space.supernet.type'),
    ('channels per node C', 'model.space.supernet.C'),
    ('cells (layers)', 'model.space.supernet.layers'),
    ('nodes per cell (steps)', 'model.space.supernet.steps'),
    ('partial channels K', 'model.space.supernet.partial_k'),
    ('stem', 'model.space.supernet.stem'),
    ('classes', 'model.space.supernet.num_classes'),
    ('operations', 'model.space.supernet.primitives'),
    ('edge normalization (β)', 'model.space.edge_norm'),
    # a detection search (DetectorSearchSpace): the detector and its searchable backbone
    ('detector', 'model.space.detector.type'),
    ('searchable backbone', 'model.space.detector.backbone.type'),
    ('channels per node C', 'model.space.detector.backbone.C'),
    ('cells (layers)', 'model.space.detector.backbone.layers'),
    ('partial channels K', 'model.space.detector.backbone.partial_k'),
    ('neck', 'model.space.detector.neck.type'),
    ('head', 'model.space.detector.bbox_head.type'),
    ('classes', 'model.space.detector.bbox_head.num_classes'),
    ('architecture parameters', 'model.space.arch'),
    ('second order (unrolled)', 'model.unrolled'),
    ('resource cost term', 'model.space.cost'),
    ('epochs', 'train_cfg.max_epochs'),
    ('α/β warm-up epochs (frozen)', 'train_cfg.arch_warmup_epochs'),
    ('weight split', 'train_dataloader.dataset.ann_file'),
    ('weight batch size', 'train_dataloader.batch_size'),
    ('architecture split', 'train_cfg.arch_dataloader.dataset.ann_file'),
    ('architecture batch size', 'train_cfg.arch_dataloader.batch_size'),
    ('images', 'train_dataloader.dataset.data_prefix'),
    ('weight optimizer', 'optim_wrapper.weights.optimizer'),
    ('architecture optimizer', 'optim_wrapper.arch.optimizer'),
    ('seed', 'randomness.seed'),
)


def find_config(work_dir: str) -> Optional[str]:
    """The latest run's config: ``<timestamp>/vis_data/config.py``, else the dumped ``*.py``."""
    runs = sorted(glob.glob(osp.join(glob.escape(work_dir), '*', 'vis_data', 'config.py')))
    if runs:
        return runs[-1]
    dumped = sorted(glob.glob(osp.join(glob.escape(work_dir), '*.py')), key=osp.getmtime)
    return dumped[-1] if dumped else None


# The same for a Single-Path NAS search (one level: no architecture split or optimizer).
SINGLEPATH_SETTINGS = (
    ('algorithm', 'model.type'),
    ('search space', 'model.space.type'),
    ('model', 'model.space.model.type'),
    ('classes', 'model.space.model.num_classes'),
    ('width multiplier', 'model.space.model.backbone.width_mult'),
    ('block table', 'model.space.model.backbone.blocks'),
    ('label smoothing', 'model.space.model.label_smoothing'),
    ('architecture parameters (warm-up, L2 in the loss)', 'model.space.arch'),
    ('runtime term (λ after the warm-up, scale, runtime model)', 'model.space.cost'),
    # the deprecated SinglePathSpace's layout
    ('classes', 'model.space.supernet.num_classes'),
    ('width multiplier', 'model.space.supernet.width_mult'),
    ('block table', 'model.space.supernet.blocks'),
    ('runtime model', 'model.space.runtime'),
    ('λ (after the warm-up)', 'model.space.runtime_lambda'),
    ('λ scale', 'model.space.runtime_scale'),
    ('warm-up epochs', 'model.space.warmup_epochs'),
    ('warm-up iterations', 'model.space.warmup_iters'),
    ('indicator keep probability (warm-up)', 'model.space.keep_prob'),
    ('label smoothing', 'model.space.label_smoothing'),
    ('L2 in the loss', 'model.space.weight_decay'),
    ('epochs', 'train_cfg.max_epochs'),
    ('train split', 'train_dataloader.dataset.ann_file'),
    ('batch size', 'train_dataloader.batch_size'),
    ('images', 'train_dataloader.dataset.data_prefix'),
    ('optimizer (weights and thresholds)', 'optim_wrapper.weights.optimizer'),
    ('per-parameter settings', 'optim_wrapper.paramwise_cfg'),
    ('seed', 'randomness.seed'),
)


def load_settings(path: str, table: tuple = SETTINGS) -> tuple[list[tuple[str, str]], str, list[str]]:
    """Rows of the settings table, the config that ran, and the top-level names left out of it.

    The config MMEngine dumps holds every top-level name of the config file
    and its bases, including parse-time variables (``arch_warmup_epochs``,
    ``arch_dataloader``, ``train_images`` ...) whose values were already
    copied into the keys that use them, or never used. Only the keys a
    runner reads are what ran, so the report shows those.
    """
    from mmengine.config import Config
    cfg = Config.fromfile(path, import_custom_modules=False)
    model = cfg.get('model')
    # a config of before names the space model.architecture (config keys: docs/design.md, "Names")
    space = (model.get('space') or model.get('architecture')) if hasattr(model, 'get') else None
    rows = []
    for label, key in table:
        value: Any = cfg
        if key.startswith('model.space.'):
            value, key = space, key[len('model.space.'):]
        for part in key.split('.'):
            value = value.get(part) if hasattr(value, 'get') else None
            if value is None:
                break
        if value is not None:
            rows.append((label, _fmt(value)))
    crop = _crop_size(cfg)
    if crop is not None:
        labels = [label for label, _ in rows]
        at = labels.index('weight optimizer') if 'weight optimizer' in labels else len(rows)
        rows.insert(at, ('crop size', _fmt(crop)))
    ran = {k: cfg[k] for k in cfg.keys() if k in RUNNER_KEYS}
    left_out = sorted(k for k in cfg.keys() if k not in RUNNER_KEYS)
    return rows, Config(ran).pretty_text, left_out


def _fmt(value: Any) -> str:
    if hasattr(value, 'to_dict'):
        value = value.to_dict()
    if isinstance(value, dict):
        return ', '.join(f'{k}={_fmt(v)}' for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return '[' + ', '.join(_fmt(v) for v in value) + ']'
    return str(value)


def _crop_size(cfg) -> Optional[Any]:
    pipeline = cfg.get('train_dataloader', {}).get('dataset', {}).get('pipeline') or []
    for t in pipeline:
        if isinstance(t, dict) and 'Crop' in str(t.get('type', '')):
            return t.get('size', t.get('crop_size', t.get('scale')))
    return None


def _mega(n: int) -> str:
    return f'{n / 1e6:.3f} M'


def write_report(work_dir: Union[str, os.PathLike], cost: Optional[CostSpec] = CostSpec(),
                 out_dir: Optional[str] = None, logger=None) -> str:
    """Write the report and its images; return the README path.

    ``cost=None`` leaves out parameters and FLOPs (which build and trace the
    network once per distinct genotype).
    """
    from .cell_diagram import render_genotype
    from .singlepath_history import is_singlepath_history
    work_dir = os.fspath(work_dir)
    _, entries = read_entries(work_dir)
    if is_singlepath_history(entries):
        return write_singlepath_report(work_dir, entries, out_dir)
    history = load_history(work_dir)
    out_dir = out_dir or osp.join(work_dir, REPORT_DIR)
    os.makedirs(out_dir, exist_ok=True)
    log = logger.info if logger is not None else (lambda msg: None)

    final = history.final
    genotypes = history.genotypes
    images: dict[str, Optional[str]] = {}
    for kind in KINDS:
        images[f'cell_{kind}'] = render_genotype(final, osp.join(out_dir, f'cell_{kind}.png'),
                                                 cell=kind, title='final genotype')
        images[f'alpha_{kind}'] = plot_alpha(history, kind, osp.join(out_dir, f'alpha_{kind}.png'))
    images['beta'] = plot_beta(history, osp.join(out_dir, 'beta.png'))
    images['param_free'] = plot_parameter_free(history, osp.join(out_dir, 'parameter_free_ops.png'))
    costs = None
    if cost is not None:
        cache = CostCache(cost)
        costs = []
        for g in genotypes:
            costs.append(cache(g))
        log(f'search report: measured {len(cache)} distinct genotype(s)')
        images['cost'] = plot_cost(history, costs, cost.describe(),
                                   osp.join(out_dir, 'cost.png'))
    config = find_config(work_dir)
    settings = None
    if config is not None:
        try:
            settings = load_settings(config)
        except Exception as e:  # a report without settings beats no report
            settings = ([('config', f'{osp.relpath(config, work_dir)} could not be read: '
                                    f'{type(e).__name__}: {e}')], None, [])
    readme = osp.join(out_dir, 'README.md')
    atomic_write_text(readme, _markdown(history, images, costs, cost, settings, config,
                                        work_dir, out_dir))
    return readme


# What the cost numbers are, and are not: users search for a detector and read them as its cost.
_COST_SCOPE = (
    'This is the network the genotype builds with the sizes above (SearchReportHook\'s `cost`, '
    '`--cost-*` of tools/analysis/search_report.py) -- not the supernet that was searched, and '
    'not your detector. For a detector with this cell, measure its config: `python '
    'tools/analysis/complexity.py CONFIG --part backbone --input-size N --cfg-options '
    'model.backbone.genotype=WORK_DIR/genotype.json` (drop `--part backbone` for the whole detector).')


def _markdown(history: SearchHistory, images: dict, costs, spec: Optional[CostSpec], settings,
              config: Optional[str], work_dir: str, out_dir: str) -> str:
    def img(key: str, alt: str) -> str:
        return f'![{alt}]({osp.relpath(images[key], out_dir)})'

    final, last = history.final, history.entries[-1]
    n = len(history.entries)
    frozen = sum(not a for a in history.arch_active)
    lines = [
        f'# Search report: {osp.basename(osp.abspath(work_dir))}',
        '',
        f'{n} epoch(s) recorded in `search_history.json` (last: epoch {last["epoch"]}, '
        f'iteration {last.get("iter", "?")}; α/β frozen in {frozen} of them). '
        'Regenerate with `python tools/analysis/search_report.py WORK_DIR`.',
        '',
        '## Final genotype',
        '',
        img('cell_normal', 'normal cell'),
        '',
        img('cell_reduce', 'reduction cell'),
        '',
    ]
    if costs is not None:
        c = costs[-1]
        lines += [f'**Cost**: {_mega(c["params"])} parameters, {c["flops"] / 1e6:.1f} M FLOPs '
                  f'(multiply-adds, mmengine FlopAnalyzer) for the {spec.describe()}.', '',
                  _COST_SCOPE, '']
    counts = parameter_free_counts(final)
    lines += [f'Parameter-free genes (pools, skip): normal {counts["normal_param_free"]}, reduce '
              f'{counts["reduce_param_free"]} of {2 * final.steps} each '
              f'(skip_connect: {counts["normal_skip"]}, {counts["reduce_skip"]}).', '',
              '```json', final.to_json().rstrip(), '```', '']

    lines += signal_markdown(history.entries)
    lines += _settings_markdown(settings, config, work_dir)

    lines += ['## How the architecture evolved', '',
              '### softmax(α) per edge', '',
              img('alpha_normal', 'alpha, normal cell'), '',
              img('alpha_reduce', 'alpha, reduction cell'), '',
              '### softmax(β) per node', '']
    lines += [img('beta', 'beta') if images['beta'] else
              'No β: this search ran without edge normalization (DARTS).', '']
    lines += ['### Parameter-free ops in the derived genotype', '',
              'A growing count of skip connections in the normal cell is the collapse that '
              'DARTS searches are known for.', '', img('param_free', 'parameter-free ops'), '']
    if costs is not None:
        lines += ['### Cost of the derived genotype', '',
                  f'Each epoch\'s derived genotype, measured as the {spec.describe()}.', '',
                  img('cost', 'params and FLOPs'), '']
    lines += ['### Per epoch', '']
    header = '| epoch | α/β updated | normal: param-free (skip) | reduce: param-free (skip) |'
    rule = '|---|---|---|---|'
    if costs is not None:
        # the column names say which network they cost (the table is read on its own)
        header += f' params ({spec.short()}) | FLOPs ({spec.short()}) |'
        rule += '---|---|'
    lines += [header + ' genotype |', rule + '---|']
    previous = None
    for i, (entry, g) in enumerate(zip(history.entries, history.genotypes)):
        c = parameter_free_counts(g)
        row = (f'| {entry["epoch"]} | {"yes" if history.arch_active[i] else "no (warm-up)"} | '
               f'{c["normal_param_free"]} ({c["normal_skip"]}) | '
               f'{c["reduce_param_free"]} ({c["reduce_skip"]}) |')
        if costs is not None:
            row += f' {_mega(costs[i]["params"])} | {costs[i]["flops"] / 1e6:.1f} M |'
        row += ' same |' if g == previous else (' first |' if previous is None else ' changed |')
        lines.append(row)
        previous = g
    lines.append('')
    return '\n'.join(lines)


def signal_markdown(entries: list[dict]) -> list[str]:
    """"Did the search learn anything?": the final verdict (``core.signal``) and, per epoch, the
    architecture steps and the space's distance from the start. Empty for a history without them
    (written before they were recorded)."""
    signal = judge_entry(entries[-1])
    if signal is None:
        return []
    lines = ['## Did the search learn anything?', '', signal.summary() + '.', '']
    if signal.learned_nothing:
        lines += ['> **Warning: ' + signal.warning() + '**', '']
    else:
        lines += ['The architecture parameters moved and the search took enough architecture steps '
                  'for their gradient to rise above its noise. That is necessary, not sufficient: '
                  'whether the result beats random cells of the space only a comparison shows '
                  '(with several seeds, `tools/analysis/seed_agreement.py` counts the genes their '
                  f'results share against random ones; {CHANCE_CHECK}).', '']
    rows = [(e['epoch'], e.get('arch_steps'), (e.get('movement') or {}).get('distance'))
            for e in entries]
    measure = (entries[-1].get('movement') or {}).get('measure', 'distance')
    lines += [f'| epoch | architecture steps | {measure} |', '|---|---|---|']
    lines += [f'| {ep} | {"" if n is None else n} | {"" if d is None else f"{d:.4f}"} |'
              for ep, n, d in rows]
    lines.append('')
    return lines


def _settings_markdown(settings, config: Optional[str], work_dir: str) -> list[str]:
    """The settings table and the config that ran (any search space)."""
    lines = ['## Search settings', '']
    if settings is None:
        lines += ['No dumped config found in the work dir.', '']
    else:
        rows, text, left_out = settings
        lines += [f'From `{osp.relpath(config, work_dir)}`.', '',
                  '| setting | value |', '|---|---|']
        lines += [f'| {k} | {str(v).replace("|", "/")} |' for k, v in rows]
        lines.append('')
        if text is not None:
            lines += ['<details><summary>Full config (what ran)</summary>', '',
                      'The keys the runner read, with the values it used. ']
            if left_out:
                lines[-1] += ('Left out: the config files\' other top-level names, variables used '
                              'while the files were parsed (their values are in the keys above '
                              f'where they were used): {", ".join(f"`{k}`" for k in left_out)}.')
            lines += ['', '```python', text.rstrip(), '```', '', '</details>', '']
    return lines


def write_singlepath_report(work_dir: str, entries: list, out_dir: Optional[str] = None) -> str:
    """The report of a Single-Path NAS search: final architecture, its runtime, the thresholds,
    indicator margins, ops and runtime estimate per epoch, and the settings."""
    from .singlepath_history import singlepath_section
    out_dir = out_dir or osp.join(work_dir, REPORT_DIR)
    os.makedirs(out_dir, exist_ok=True)
    last = entries[-1]
    warm = sum(bool(e.get('in_warmup')) for e in entries)
    lines = [f'# Search report: {osp.basename(osp.abspath(work_dir))}', '',
             f'Single-Path NAS: {len(entries)} epoch(s) recorded in `search_history.json` (last: '
             f'epoch {last["epoch"]}, iteration {last.get("iter", "?")}; warm-up, with indicator '
             f'dropout and λ = 0, in {warm} of them). Regenerate with '
             '`python tools/analysis/search_report.py WORK_DIR`.', '']
    lines += singlepath_section(entries, out_dir)
    lines += signal_markdown(entries)
    config = find_config(work_dir)
    settings = None
    if config is not None:
        try:
            settings = load_settings(config, SINGLEPATH_SETTINGS)
        except Exception as e:  # a report without settings beats no report
            settings = ([('config', f'{osp.relpath(config, work_dir)} could not be read: '
                                    f'{type(e).__name__}: {e}')], None, [])
    lines += _settings_markdown(settings, config, work_dir)
    readme = osp.join(out_dir, 'README.md')
    atomic_write_text(readme, '\n'.join(lines))
    return readme
