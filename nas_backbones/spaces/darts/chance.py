"""The DARTS family's part of the comparison against chance (``tools/against_chance.py``).

``DartsBackbone(genotype=...)`` takes the result; random candidates are
:func:`~.sample.random_genotypes` (uniform ops other than ``none``);
cost-matched ones keep the reference's count of parameter-free genes per cell
(:func:`~.sample.matched_genotype`), and ``--match-by param_free``
asks for exactly that, ``macs`` in addition for backbone MACs within the band.
"""
from __future__ import annotations

import random

from ...evaluation.candidates import CandidateFamily, register_candidate_family
from .published import PUBLISHED, load_genotype
from .result import Genotype
from .sample import matched_genotype, parameter_free_genes, random_genotypes


def _random(backbone_cfg: dict, seed: int, index: int) -> Genotype:
    return random_genotypes(seed, 1, start=index)[0]


def _matched(reference: Genotype, rng: random.Random) -> Genotype:
    return matched_genotype(reference, rng)


@register_candidate_family('DartsBackbone')
def darts_family() -> CandidateFamily:
    return CandidateFamily(key='genotype', load=load_genotype, published=tuple(sorted(PUBLISHED)),
                           random=_random, propose_matched=_matched,
                           match_features=dict(param_free=parameter_free_genes))
