"""Random Single-Path architectures: what the latency predictor is fitted on, and a search's baseline.

Every searchable layer independently takes one of its ops with equal
probability: the four MBConv variants, and skip where the layer has an
identity shortcut; fixed layers keep the table's kernel and expansion.
"""
from __future__ import annotations

import random
from typing import Union

from .layout import EXPANSIONS, KERNELS, Layout
from .result import Architecture, LayerChoice


def layer_ops(residual: bool) -> list[LayerChoice]:
    """The choices of a searchable layer (variants in ``VARIANTS`` order, then skip if it may)."""
    ops = [LayerChoice(k, e) for k in KERNELS for e in EXPANSIONS]
    return ops + [LayerChoice(skip=True)] if residual else ops


def random_architecture(layout: Layout, rng: Union[random.Random, int]) -> Architecture:
    """One architecture of ``layout``, drawn with ``rng`` (a ``random.Random`` or a seed)."""
    rng = rng if isinstance(rng, random.Random) else random.Random(rng)
    choices: list[list[LayerChoice]] = [[] for _ in layout.blocks]
    for spec in layout.layers:
        choices[spec.block].append(rng.choice(layer_ops(spec.residual)) if spec.searchable
                                   else LayerChoice(spec.kernel, spec.expansion))
    return Architecture(layout.blocks, tuple(tuple(c) for c in choices), layout.width_mult,
                        layout.stem_channels, layout.head_channels, source='random architecture')


def random_architectures(layout: Layout, n: int, seed: int) -> list[Architecture]:
    """``n`` architectures from one seeded generator (the same list for the same seed)."""
    rng = random.Random(seed)
    return [random_architecture(layout, rng) for _ in range(n)]
