"""The DARTS part of a search's report (WORK_DIR/report/README.md), registered for genotype histories.

The final cells and their cost, the parameter-free genes, the genotype; then,
after the parts every search shares (``visualization.report``), how the
architecture evolved: softmax(alpha) per edge, softmax(beta) per node, the
parameter-free ops and the cost of the genotype derived each epoch, and a
table per epoch. The cost is that of the classifier the genotype builds
(:class:`~.classifier_cost.CostSpec`, by default the DARTS ImageNet setting).
Plotting is imported when a report is written, never with the family.
"""
from __future__ import annotations

import dataclasses
import os.path as osp

from ...visualization.families import ReportContext, ReportFamily, ReportSections, register_report_family
from .classifier_cost import CostCache, CostSpec
from .result import FORMAT

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

# What the cost numbers are, and are not: users search for a detector and read them as its cost.
_COST_SCOPE = (
    'This is the network the genotype builds with the sizes above (SearchReportHook\'s `cost`, '
    '`--cost-*` of tools/analysis/search_report.py) -- not the supernet that was searched, and '
    'not your detector. For a detector with this cell, measure its config: `python '
    'tools/analysis/complexity.py CONFIG --part backbone --input-size N --cfg-options '
    'model.backbone.genotype=WORK_DIR/genotype.json` (drop `--part backbone` for the whole detector).')


def cost_network(options: dict) -> CostSpec:
    """The classifier the genotypes are measured as: ``options`` over the ImageNet defaults."""
    known = [f.name for f in dataclasses.fields(CostSpec)]
    unknown = sorted(set(options) - set(known))
    if unknown:
        raise ValueError(f'cost: {unknown} not known; a DARTS report measures the genotype\'s '
                         f'classifier, set by {known}')
    return CostSpec(**options)


def _mega(n: int) -> str:
    return f'{n / 1e6:.3f} M'


def darts_sections(history, ctx: ReportContext) -> ReportSections:
    """Draw the cells, alpha/beta, parameter-free and cost plots into ``ctx.out_dir``; the text."""
    from ...visualization.curves import plot_cost
    from .diagram import render_genotype
    from .pictures import KINDS, parameter_free_counts, plot_alpha, plot_beta, plot_parameter_free
    out_dir, spec = ctx.out_dir, ctx.cost
    final = history.final
    genotypes = history.genotypes
    images: dict[str, str | None] = {}
    for kind in KINDS:
        images[f'cell_{kind}'] = render_genotype(final, osp.join(out_dir, f'cell_{kind}.png'),
                                                 cell=kind, title='final genotype')
        images[f'alpha_{kind}'] = plot_alpha(history, kind, osp.join(out_dir, f'alpha_{kind}.png'))
    images['beta'] = plot_beta(history, osp.join(out_dir, 'beta.png'))
    images['param_free'] = plot_parameter_free(history, osp.join(out_dir, 'parameter_free_ops.png'))
    costs = None
    if spec is not None:
        cache = CostCache(spec)
        costs = [cache(g) for g in genotypes]
        ctx.log(f'search report: measured {len(cache)} distinct genotype(s)')
        images['cost'] = plot_cost(history.epochs, history.arch_active, costs, spec.describe(),
                                   osp.join(out_dir, 'cost.png'))

    def img(key: str, alt: str) -> str:
        return f'![{alt}]({osp.relpath(images[key], out_dir)})'

    result = ['## Final genotype', '',
              img('cell_normal', 'normal cell'), '',
              img('cell_reduce', 'reduction cell'), '']
    if costs is not None:
        c = costs[-1]
        result += [f'**Cost**: {_mega(c["params"])} parameters, {c["flops"] / 1e6:.1f} M FLOPs '
                   f'(multiply-adds, mmengine FlopAnalyzer) for the {spec.describe()}.', '',
                   _COST_SCOPE, '']
    counts = parameter_free_counts(final)
    result += [f'Parameter-free genes (pools, skip): normal {counts["normal_param_free"]}, reduce '
               f'{counts["reduce_param_free"]} of {2 * final.steps} each '
               f'(skip_connect: {counts["normal_skip"]}, {counts["reduce_skip"]}).', '',
               '```json', final.to_json().rstrip(), '```', '']

    evolution = ['## How the architecture evolved', '',
                 '### softmax(α) per edge', '',
                 img('alpha_normal', 'alpha, normal cell'), '',
                 img('alpha_reduce', 'alpha, reduction cell'), '',
                 '### softmax(β) per node', '']
    evolution += [img('beta', 'beta') if images['beta'] else
                  'No β: this search ran without edge normalization (DARTS).', '']
    evolution += ['### Parameter-free ops in the derived genotype', '',
                  'A growing count of skip connections in the normal cell is the collapse that '
                  'DARTS searches are known for.', '', img('param_free', 'parameter-free ops'), '']
    if costs is not None:
        evolution += ['### Cost of the derived genotype', '',
                      f'Each epoch\'s derived genotype, measured as the {spec.describe()}.', '',
                      img('cost', 'params and FLOPs'), '']
    evolution += ['### Per epoch', '']
    header = '| epoch | α/β updated | normal: param-free (skip) | reduce: param-free (skip) |'
    rule = '|---|---|---|---|'
    if costs is not None:
        # the column names say which network they cost (the table is read on its own)
        header += f' params ({spec.short()}) | FLOPs ({spec.short()}) |'
        rule += '---|---|'
    evolution += [header + ' genotype |', rule + '---|']
    previous = None
    for i, (entry, g) in enumerate(zip(history.entries, genotypes)):
        c = parameter_free_counts(g)
        row = (f'| {entry["epoch"]} | {"yes" if history.arch_active[i] else "no (warm-up)"} | '
               f'{c["normal_param_free"]} ({c["normal_skip"]}) | '
               f'{c["reduce_param_free"]} ({c["reduce_skip"]}) |')
        if costs is not None:
            row += f' {_mega(costs[i]["params"])} | {costs[i]["flops"] / 1e6:.1f} M |'
        row += ' same |' if g == previous else (' first |' if previous is None else ' changed |')
        evolution.append(row)
        previous = g
    evolution.append('')
    frozen = sum(not a for a in history.arch_active)
    return ReportSections(phases=f'α/β frozen in {frozen} of them', result=result,
                          evolution=evolution, settings=SETTINGS)


def _load(entries: list, source: str):
    from .pictures import check_history
    return check_history(source, entries)


register_report_family(ReportFamily(format=FORMAT, field='genotype', load=_load,
                                    sections=darts_sections, cost=cost_network))
