"""The DARTS space's architecture encoding for the latency predictor, and random architectures to measure.

:func:`predictor_task` gives ``tools/analysis/latency_predictor.py`` the networks of a
cell-search or network-search config (registered for its space types).

The weight of op ``o`` on edge ``e`` of a cell: a genotype puts 1 where a
gene picks that op on that edge; a search's soft weights put
``2 * beta_e * softmax(alpha_e)_o`` (beta softmaxed over the node's edges,
``2/n`` without edge normalization), the weighting of
:class:`~nas_backbones.spaces.darts.cost.ResourceCost`, equal to the
genotype's when alpha and beta are one-hot. These (edges x ops) blocks, per
stage and cell kind, are summed over the edges of each class (the edges
that read a cell input, strided in a reduction cell, and the others: within
a class every edge runs at the same width and resolution) and multiplied
by the stage's cells of that kind. The features are those sums (per stage,
cell kind, edge class and op), then the macro numbers: C, the input size
and the normal cells of each stage. Stage 1 has no reduction cell.

``per_edge=True`` puts the blocks themselves in front (Latency-Aware DARTS'
one-hot op per edge): ten times the features, which a few hundred
measurements do not pin down (``benchmarks/README.md`` compares both).
The cell search shares alpha/beta between stages, so its stages repeat;
the network-level search gives each stage its genotype.
"""
from __future__ import annotations

import random
from typing import Optional, Sequence

import torch

from ...core.predictor import MeasureTask, PredictorError, register_predictor_task
from .layout import reduction_indices
from .ops import DEFAULT_PRIMITIVES
from .result import Genotype
from .sample import random_genotype
from .topology import node_edge_ranges, num_edges

ENCODING_VERSION = 2


def stage_cells_of(layers: int, reductions: Sequence[int]) -> list[int]:
    """Normal cells per stage of a plan (stage 1 first); a reduction cell opens every later stage."""
    bounds = [-1] + list(reductions) + [layers]
    return [bounds[i + 1] - bounds[i] - 1 for i in range(len(bounds) - 1)]


def layout_of(stage_cells: Sequence[int]) -> tuple[int, list[int]]:
    """``(layers, reductions)`` of a network with these normal cells per stage (inverse of stage_cells_of)."""
    reductions, i = [], stage_cells[0]
    for n in stage_cells[1:]:
        reductions.append(i)
        i += 1 + n
    return i, reductions


def macro_values(macro: dict) -> dict[str, float]:
    """The macro numbers by name, as a predictor's ``macro_range`` keys them."""
    out = {'C': macro['C'], 'input_size': macro['input_size']}
    out.update({f'stage_cells[{i}]': n for i, n in enumerate(macro['stage_cells'])})
    return out


class DartsEncoding:
    """Features of a DARTS-family network: op weights summed per stage, cell kind and edge class; the macro numbers.

    Args:
        steps: intermediate nodes per cell.
        primitives: the op vocabulary (the blocks' column order).
        stages: stages of cells (3: DARTS' two reductions).
        per_edge: put every edge's op weights in front too.
    """

    def __init__(self, steps: int = 4, primitives: Sequence[str] = DEFAULT_PRIMITIVES,
                 stages: int = 3, per_edge: bool = False) -> None:
        self.steps, self.primitives, self.stages = steps, tuple(primitives), stages
        self.per_edge = bool(per_edge)
        self.edges = num_edges(steps)
        self.block = self.edges * len(self.primitives)
        # Edges reading a cell input (state 0 or 1): the strided ones of a reduction cell.
        self.input_edges = torch.tensor([j < 2 for start, n in node_edge_ranges(steps) for j in range(n)])
        self.size = (2 * stages * self.block if self.per_edge else 0) + 4 * stages * len(self.primitives) + 2 + stages

    def spec(self) -> dict:
        """What a predictor file records; a predictor is only used with an equal encoding."""
        return dict(space='darts', version=ENCODING_VERSION, steps=self.steps,
                    primitives=list(self.primitives), stages=self.stages, per_edge=self.per_edge)

    # ------------------------------------------------------------------ blocks
    def hard_block(self, genotype: Genotype, reduction: bool) -> torch.Tensor:
        """The one-hot (edges, ops) block of a genotype's normal or reduction cell."""
        if genotype.steps != self.steps:
            raise PredictorError(f'genotype has {genotype.steps} nodes per cell; the encoding '
                                 f'has {self.steps}')
        block = torch.zeros(self.edges, len(self.primitives))
        genes = genotype.genes(reduction)
        for i, (start, _) in enumerate(node_edge_ranges(self.steps)):
            for op, j in genes[2 * i:2 * i + 2]:
                if op not in self.primitives:
                    raise PredictorError(f'genotype op {op!r} is not in the encoding\'s ops '
                                         f'{list(self.primitives)}')
                block[start + j, self.primitives.index(op)] += 1.
        return block

    def soft_block(self, op_weights: torch.Tensor, edge_weights: Optional[torch.Tensor]) -> torch.Tensor:
        """``2 * beta * softmax(alpha)`` per edge (differentiable in both)."""
        if edge_weights is None:
            edge_weights = torch.cat([torch.full((n,), 1. / n) for _, n in node_edge_ranges(self.steps)])
        return 2 * edge_weights.to(op_weights)[:, None] * op_weights

    # ---------------------------------------------------------------- features
    def features(self, blocks: Sequence[tuple[torch.Tensor, torch.Tensor]], C: int, input_size: int,
                 stage_cells: Sequence[int]) -> torch.Tensor:
        """One vector from per-stage ``(normal, reduce)`` blocks and the macro numbers."""
        if len(blocks) != self.stages or len(stage_cells) != self.stages:
            raise PredictorError(f'the encoding has {self.stages} stages of cells; got '
                                 f'{len(blocks)} stage blocks and stage_cells {list(stage_cells)}')
        parts, counts = [], []
        inputs = self.input_edges.to(blocks[0][0].device)
        for s, ((normal, reduce), n) in enumerate(zip(blocks, stage_cells)):
            for block, cells in ((normal, float(n)), (reduce, 1. if s > 0 else 0.)):
                parts.append(block.flatten() * (1. if cells else 0.))
                counts += [block[inputs].sum(0) * cells, block[~inputs].sum(0) * cells]
        ref = parts[0]
        macro = torch.tensor([float(C), float(input_size), *map(float, stage_cells)]).to(ref)
        return torch.cat((parts if self.per_edge else []) + counts + [macro])

    def of_network(self, genotypes: Sequence[Genotype], C: int, input_size: int,
                   stage_cells: Sequence[int]) -> torch.Tensor:
        """The features of a derived network: one genotype per stage."""
        blocks = [(self.hard_block(g, False), self.hard_block(g, True)) for g in genotypes]
        return self.features(blocks, C, input_size, stage_cells)


def sample_networks(n: int, seed: int, C: Sequence[int], input_size: Sequence[int],
                    stage_cells: Sequence[Sequence[int]], per_stage: bool = False, steps: int = 4,
                    primitives: Sequence[str] = DEFAULT_PRIMITIVES) -> list[dict]:
    """``n`` random networks to measure: random cells (one pair per stage with ``per_stage``,
    else one for the network, as a cell search derives), macro numbers drawn from the choices."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        cells = [rng.choice(list(c)) for c in stage_cells]
        if per_stage:
            genotypes = [random_genotype(rng, steps=steps, primitives=primitives) for _ in stage_cells]
        else:
            genotypes = [random_genotype(rng, steps=steps, primitives=primitives)] * len(stage_cells)
        out.append(dict(genotypes=genotypes, C=rng.choice(list(C)), stage_cells=cells,
                        input_size=rng.choice(list(input_size))))
    return out


def network_of(sample: dict, stem: str = 'imagenet', num_classes: int = 1000):
    """The deployed classifier (no auxiliary head) of a sampled network."""
    from .classifier import GenotypeClassifier
    layers, reductions = layout_of(sample['stage_cells'])
    genotypes = sample['genotypes']
    genotype = genotypes[0] if len(set(genotypes)) == 1 else list(genotypes)
    return GenotypeClassifier(genotype=genotype, C=sample['C'], layers=layers, reductions=reductions,
                              stem=stem, num_classes=num_classes, auxiliary=False)


def _sampling_space(cfg, C: Optional[int], layers: Optional[int], input_size: Optional[int]) -> dict:
    """The sampling space: macro choices, stem, op vocabulary, and the fixed network if there is one."""
    ns = cfg.get('network_search')
    if ns is not None:
        from ...network_search.space import build_network_space
        space = build_network_space(ns.space.to_dict() if hasattr(ns.space, 'to_dict') else dict(ns.space))
        enc = space.encoding
        return dict(C=space.C, input_size=space.input_size, stage_cells=space.stage_cells,
                    per_stage=space.per_stage, stem=space.stem, steps=enc.steps,
                    primitives=enc.primitives, num_classes=cfg.get('model', {}).get('num_classes', 1000))
    from ...core.model_space import searched_trunk
    found = searched_trunk(cfg)
    if found is None:
        raise PredictorError('config: model.space.model.backbone is missing; give a cell-search '
                             'or a network-search config')
    _, sn, cost, _ = found
    C = C or sn.get('C', 16)
    layers = layers or sn.get('layers', 8)
    size = input_size or cost.get('input_size', 224)
    return dict(C=[C], input_size=[size], stage_cells=[[n] for n in stage_cells_of(layers, reduction_indices(layers))],
                per_stage=False, stem=sn.get('stem', 'imagenet'), steps=sn.get('steps', 4),
                primitives=tuple(sn.get('primitives', DEFAULT_PRIMITIVES)),
                num_classes=sn.get('num_classes', 1000))


@register_predictor_task('PCDartsSearchBackbone', 'DartsClassifierSpace', 'DartsNetworkSpace',
                         options=('C', 'layers', 'input_size', 'per_edge'))
def predictor_task(cfg, n: int, seed: int, C: Optional[int] = None, layers: Optional[int] = None,
                   input_size: Optional[int] = None, per_edge: bool = False) -> MeasureTask:
    """Random networks of a cell search (its supernet's C and cells, random cells) or of a
    network search (macro numbers drawn from its space too); ``C``/``layers``/``input_size``
    override a cell search's network."""
    sp = _sampling_space(cfg, C, layers, input_size)
    encoding = DartsEncoding(sp['steps'], sp['primitives'], len(sp['stage_cells']), per_edge)
    samples = sample_networks(n, seed, sp['C'], sp['input_size'], sp['stage_cells'],
                              sp['per_stage'], sp['steps'], sp['primitives'])
    items = [((lambda s=s: network_of(s, sp['stem'], sp['num_classes'])), (3, s['input_size'], s['input_size']),
              encoding.of_network(s['genotypes'], s['C'], s['input_size'], s['stage_cells'])) for s in samples]
    fixed = all(len(v) == 1 for v in (sp['C'], sp['input_size'], *sp['stage_cells']))
    macro_range = {'C': [min(sp['C']), max(sp['C'])],
                   'input_size': [min(sp['input_size']), max(sp['input_size'])]}
    macro_range.update({f'stage_cells[{i}]': [min(c), max(c)] for i, c in enumerate(sp['stage_cells'])})
    meta = dict(stem=sp['stem'], num_classes=sp['num_classes'], macro_range=macro_range,
                macro=dict(C=sp['C'][0], input_size=sp['input_size'][0],
                           stage_cells=[c[0] for c in sp['stage_cells']]) if fixed else None,
                sampled=dict(C=list(sp['C']), input_size=list(sp['input_size']),
                             stage_cells=[list(c) for c in sp['stage_cells']], per_stage=sp['per_stage']))
    return MeasureTask(encoding.spec(), items, meta)
