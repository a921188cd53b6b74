"""What an experiment tracker shows of a DARTS / PC-DARTS search each epoch (``SearchSpace.tracking``).

Scalars: every edge's op weights (``alpha_<kind>/<edge>/<op>``, softmax(alpha),
or sigmoid(alpha) for Fair DARTS, as in the history and the report), its
edge weight (``beta_<kind>/<edge>``, node-softmax(beta), with edge
normalization) and the parameter-free and skip genes of the derived cells
(``genotype/<kind>_param_free``, ``genotype/<kind>_skip``). An edge is named
by the node it feeds and the state it reads: ``n1<-c_k-1``, ``n2<-n0``. The
derived genotype is a text (DARTS' ``Genotype(...)`` form) and each cell's
diagram an image (``cell_normal``, ``cell_reduce``), drawn as in the report.
"""
from __future__ import annotations

import torch

from ...core.search_space import Tracking
from .arch import ArchParameters
from .result import Genotype
from .topology import cell_edges

KINDS = ('normal', 'reduce')


def edge_name(node: int, state: int) -> str:
    return f'n{node}<-' + (('c_k-2', 'c_k-1')[state] if state < 2 else f'n{state - 2}')


@torch.no_grad()
def darts_tracking(arch: ArchParameters, genotype: Genotype, images: bool = True) -> Tracking:
    from .pictures import parameter_free_counts
    scalars: dict[str, float] = {}
    for kind in KINDS:
        reduction = kind == 'reduce'
        ops = arch.op_weights(reduction).cpu()
        betas = arch.edge_weights(reduction)
        for e in cell_edges(arch.steps, reduction):
            name = edge_name(e.node, e.input)
            for k, op in enumerate(arch.primitives):
                scalars[f'alpha_{kind}/{name}/{op}'] = float(ops[e.index, k])
            if betas is not None:
                scalars[f'beta_{kind}/{name}'] = float(betas[e.index])
    scalars.update({f'genotype/{k}': float(v) for k, v in parameter_free_counts(genotype).items()})
    out = Tracking(scalars=scalars, texts={'genotype': str(genotype)})
    if images:
        from ...visualization.figure import figure_rgb
        from .diagram import cells_figure
        for kind in KINDS:
            fig, _ = cells_figure(genotype, (kind,))
            out.images[f'cell_{kind}'] = figure_rgb(fig)
    return out
