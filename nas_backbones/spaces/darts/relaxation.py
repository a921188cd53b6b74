"""The continuous relaxation: how alpha and beta become the weights a supernet forward mixes with.

The forward pass of the search (:meth:`~.arch.ArchParameters.op_weights`,
:meth:`~.arch.ArchParameters.edge_weights`) and the derivation (:mod:`.derive`)
both rank ops and edges on these weights, so they are written once, here.
"""
from __future__ import annotations

import torch

from .topology import node_edge_ranges

RELAXATIONS = ('softmax', 'sigmoid')


def relaxed(alphas: torch.Tensor, relaxation: str = 'softmax') -> torch.Tensor:
    """The op weights from alpha: softmax over each edge's ops (DARTS), or an independent sigmoid each (Fair DARTS)."""
    if relaxation == 'softmax':
        return torch.softmax(alphas, dim=-1)
    if relaxation == 'sigmoid':
        return torch.sigmoid(alphas)
    raise ValueError(f'relaxation must be one of {RELAXATIONS}, got {relaxation!r}')


def node_softmax(betas: torch.Tensor, steps: int) -> torch.Tensor:
    """Edge normalization: softmax of beta over each node's incoming edges (2, 3, 4, ... edges)."""
    return torch.cat([torch.softmax(betas[start:start + n], dim=-1)
                      for start, n in node_edge_ranges(steps)])
