"""The Single-Path part of a search's report (WORK_DIR/report/README.md), registered for its histories.

The final architecture as a network strip and as text, its runtime estimate,
and how the architecture evolved: the op of every searchable layer, the
thresholds and indicator margins and the runtime estimate R per epoch, and a
table per epoch; the parts every search shares (``visualization.report``)
follow. Plotting is imported when a report is written, never with the family.
"""
from __future__ import annotations

import os.path as osp
from typing import Sequence

from ...visualization.families import (
    ReportContext,
    ReportFamily,
    ReportSections,
    check_entry_fields,
    register_report_family,
)
from .result import FORMAT

# (label, dotted key) rows of the settings table (one level: no architecture split or optimizer).
SETTINGS = (
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

REQUIRED = ('epoch', 'architecture', 'thresholds', 'norms', 'searchable_layers')


def check_entries(entries: list, source: str) -> list:
    """The entries of a Single-Path history, each with the fields the pictures read."""
    check_entry_fields(entries, source, REQUIRED)
    return entries


def singlepath_section(entries: Sequence[dict], out_dir: str) -> list[str]:
    """Markdown lines (with their images written to ``out_dir``) for a Single-Path search."""
    from .pictures import plot_ops, plot_runtime, plot_thresholds, render_final, searchable_ops
    from .result import Architecture
    images = {
        'strip': render_final(entries, osp.join(out_dir, 'architecture.png')),
        'ops': plot_ops(entries, osp.join(out_dir, 'ops.png')),
        'thresholds': plot_thresholds(entries, osp.join(out_dir, 'thresholds.png')),
        'runtime': plot_runtime(entries, osp.join(out_dir, 'runtime.png')),
    }

    def img(key: str, alt: str) -> str:
        return f'![{alt}]({osp.relpath(images[key], out_dir)})'

    last = entries[-1]
    arch = Architecture.from_dict(last['architecture'], source='final architecture')
    lines = ['## Final architecture', '', img('strip', 'final architecture'), '',
             f'`{arch.to_text()}`', '']
    if 'runtime' in last:
        lines += [f'**Runtime estimate**: R = {last["runtime"]:.4g} {last["runtime_unit"]} '
                  f'({last.get("runtime_metric", "")}; the reference\'s formula on the derived '
                  'network).', '']
    lines += ['## How the architecture evolved', '', img('ops', 'op per layer'), '',
              img('thresholds', 'thresholds and margins'), '']
    if images['runtime']:
        lines += [img('runtime', 'runtime estimate'), '']
    header = '| epoch | warm-up | ops (searchable layers) |'
    rule = '|---|---|---|'
    if 'runtime' in last:
        header, rule = header + ' R |', rule + '---|'
    lines += ['### Per epoch', '', header, rule]
    for e in entries:
        row = (f'| {e["epoch"]} | {"yes" if e.get("in_warmup") else "no"} | '
               f'{" ".join(searchable_ops(e))} |')
        if 'runtime' in last:
            row += f' {e["runtime"]:.4g} |'
        lines.append(row)
    lines.append('')
    return lines


def singlepath_sections(entries: list, ctx: ReportContext) -> ReportSections:
    """The whole story before the shared parts: the result, then how it evolved (as it always read)."""
    warm = sum(bool(e.get('in_warmup')) for e in entries)
    return ReportSections(phases=f'warm-up, with indicator dropout and λ = 0, in {warm} of them',
                          result=singlepath_section(entries, ctx.out_dir), settings=SETTINGS)


register_report_family(ReportFamily(format=FORMAT, field='architecture', load=check_entries,
                                    sections=singlepath_sections, label='Single-Path NAS'))
