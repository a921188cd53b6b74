"""The network-level search's result files: ``pareto.json`` (the front) and ``candidates.json`` (every trial).

Each point holds its architecture as the space states it (for DARTS:
``backbone``, the keyword arguments of ``DartsBackbone`` and
``GenotypeClassifier``, and ``input_size``), its objectives and every
metric measured. :func:`load_pareto` reads and checks a front;
:func:`pareto_point` returns one point's architecture.
"""
from __future__ import annotations

import os
from typing import Any, Sequence, Union

from ..utils.result_file import check_format, read_json

PARETO_FORMAT = 'nas_backbones.pareto/1'
CANDIDATES_FORMAT = 'nas_backbones.candidates/1'


def dominates(a: Sequence[float], b: Sequence[float], directions: Sequence[str]) -> bool:
    """``a`` is no worse than ``b`` in every objective and better in one."""
    sa = [x if d == 'minimize' else -x for x, d in zip(a, directions)]
    sb = [x if d == 'minimize' else -x for x, d in zip(b, directions)]
    return all(x <= y for x, y in zip(sa, sb)) and any(x < y for x, y in zip(sa, sb))


def non_dominated(points: Sequence[Sequence[float]], directions: Sequence[str]) -> list[int]:
    """Indices of the points no other point dominates."""
    return [i for i, p in enumerate(points)
            if not any(dominates(q, p, directions) for j, q in enumerate(points) if j != i)]


def load_pareto(path: Union[str, os.PathLike]) -> dict:
    """Read a ``pareto.json``; a malformed one is refused with the file and field named."""
    path = os.fspath(path)
    data = check_format(read_json(path, 'Pareto front'), PARETO_FORMAT, path)
    points = data.get('points')
    if not isinstance(points, list):
        raise ValueError(f'{path}: "points" must be a list')
    names = [o.get('name') for o in data.get('objectives', []) if isinstance(o, dict)]
    for i, p in enumerate(points):
        if not isinstance(p, dict) or not isinstance(p.get('architecture'), dict):
            raise ValueError(f'{path}: points[{i}] has no "architecture" object')
        missing = [n for n in names if n not in p.get('objectives', {})]
        if missing:
            raise ValueError(f'{path}: points[{i}].objectives lacks {missing}')
    return data


def pareto_point(path: Union[str, os.PathLike], index: int) -> dict[str, Any]:
    """The architecture of point ``index`` of a front (e.g. ``['backbone']`` for DartsBackbone(**...))."""
    points = load_pareto(path)['points']
    if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < len(points):
        # No Python negative index: `--point -1` is a typo more often than "the last one".
        raise ValueError(f'{os.fspath(path)}: no point {index!r} (the front has {len(points)}: '
                         f'0..{len(points) - 1})')
    return points[index]['architecture']
