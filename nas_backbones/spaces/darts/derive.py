"""Derivation of a discrete genotype from alpha/beta, exactly as PC-DARTS' ``genotype()``.

The weights it ranks are the relaxation's (:mod:`.relaxation`), the ones the search ran with.
"""
from __future__ import annotations

from typing import Optional, Sequence

import torch

from .relaxation import node_softmax, relaxed
from .result import Genotype
from .topology import node_edge_ranges


def derive_genes(op_weights: torch.Tensor, edge_weights: Optional[torch.Tensor],
                 primitives: Sequence[str], steps: int) -> list[tuple[str, int]]:
    """Keep each node's two strongest incoming edges and each edge's strongest op.

    ``op_weights`` is softmax(alpha) (edges x ops); ``edge_weights`` the
    node-softmaxed beta, or None for DARTS. Edge strength and op choice both
    exclude 'none'. Ties resolve to the lower edge / op index, as the
    reference's stable ``sorted`` and strict ``>`` do. The product is taken
    in float32, as the reference's numpy arrays are: near-ties then break
    the same way (in float64 about one random near-tie in five differs).
    """
    W = op_weights.detach().float().cpu()
    if edge_weights is not None:
        W = W * edge_weights.detach().float().cpu()[:, None]
    keep = [k for k, p in enumerate(primitives) if p != 'none']
    genes = []
    for start, n in node_edge_ranges(steps):
        rows = W[start:start + n]
        strength = [max(rows[j, k].item() for k in keep) for j in range(n)]
        edges = sorted(range(n), key=lambda j: -strength[j])[:2]
        for j in edges:
            best = None
            for k in keep:
                if best is None or rows[j, k] > rows[j, best]:
                    best = k
            genes.append((primitives[best], j))
    return genes


def derive_genes_capped(op_weights: torch.Tensor, edge_weights: Optional[torch.Tensor],
                        primitives: Sequence[str], steps: int, max_skips: int) -> list[tuple[str, int]]:
    """P-DARTS' cap: the genes of :func:`derive_genes` with at most ``max_skips`` skip_connect.

    While the cell has more, the kept skip with the smallest weight
    (softmax(alpha) times the edge weight) gets weight 0 and the cell is
    derived again, as P-DARTS does; the rest of the derivation is unchanged.
    """
    if 'skip_connect' not in primitives:
        return derive_genes(op_weights, edge_weights, primitives, steps)
    skip = list(primitives).index('skip_connect')
    W = op_weights.detach().float().cpu().clone()
    ew = None if edge_weights is None else edge_weights.detach().float().cpu()
    starts = [start for start, _ in node_edge_ranges(steps)]
    while True:
        genes = derive_genes(W, ew, primitives, steps)
        kept = [starts[g // 2] + j for g, (op, j) in enumerate(genes) if op == 'skip_connect']
        if len(kept) <= max_skips:
            return genes
        weakest = min(kept, key=lambda e: (W[e, skip] * (1. if ew is None else ew[e])).item())
        W[weakest, skip] = 0.


def derive_genotype(alphas_normal: torch.Tensor, alphas_reduce: torch.Tensor,
                    betas_normal: Optional[torch.Tensor], betas_reduce: Optional[torch.Tensor],
                    primitives: Sequence[str], steps: int, multiplier: int,
                    max_skips: Optional[int] = None, relaxation: str = 'softmax') -> Genotype:
    """``max_skips``: P-DARTS' cap on skip_connect in the normal cell (None: no cap, the reference).

    ``relaxation='sigmoid'`` (Fair DARTS): edges and ops are ranked on
    sigmoid(alpha), the weights the search ran with; this is the Fair DARTS
    code's ``parse_method='darts'`` (two edges a node, the strongest op each).
    """
    def cell(alphas, betas, cap):
        edge_w = node_softmax(betas, steps) if betas is not None else None
        if cap is None:
            return derive_genes(relaxed(alphas, relaxation), edge_w, primitives, steps)
        return derive_genes_capped(relaxed(alphas, relaxation), edge_w, primitives, steps, cap)

    concat = list(range(2 + steps - multiplier, steps + 2))
    return Genotype(normal=cell(alphas_normal, betas_normal, max_skips), normal_concat=concat,
                    reduce=cell(alphas_reduce, betas_reduce, None), reduce_concat=concat,
                    primitives=tuple(primitives))
