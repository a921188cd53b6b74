"""Did a search learn anything? The architecture-step count, how far the architecture parameters moved,
and how many genes several searches share against random results of the same space.

Each space family measures its own parameters (:meth:`SearchSpace.movement`: DARTS cells report how
far softmax(alpha) is from uniform, Single-Path NAS how far its thresholds went toward the norms
they are compared with) and states the genes of its result
(:meth:`SearchResult.gene_groups`, :meth:`SearchResult.random_like`). This module only judges
and prints what the families return, so it works for any space.

The two thresholds of "nothing learned" (``docs/search_quality.md``, "Is there a signal?"):

- fewer than :data:`MIN_ARCH_STEPS` (100) architecture steps. The measured gradient
  signal-to-noise ratio of one architecture batch is about 0.3 per alpha entry; over ``T`` steps
  the consistent part of the walk grows with ``T`` and the noise with ``sqrt(T)``, so the signal
  is three times the noise only after ``(3 / 0.3)^2 = 100`` steps. The short configs measured
  (8-36 steps) derived cells that two seeds agreed on at chance level;
- the family's distance below its own threshold (DARTS: every op weight within 0.05 of uniform;
  the measured short detection searches ended within 0.012 of it, 0.113-0.137 around 0.125).
"""
from __future__ import annotations

import itertools
import statistics
from dataclasses import dataclass, field
from typing import Optional, Sequence

MIN_ARCH_STEPS = 100

# How to tell a result from chance, and what to do when a search learned nothing measurable.
CHANCE_CHECK = ('compare the result with random cells of the space trained alike '
                '(tools/against_chance.py) before trusting it')
ADVICE = ('more architecture steps (more epochs, or more data: after the warm-up each weight batch '
          'is one architecture step), more data, or run several searches with different seeds and '
          'keep the cell that trains best in a short training of your detector '
          f'(tools/search_select.py); {CHANCE_CHECK}')


def check_movement(movement: dict, where: str = 'movement') -> dict:
    """Validate what a family's ``movement()`` returned: ``distance``, ``threshold``, ``measure``
    (a phrase saying what the distance is) and optional ``details`` ({name: number})."""
    if not isinstance(movement, dict):
        raise ValueError(f'{where}: expected a dict, got {type(movement).__name__}')
    missing = [k for k in ('distance', 'threshold', 'measure') if k not in movement]
    if missing:
        raise ValueError(f'{where}: missing {missing} (has {sorted(movement)})')
    for k in ('distance', 'threshold'):
        if isinstance(movement[k], bool) or not isinstance(movement[k], (int, float)):
            raise ValueError(f'{where}.{k}: expected a number, got {movement[k]!r}')
    return movement


@dataclass
class Signal:
    """The verdict on one search: what was measured, and a warning when it says "nothing learned"."""
    arch_steps: Optional[int]
    movement: Optional[dict]
    reasons: list[str] = field(default_factory=list)

    @property
    def learned_nothing(self) -> bool:
        return bool(self.reasons)

    def summary(self, details: bool = True) -> str:
        """One line: the step count and the family's distance (and its details)."""
        parts = []
        if self.arch_steps is not None:
            parts.append(f'{self.arch_steps} architecture step(s)')
        m = self.movement
        if m is not None:
            moved = m['distance'] >= m['threshold']
            text = (f'{m["measure"]}: {m["distance"]:.4f} '
                    + (f'(threshold {m["threshold"]:g}: moved)' if moved
                       else f'(below {m["threshold"]:g}: unmoved)'))
            details = m.get('details') if details else None
            if details:
                text += ' [' + ', '.join(f'{k} {_num(v)}' for k, v in details.items()) + ']'
            parts.append(text)
        return '; '.join(parts) if parts else 'no architecture-step count or movement recorded'

    def warning(self) -> Optional[str]:
        if not self.reasons:
            return None
        return ('the search learned nothing measurable: ' + '; '.join(self.reasons)
                + '. Its result tells little about the data: it is where the search started or a '
                'draw of its noise (plus whatever a cost term pulls toward). What to do: '
                + ADVICE + '.')


def _num(v) -> str:
    return f'{v:.4f}' if isinstance(v, float) else str(v)


def judge(arch_steps: Optional[int], movement: Optional[dict],
          min_arch_steps: int = MIN_ARCH_STEPS) -> Signal:
    """The verdict from the step count (None: unknown) and the family's movement (None: none)."""
    reasons = []
    if arch_steps is not None and arch_steps < min_arch_steps:
        reasons.append(f'only {arch_steps} architecture step(s) (fewer than {min_arch_steps}, '
                       'too few for the architecture gradient to rise above its noise)')
    if movement is not None:
        check_movement(movement)
        if movement['distance'] < movement['threshold']:
            reasons.append(f'{movement["measure"]} is {movement["distance"]:.4f}, below '
                           f'{movement["threshold"]:g}: the architecture parameters stayed '
                           'where they started')
    return Signal(arch_steps, movement, reasons)


def judge_entry(entry: dict, min_arch_steps: int = MIN_ARCH_STEPS) -> Optional[Signal]:
    """The verdict on a ``search_history.json`` entry (None: the entry has neither measure)."""
    steps, movement = entry.get('arch_steps'), entry.get('movement')
    if steps is None and movement is None:
        return None
    return judge(steps, movement, min_arch_steps)


# ------------------------------------------------------------ agreement of several searches
def shared_genes(a, b) -> tuple[int, int]:
    """Genes two results of one space share, position by position, and how many each has.

    ``gene_groups()`` gives one group per position (a DARTS node, a Single-Path layer); within a
    position genes are matched as a multiset (a node's two genes in either order).
    """
    ga, gb = a.gene_groups(), b.gene_groups()
    if [len(g) for g in ga] != [len(g) for g in gb]:
        raise ValueError('shared_genes: the results are not of one space '
                         f'(gene groups of sizes {[len(g) for g in ga]} and {[len(g) for g in gb]})')
    same = total = 0
    for x, y in zip(ga, gb):
        pool = list(y)
        for gene in x:
            if gene in pool:
                pool.remove(gene)
                same += 1
        total += len(x)
    return same, total


@dataclass
class Agreement:
    """Pairwise shared genes of several results, and what random results of the space share."""
    names: list[str]
    pairs: list[tuple[str, str, int, int]]  # (name a, name b, shared, genes)
    chance_mean: float                      # share two random results have in common
    chance_sd: float
    draws: int

    @property
    def mean(self) -> float:
        return statistics.fmean(s / t for _, _, s, t in self.pairs)

    def above_chance(self) -> bool:
        """Above chance by more than two standard deviations of the mean of as many random pairs."""
        sd_of_mean = self.chance_sd / len(self.pairs) ** 0.5
        return self.mean > self.chance_mean + 2 * sd_of_mean

    def lines(self) -> list[str]:
        out = [f'{a} / {b}: {s} of {t} genes shared ({s / t:.0%})' for a, b, s, t in self.pairs]
        out.append(f'mean share {self.mean:.1%}; random results of the same space share '
                   f'{self.chance_mean:.1%} ± {self.chance_sd:.1%} ({self.draws} random pairs): '
                   + ('above chance' if self.above_chance() else
                      'within chance: the searches do not agree more than random draws do'))
        return out


def agreement(results: Sequence, names: Optional[Sequence[str]] = None, draws: int = 2000,
              seed: int = 0) -> Agreement:
    """Shared genes of every pair of ``results`` against ``draws`` pairs of random results.

    The random results come from ``results[0].random_like(seed)`` (the family's uniform sampler of
    the same space), drawn with seeds ``seed:0``, ``seed:1``, ... so the baseline is reproducible.
    """
    if len(results) < 2:
        raise ValueError(f'agreement: needs at least two results, got {len(results)}')
    if draws < 1:
        raise ValueError(f'agreement: draws must be >= 1, got {draws}')
    names = list(names) if names is not None else [f'result {i}' for i in range(len(results))]
    if len(names) != len(results):
        raise ValueError(f'agreement: {len(names)} names for {len(results)} results')
    kinds = {type(r).__name__ for r in results}
    if len(kinds) > 1:
        raise ValueError(f'agreement: results of different spaces ({sorted(kinds)}): '
                         + ', '.join(f'{n}: {type(r).__name__}' for n, r in zip(names, results)))
    pairs = []
    for (i, a), (j, b) in itertools.combinations(enumerate(results), 2):
        try:
            s, t = shared_genes(a, b)
        except ValueError as e:
            raise ValueError(f'agreement: {names[i]} and {names[j]}: {e}') from None
        pairs.append((names[i], names[j], s, t))
    first = results[0]
    shares = []
    for k in range(draws):
        s, t = shared_genes(first.random_like(f'{seed}:{2 * k}'), first.random_like(f'{seed}:{2 * k + 1}'))
        shares.append(s / t)
    sd = statistics.pstdev(shares) if len(shares) > 1 else 0.
    return Agreement(names, pairs, statistics.fmean(shares), sd, draws)
