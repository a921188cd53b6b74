"""Derivation of the discrete architecture from the superkernels' decisions, as the reference exports it.

A searchable layer becomes what its hard indicators select
(:meth:`~.search_op.SuperKernelMBConv.choice_of`: skip where d50c is 0, else
k5 or k3 by d5x5 and e6 or e3 by d100c); a fixed layer keeps the table's
kernel and expansion.
"""
from __future__ import annotations

from typing import Sequence

from .layout import Layout
from .result import Architecture, LayerChoice
from .search_op import Decisions, SuperKernelMBConv


def derive_architecture(layout: Layout, decisions: Sequence[Decisions]) -> Architecture:
    """The architecture of ``layout`` that ``decisions`` (one per searchable layer, in order) select."""
    searchable = iter(decisions)
    choices: list[list[LayerChoice]] = [[] for _ in layout.blocks]
    for spec in layout.layers:
        if spec.searchable:
            c = SuperKernelMBConv.choice_of(next(searchable))
            choice = LayerChoice(skip=True) if c['skip'] else LayerChoice(c['kernel'], c['expansion'])
        else:
            choice = LayerChoice(spec.kernel, spec.expansion)
        choices[spec.block].append(choice)
    return Architecture(layout.blocks, tuple(tuple(c) for c in choices), layout.width_mult,
                        layout.stem_channels, layout.head_channels)
