"""Per-class, seeded, disjoint subsets of an ImageNet-format train set (the PC-DARTS search data).

PC-DARTS searches on ImageNet with 10% of each class of the train set for the
weights and another 2.5% for the architecture. MMEngine's ``indices`` would
take the first N samples instead, i.e. whole classes.

Rounding rule (largest remainder, per split): class ``c`` with ``n_c`` images
gets ``floor(f * n_c)`` or one more; the extra ones go to the classes with the
largest fractional remainders (ties broken by a seeded shuffle), so that the
split holds ``round(f * N)`` images in all (N = all images, halves rounded up).
Then every class with at least as many images as there are splits (2) gets at
least 1 image in each split; a class with a single image goes to the first split.
For Tiny-ImageNet-10 (500 images a class), 10% is 50 per class and 2.5% is
12 or 13 per class, 125 in all.
"""
from __future__ import annotations

import math
import os
import random
import warnings
from fractions import Fraction
from typing import Sequence, Union

from ..utils.io import atomic_open
from .imagenet import Sample


def _check_fractions(fractions: Sequence[float], names: Sequence[str]) -> list[Fraction]:
    exact = []
    for name, f in zip(names, fractions):
        if isinstance(f, bool) or not isinstance(f, (int, float)) or not 0 < f < 1:
            raise ValueError(f'{name} must be a fraction in (0, 1), got {f!r}')
        exact.append(Fraction(repr(float(f))))  # 0.025 -> 1/40, not its binary neighbour
    total = sum(exact)
    if total > 1:
        terms = ' + '.join(f'{n} {f}' for n, f in zip(names, fractions))
        raise ValueError(f'{terms} = {float(total):g} > 1: the subsets are disjoint, '
                         'so their fractions must not add up to more than 1')
    return exact


def split_counts(sizes: Sequence[int], fractions: Sequence[float], seed: int,
                 names: Sequence[str] = ()) -> list[list[int]]:
    """Images per class for each split (``result[split][class]``), by the rule in the module doc."""
    names = list(names) or [f'fractions[{i}]' for i in range(len(fractions))]
    exact = _check_fractions(fractions, names)
    total_images = sum(sizes)
    counts = []
    for s, f in enumerate(exact):
        quotas = [f * n for n in sizes]
        split = [math.floor(q) for q in quotas]
        target = math.floor(f * total_images + Fraction(1, 2))
        ties = list(range(len(sizes)))
        random.Random(f'{seed}/ties/{s}').shuffle(ties)
        rank = {c: r for r, c in enumerate(ties)}
        order = sorted(range(len(sizes)), key=lambda c: (-(quotas[c] - split[c]), rank[c]))
        for c in order[:max(0, target - sum(split))]:
            split[c] += 1
        counts.append(split)
    # At least one image per split where the class has one for each; never more than it has.
    k = len(exact)
    for c, n in enumerate(sizes):
        if n < k:
            for s in range(k):
                counts[s][c] = 1 if s < n else 0
            continue
        for s in range(k):
            counts[s][c] = max(counts[s][c], 1)
        for s in reversed(range(k)):  # trim the later (smaller) splits first
            over = sum(counts[t][c] for t in range(k)) - n
            if over > 0:
                counts[s][c] -= min(over, counts[s][c] - 1)
    return counts


def sample_per_class(per_class: Sequence[Sequence[Sample]], classes: Sequence[str],
                     fractions: Sequence[float], seed: int,
                     names: Sequence[str] = ()) -> list[list[Sample]]:
    """Disjoint per-class random subsets; the same seed gives the same subsets.

    Each class is shuffled by its own generator (seeded by ``seed`` and the
    class name), so a class's picks do not depend on the other classes.
    """
    sizes = [len(group) for group in per_class]
    for name, n in zip(classes, sizes):
        if n == 0:
            raise ValueError(f'class {name!r} has no images')
        if n == 1:
            warnings.warn(f'class {name!r} has a single image: it goes to the first subset only')
    counts = split_counts(sizes, fractions, seed, names)
    splits: list[list[Sample]] = [[] for _ in fractions]
    for c, (name, group) in enumerate(zip(classes, per_class)):
        order = sorted(group)
        random.Random(f'{seed}/class/{name}').shuffle(order)
        start = 0
        for s in range(len(fractions)):
            picked = order[start:start + counts[s][c]]
            start += counts[s][c]
            splits[s].extend(sorted(picked))
    return splits


def write_image_list(path: Union[str, os.PathLike], samples: Sequence[Sample]) -> None:
    """``relative/path label`` lines, the list layout :class:`ImageNetDataset` reads."""
    with atomic_open(path, 'w', encoding='utf-8') as f:
        for rel, label in samples:
            f.write(f'{rel} {label}\n')


def write_classes(path: Union[str, os.PathLike], classes: Sequence[str]) -> None:
    with atomic_open(path, 'w', encoding='utf-8') as f:
        f.writelines(f'{name}\n' for name in classes)
