"""The architecture parameters alpha (op weights) and beta (edge weights)."""
from __future__ import annotations

from typing import Optional, Sequence

import torch
import torch.nn as nn

from .genotype import Genotype
from .derive import RELAXATIONS, derive_genotype, node_softmax, relaxed
from .topology import num_edges


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

    def snapshot(self) -> dict[str, list]:
        """The op weights (softmax(alpha), or sigmoid(alpha) for Fair DARTS) and node-softmax(beta), as plain lists."""
        out = {}
        for kind, r in (('normal', False), ('reduce', True)):
            out[f'alpha_{kind}'] = self.op_weights(r).detach().cpu().tolist()
            ew = self.edge_weights(r)
            out[f'beta_{kind}'] = None if ew is None else ew.detach().cpu().tolist()
        return out
