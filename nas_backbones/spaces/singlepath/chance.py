"""The Single-Path family's part of the comparison against chance (``tools/against_chance.py``).

``SinglePathBackbone(arch=...)`` takes the result. Random candidates are
:func:`~.sample.random_architectures` of the layout of the
config's ``arch`` (every searchable layer picks one of its ops uniformly).
A cost-matched proposal keeps the reference's ops, as many of each (k3e3,
k3e6, k5e3, k5e6, skip), and places them at random among the searchable
layers (skips only where a layer has a shortcut); the comparison keeps the
proposals whose backbone MACs lie in the band.
"""
from __future__ import annotations

import random

from ...evaluation.candidates import CandidateFamily, register_candidate_family
from .published import PUBLISHED, load_architecture
from .result import Architecture, LayerChoice
from .sample import random_architectures


def _random(backbone_cfg: dict, seed: int, index: int) -> Architecture:
    layout = load_architecture(backbone_cfg.get('arch', 'SPNAS_Pixel1')).layout
    return random_architectures(layout, index + 1, seed)[index]


def shuffled_architecture(reference: Architecture, rng: random.Random) -> Architecture:
    """The reference's searchable ops placed at random (skips only on layers with a shortcut)."""
    layers = list(reference.layers())
    searchable = [i for i, (spec, _) in enumerate(layers) if spec.searchable]
    skips = sum(layers[i][1].skip for i in searchable)
    residual = [i for i in searchable if layers[i][0].residual]
    skipped = set(rng.sample(residual, skips))
    ops = [layers[i][1] for i in searchable if not layers[i][1].skip]
    rng.shuffle(ops)
    flat = [c for _, c in layers]
    rest = iter(ops)
    for i in searchable:
        flat[i] = LayerChoice(skip=True) if i in skipped else next(rest)
    choices, k = [], 0
    for blk in reference.blocks:
        choices.append(tuple(flat[k:k + blk.repeats]))
        k += blk.repeats
    return Architecture(reference.blocks, tuple(choices), reference.width_mult,
                        reference.stem_channels, reference.head_channels,
                        source='cost-matched random architecture')


@register_candidate_family('SinglePathBackbone')
def singlepath_family() -> CandidateFamily:
    return CandidateFamily(key='arch', load=load_architecture, published=tuple(sorted(PUBLISHED)),
                           random=_random, propose_matched=shuffled_architecture)
