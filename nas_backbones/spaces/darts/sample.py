"""Random genotypes of the DARTS space: the chance baseline a search has to beat.

A random cell is drawn the way derivation builds one, without alpha: each of
the ``steps`` nodes keeps two *distinct* inputs (drawn uniformly among
c_{k-2}, c_{k-1} and the earlier nodes) and each kept edge an op drawn
uniformly from the space's ops other than ``none`` (seven in the DARTS
space). Random search with this sampler is the baseline of Li & Talwalkar,
"Random Search and Reproducibility for Neural Architecture Search" (2019),
and of every later DARTS-family comparison against chance.

The draw uses Python's :class:`random.Random` seeded with text, so a seed
gives the same genotype on any machine, independently of torch's or
numpy's global state; :func:`random_genotypes` draws genotype ``i`` of a
seed from its own stream, so asking for more genotypes never changes the
first ones.
"""
from __future__ import annotations

import random
from typing import Sequence, Union

from .ops import DEFAULT_PRIMITIVES, OPS
from .result import Genotype, GenotypeError

RandomLike = Union[int, str, random.Random]


def _rng(seed: RandomLike) -> random.Random:
    if isinstance(seed, random.Random):
        return seed
    if isinstance(seed, bool) or not isinstance(seed, (int, str)):
        raise TypeError(f'seed: expected an int, a str or a random.Random, got {seed!r}')
    # A text seed is hashed with SHA-512 (version 2 seeding): the same on every platform.
    return random.Random(f'nas_backbones.random_genotype:{seed}')


def candidate_ops(primitives: Sequence[str]) -> tuple[str, ...]:
    """The ops a gene may take: the space's ops without ``none`` (derivation never picks it)."""
    unknown = [p for p in primitives if p not in OPS]
    if unknown:
        raise GenotypeError(f'primitives: unknown op(s) {unknown}; known ops: {sorted(OPS)}')
    ops = tuple(p for p in primitives if p != 'none')
    if not ops:
        raise GenotypeError(f'primitives: no op other than none in {list(primitives)}')
    return ops


def random_cell(rng: random.Random, ops: Sequence[str], steps: int) -> list[tuple[str, int]]:
    """``steps`` nodes, each with two distinct inputs and an op per input, drawn uniformly."""
    genes = []
    for i in range(steps):
        for j in sorted(rng.sample(range(i + 2), 2)):
            genes.append((ops[rng.randrange(len(ops))], j))
    return genes


def random_genotype(seed: RandomLike = 0, steps: int = 4, multiplier: int = 4,
                    primitives: Sequence[str] = DEFAULT_PRIMITIVES) -> Genotype:
    """A uniformly drawn genotype of the DARTS space (normal and reduction cell drawn independently).

    ``steps`` and ``multiplier`` are the supernet's: the cell concatenates
    its last ``multiplier`` nodes, as a derived genotype does.
    """
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
        raise GenotypeError(f'steps: expected an integer >= 1, got {steps!r}')
    if isinstance(multiplier, bool) or not isinstance(multiplier, int) \
            or not 1 <= multiplier <= steps:
        raise GenotypeError(f'multiplier: expected an integer in 1..steps={steps}, got {multiplier!r}')
    ops = candidate_ops(primitives)
    rng = _rng(seed)
    normal = random_cell(rng, ops, steps)
    reduce = random_cell(rng, ops, steps)
    concat = list(range(2 + steps - multiplier, steps + 2))
    return Genotype(normal=normal, normal_concat=concat, reduce=reduce, reduce_concat=concat,
                    primitives=tuple(primitives))


def random_genotypes(seed: int, num: int, steps: int = 4, multiplier: int = 4,
                     primitives: Sequence[str] = DEFAULT_PRIMITIVES,
                     start: int = 0) -> list[Genotype]:
    """Genotypes ``start .. start + num - 1`` of ``seed``; each has its own stream (``seed:i``)."""
    if isinstance(num, bool) or not isinstance(num, int) or num < 0:
        raise ValueError(f'num: expected an integer >= 0, got {num!r}')
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise TypeError(f'seed: expected an int, got {seed!r}')
    return [random_genotype(f'{seed}:{i}', steps, multiplier, primitives)
            for i in range(start, start + num)]



def parameter_free_genes(genotype: Genotype) -> tuple[int, int]:
    """Genes whose op has no weights (pools, skip, none), in the normal and the reduction cell."""
    from .ops import PARAMETER_FREE_OPS
    return tuple(sum(op in PARAMETER_FREE_OPS for op, _ in genotype.genes(r)) for r in (False, True))


def matched_genotype(reference: Genotype, seed: RandomLike,
                     primitives: Sequence[str] = DEFAULT_PRIMITIVES) -> Genotype:
    """A random genotype with as many parameter-free genes in each cell as ``reference``.

    The inputs are drawn as :func:`random_genotype` draws them; which genes are
    parameter-free is drawn uniformly among the cell's genes, and each gene's op
    uniformly among the space's parameter-free ops (pools, skip) or its other
    ops. Parameter-free genes are what a cost term buys, so such cells have
    about the reference's MACs: the chance a cheap searched cell must beat.
    """
    from .ops import PARAMETER_FREE_OPS
    ops = candidate_ops(primitives)
    free = [op for op in ops if op in PARAMETER_FREE_OPS]
    weighted = [op for op in ops if op not in PARAMETER_FREE_OPS]
    rng = _rng(seed)
    steps = reference.steps
    cells = []
    for count in parameter_free_genes(reference):
        if (count and not free) or (count < 2 * steps and not weighted):
            raise GenotypeError(f'primitives {list(primitives)} cannot make a cell with {count} '
                                f'parameter-free genes of {2 * steps}')
        genes = random_cell(rng, ops, steps)
        chosen = set(rng.sample(range(len(genes)), count))
        cell = []
        for k, (_, j) in enumerate(genes):
            pool = free if k in chosen else weighted
            cell.append((pool[rng.randrange(len(pool))], j))
        cells.append(cell)
    multiplier = min(len(reference.normal_concat), steps)
    concat = list(range(2 + steps - multiplier, steps + 2))
    return Genotype(normal=cells[0], normal_concat=concat, reduce=cells[1], reduce_concat=concat,
                    primitives=tuple(primitives))
