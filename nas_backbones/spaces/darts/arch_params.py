"""The architecture parameters alpha (op weights) and beta (edge weights)."""
from __future__ import annotations

from typing import Optional, Sequence

import torch
import torch.nn as nn

from .genotype import Genotype
from .derive import RELAXATIONS, derive_genotype, node_softmax, relaxed
from .topology import node_edge_ranges, num_edges


class ArchParameters(nn.Module):
    """alpha (edges x ops) and beta (edges) for normal and reduction cells, shared by all cells of a kind.

    They live in their own module so that the weight optimizer never sees
    them (the reference kept them out of ``parameters()`` by making them
    plain tensors), while DDP still averages their gradients and
    checkpoints still hold them.

    ``relaxation``: op weights softmax(alpha) over each edge (DARTS, the
    default) or sigmoid(alpha) for each op on its own (Fair DARTS), in the
    forward, the derivation and the snapshots alike.
    """

    def __init__(self, steps: int, primitives: Sequence[str], multiplier: int,
                 edge_norm: bool = True, init_std: float = 1e-3,
                 relaxation: str = 'softmax') -> None:
        super().__init__()
        if relaxation not in RELAXATIONS:
            raise ValueError(f'relaxation must be one of {RELAXATIONS}, got {relaxation!r}')
        self.relaxation = relaxation
        self.steps = steps
        self.multiplier = multiplier
        self.primitives = tuple(primitives)
        self.edge_norm = edge_norm
        E, O = num_edges(steps), len(primitives)
        self.alphas_normal = nn.Parameter(init_std * torch.randn(E, O))
        self.alphas_reduce = nn.Parameter(init_std * torch.randn(E, O))
        if edge_norm:
            self.betas_normal = nn.Parameter(init_std * torch.randn(E))
            self.betas_reduce = nn.Parameter(init_std * torch.randn(E))
        else:
            self.register_parameter('betas_normal', None)
            self.register_parameter('betas_reduce', None)

    def op_weights(self, reduction: bool) -> torch.Tensor:
        return relaxed(self.alphas_reduce if reduction else self.alphas_normal, self.relaxation)

    def edge_weights(self, reduction: bool) -> Optional[torch.Tensor]:
        betas = self.betas_reduce if reduction else self.betas_normal
        return None if betas is None else node_softmax(betas, self.steps)

    def forward(self) -> dict[bool, tuple[torch.Tensor, Optional[torch.Tensor]]]:
        """The weights a supernet forward needs, keyed by ``reduction``."""
        return {r: (self.op_weights(r), self.edge_weights(r)) for r in (False, True)}

    @torch.no_grad()
    def genotype(self, max_skips: Optional[int] = None) -> Genotype:
        """The derived genotype; ``max_skips``: P-DARTS' cap on skips in the normal cell."""
        return derive_genotype(self.alphas_normal, self.alphas_reduce, self.betas_normal,
                               self.betas_reduce, self.primitives, self.steps, self.multiplier,
                               max_skips=max_skips, relaxation=self.relaxation)

    # Below this distance of softmax(alpha) from uniform the search is "unmoved" (docs/search_quality.md:
    # the measured short detection searches ended within 0.012 of it).
    UNMOVED = 0.05

    @torch.no_grad()
    def movement(self) -> dict:
        """How far the op weights are from the uniform state a search starts at (``core.signal``).

        ``distance``: the largest |op weight - uniform| over both cells (uniform: 1/ops for
        softmax, 0.5 for Fair DARTS' sigmoid); ``details``: its maximum and mean per cell kind,
        and the largest |node-softmax(beta) - 1/inputs of the node| per kind.
        """
        details: dict[str, float] = {}
        worst = 0.
        for kind, r in (('normal', False), ('reduce', True)):
            w = self.op_weights(r).detach().float()
            uniform = 1. / w.size(-1) if self.relaxation == 'softmax' else 0.5
            dev = (w - uniform).abs()
            details[f'alpha_{kind}_max'] = float(dev.max())
            details[f'alpha_{kind}_mean'] = float(dev.mean())
            worst = max(worst, float(dev.max()))
        for kind, r in (('normal', False), ('reduce', True)):
            ew = self.edge_weights(r)
            if ew is not None:
                uniform = torch.cat([torch.full((n,), 1. / n) for _, n in node_edge_ranges(self.steps)])
                details[f'beta_{kind}_max'] = float((ew.detach().float().cpu() - uniform).abs().max())
        what = 'softmax(alpha)' if self.relaxation == 'softmax' else 'sigmoid(alpha)'
        return {'distance': worst, 'threshold': self.UNMOVED, 'details': details,
                'measure': f'largest |{what} - uniform|'}

    def snapshot(self) -> dict[str, list]:
        """The op weights (softmax(alpha), or sigmoid(alpha) for Fair DARTS) and node-softmax(beta), as plain lists."""
        out = {}
        for kind, r in (('normal', False), ('reduce', True)):
            out[f'alpha_{kind}'] = self.op_weights(r).detach().cpu().tolist()
            ew = self.edge_weights(r)
            out[f'beta_{kind}'] = None if ew is None else ew.detach().cpu().tolist()
        return out
