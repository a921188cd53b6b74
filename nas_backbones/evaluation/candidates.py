"""Candidates to train against chance: what a space family says about its results, and cost-matched draws.

The comparison (:mod:`.chance`) knows no space. A family registers, per
backbone type a detector config may name (``DartsBackbone``,
``SinglePathBackbone``), a :class:`CandidateFamily`: which key of the
backbone takes a result, how a result is loaded (a published name or a
file), how random result ``i`` of a seed is drawn, and how a random result
*like* a reference is proposed (same count of each kind of op), which
:func:`matched_candidates` keeps when its cost lies in a band around the
reference's. Why cost-matched: a search with a cost term finds cheap
results, and a cheap cell must beat cheap random cells, not average ones,
to have learned anything.
"""
from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any, Callable, Optional, Sequence


class CandidateError(ValueError):
    """A candidate cannot be named, loaded or drawn; the message says which and why."""


@dataclass(frozen=True)
class CandidateFamily:
    """What the comparison needs of a space family's results (``Genotype``, ``Architecture``).

    Attributes:
        key: the backbone argument that takes a result (``model.backbone.<key>``).
        load: a published name or a result file -> the result; raises ``ValueError`` naming it.
        published: the published names ``load`` knows.
        random: ``(backbone_cfg, seed, index) -> result``: random result ``index`` of ``seed``,
            drawn uniformly from the space, the same on every machine.
        propose_matched: ``(reference, rng) -> result``: a random result with as many ops of
            each cost class as ``reference`` (:func:`matched_candidates` keeps it or not).
        match_features: ``--match-by`` names other than ``macs`` -> ``result -> value``; a draw
            matches when its value equals the reference's (DARTS: ``param_free``).
    """
    key: str
    load: Callable[[str], Any]
    published: Sequence[str]
    random: Callable[[dict, int, int], Any]
    propose_matched: Callable[[Any, random.Random], Any]
    match_features: dict[str, Callable[[Any], Any]] = field(default_factory=dict)

    @property
    def match_by(self) -> tuple[str, ...]:
        return ('macs',) + tuple(self.match_features)


CANDIDATE_FAMILIES: dict[str, CandidateFamily] = {}


def register_candidate_family(*backbone_types: str) -> Callable[[Callable[[], CandidateFamily]], Callable]:
    """Register the family a function returns for detector configs whose backbone is of these types."""
    def wrap(fn: Callable[[], CandidateFamily]) -> Callable[[], CandidateFamily]:
        family = fn()
        for t in backbone_types:
            CANDIDATE_FAMILIES[t] = family
        return fn
    return wrap


def backbone_of(cfg: Any, source: str = 'config') -> dict:
    """The config's ``model.backbone`` as a plain dict; an error naming the config if it has none."""
    backbone = (cfg.get('model') or {}).get('backbone')
    if backbone is None:
        raise CandidateError(f'{source}: model.backbone is missing; the comparison trains a '
                             'detector (or classifier) whose backbone takes a search result')
    return backbone.to_dict() if hasattr(backbone, 'to_dict') else dict(backbone)


def family_of(backbone_cfg: dict, source: str = 'config') -> CandidateFamily:
    kind = backbone_cfg.get('type')
    if kind not in CANDIDATE_FAMILIES:
        raise CandidateError(f'{source}: model.backbone.type is {kind!r}, which takes no search '
                             f'result; known: {sorted(CANDIDATE_FAMILIES)}')
    return CANDIDATE_FAMILIES[kind]


def load_candidate(family: CandidateFamily, spec: str, where: str) -> Any:
    """A published name or a file, through the family's loader; errors start with ``where``."""
    try:
        return family.load(spec)
    except (ValueError, OSError) as e:
        raise CandidateError(f'{where}: {e}') from None


def check_band(band: float) -> float:
    if isinstance(band, bool) or not isinstance(band, (int, float)) or not 0 < band < 1:
        raise CandidateError(f'--band: a fraction in (0, 1) (0.1 keeps MACs within 10% of the '
                             f'reference\'s), got {band!r}')
    return float(band)


def matched_candidates(family: CandidateFamily, reference: Any, n: int, seed: int, by: str = 'macs',
                       band: float = 0.1, macs_of: Optional[Callable[[Any], int]] = None,
                       max_draws: int = 200, reference_name: str = 'the reference') -> list[tuple[Any, dict]]:
    """``n`` random results matched in cost to ``reference``, each with what was matched.

    Candidate ``i`` draws proposals from its own stream (``seed``, ``i``), so a
    seed gives the same candidates on any machine and asking for more keeps
    the first ones. ``by='macs'``: the first proposal whose backbone MACs
    (``macs_of``) lie within ``band`` (relative) of the reference's;
    otherwise a family feature (``param_free``) must equal the reference's.
    After ``max_draws`` proposals without one, a :class:`CandidateError`
    says how close the draws came.
    """
    if by not in family.match_by:
        raise CandidateError(f'--match-by {by!r}: this space matches by {list(family.match_by)}')
    if by == 'macs':
        band = check_band(band)
        if macs_of is None:
            raise CandidateError('matching by MACs needs a way to measure them (macs_of)')
        value_of = macs_of
        want = macs_of(reference)
        accept = lambda v: abs(v / want - 1) <= band  # noqa: E731
        what = f'backbone MACs within {band:.0%} of {reference_name}\'s ({want / 1e6:.2f} M)'
    else:
        value_of = family.match_features[by]
        want = value_of(reference)
        accept = lambda v: v == want  # noqa: E731
        what = f'{by} = {want!r} as {reference_name}'
    out = []
    for i in range(n):
        rng = random.Random(f'nas_backbones.matched:{seed}:{i}')
        tried = []
        for draw in range(max_draws):
            cand = family.propose_matched(reference, rng)
            value = value_of(cand)
            if accept(value):
                out.append((cand, dict(by=by, value=value, reference=want, draws=draw + 1)))
                break
            tried.append(value)
        else:
            closest = (f'; the closest of them was {min((v / want - 1 for v in tried), key=abs):+.1%}'
                       if by == 'macs' else '')
            raise CandidateError(
                f'matched candidate {i} of seed {seed}: none of {max_draws} random draws had '
                f'{what}{closest}. Widen --band'
                + (' or match by another measure (--match-by '
                   + '|'.join(family.match_by) + ')' if len(family.match_by) > 1 else ''))
    return out
