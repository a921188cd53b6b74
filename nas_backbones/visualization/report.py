"""WORK_DIR/report/README.md: what a search found, its cost and how it got there, from its history.

Inputs: ``search_history.json`` (DerivationHook) and, for the settings table,
the config MMEngine dumped into the work dir (optional). The space family
whose result the history holds writes its sections and draws its pictures
(``visualization.families``: each family registers them in its own
``report.py``); this module writes what every search shares around them:
the title and summary, the search-signal verdict, the settings table and the
config that ran. Everything in the report folder is regenerated on every
call, with deterministic file names and contents, so
``tools/analysis/search_report.py WORK_DIR`` can rebuild it at any time.
"""
from __future__ import annotations

import glob
import json
import os
import os.path as osp
from typing import Any, Optional, Sequence, Union

from ..core.signal import CHANCE_CHECK, judge_entry
from ..engine.derivation_hook import HISTORY_FILE
from ..engine.preflight import RUNNER_KEYS
from ..utils.io import atomic_write_text
from .families import ReportContext, report_family

REPORT_DIR = 'report'


def find_config(work_dir: str) -> Optional[str]:
    """The latest run's config: ``<timestamp>/vis_data/config.py``, else the dumped ``*.py``."""
    runs = sorted(glob.glob(osp.join(glob.escape(work_dir), '*', 'vis_data', 'config.py')))
    if runs:
        return runs[-1]
    dumped = sorted(glob.glob(osp.join(glob.escape(work_dir), '*.py')), key=osp.getmtime)
    return dumped[-1] if dumped else None


def load_settings(path: str, table: Sequence[tuple[str, str]]) -> tuple[list[tuple[str, str]], str, list[str]]:
    """Rows of the settings table (``(label, dotted key)`` rows, the family's), the config that ran,
    and the top-level names left out of it.

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


def read_entries(path: Union[str, os.PathLike]) -> tuple[str, list]:
    """The history file's path and its per-epoch entries, unchecked (any search space)."""
    path = os.fspath(path)
    if os.path.isdir(path):
        path = os.path.join(path, HISTORY_FILE)
    if not os.path.isfile(path):
        raise FileNotFoundError(f'{path} not found: a search writes it through DerivationHook '
                                "(custom_hooks=[dict(type='DerivationHook'), ...])")
    with open(path, encoding='utf-8') as f:
        try:
            data = json.load(f)
        except json.JSONDecodeError as e:
            raise ValueError(f'{path}: invalid JSON: {e}') from None
    entries = data.get('history') if isinstance(data, dict) else None
    if not isinstance(entries, list) or not entries:
        raise ValueError(f'{path}: expected {{"history": [ ...one entry per epoch... ]}} with at '
                         'least one entry')
    return path, entries


def write_report(work_dir: Union[str, os.PathLike], cost: Any = True,
                 out_dir: Optional[str] = None, logger=None) -> str:
    """Write the report and its images; return the README path.

    ``cost``: what the family measures its results as (DARTS: the genotype's
    classifier, one build and trace per distinct genotype): ``True`` its
    default, a dict (or an object with ``to_dict``) of the family's options over
    its defaults, ``False``/``None`` no cost. A family without a cost network
    ignores it.
    """
    work_dir = os.fspath(work_dir)
    source, entries = read_entries(work_dir)
    family = report_family(entries, source)
    history = family.load(entries, source)
    network = None
    if cost is not None and cost is not False and family.cost is not None:
        options = {} if cost is True else cost.to_dict() if hasattr(cost, 'to_dict') else dict(cost)
        network = family.cost(options)
    out_dir = out_dir or osp.join(work_dir, REPORT_DIR)
    os.makedirs(out_dir, exist_ok=True)
    log = logger.info if logger is not None else (lambda msg: None)
    sections = family.sections(history, ReportContext(work_dir, out_dir, network, log))

    config = find_config(work_dir)
    settings = None
    if config is not None:
        try:
            settings = load_settings(config, sections.settings)
        except Exception as e:  # a report without settings beats no report
            settings = ([('config', f'{osp.relpath(config, work_dir)} could not be read: '
                                    f'{type(e).__name__}: {e}')], None, [])
    last = entries[-1]
    label = f'{family.label}: ' if family.label else ''
    lines = [f'# Search report: {osp.basename(osp.abspath(work_dir))}', '',
             f'{label}{len(entries)} epoch(s) recorded in `search_history.json` (last: epoch '
             f'{last["epoch"]}, iteration {last.get("iter", "?")}; {sections.phases}). '
             'Regenerate with `python tools/analysis/search_report.py WORK_DIR`.', '']
    lines += sections.result
    lines += signal_markdown(entries)
    lines += settings_markdown(settings, config, work_dir)
    lines += sections.evolution
    readme = osp.join(out_dir, 'README.md')
    atomic_write_text(readme, '\n'.join(lines))
    return readme


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


def settings_markdown(settings, config: Optional[str], work_dir: str) -> list[str]:
    """The settings table and the config that ran."""
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
