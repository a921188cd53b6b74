"""The network-level search's picture: every evaluated candidate and the Pareto front, per pair of objectives.

Feasible candidates are grey dots, constraint violators red crosses, the
front's points blue (joined in objective order when there are two
objectives, where the front is a staircase). With one objective the plot
is the objective against the trial number.
"""
from __future__ import annotations

import os
from itertools import combinations
from typing import Sequence, Union

from .figure import new_figure, save_figure

# Display scale and label of each objective.
UNITS = {'macs': (1e-6, 'MACs (M)'), 'params': (1e-6, 'parameters (M)'),
         'latency': (1e3, 'latency (ms)'), 'accuracy': (100., 'top-1 accuracy (%)')}


def _scaled(name: str, value: float) -> float:
    return value * UNITS.get(name, (1., name))[0]


def _label(name: str) -> str:
    return UNITS.get(name, (1., name))[1]


def plot_pareto(candidates: Sequence[dict], front: Sequence[dict], objectives: Sequence[str],
                path: Union[str, os.PathLike]) -> str:
    """Write the plot of ``candidates`` (``candidates.json`` rows) and ``front`` (``pareto.json`` points)."""
    done = [c for c in candidates if c.get('state') == 'COMPLETE' and c.get('duplicate_of') is None]
    pairs = list(combinations(objectives, 2)) or [(None, objectives[0])]
    cols = min(3, len(pairs))
    rows = (len(pairs) + cols - 1) // cols
    fig = new_figure(4.2 * cols, 3.6 * rows)
    for k, (x, y) in enumerate(pairs):
        ax = fig.add_subplot(rows, cols, k + 1)

        def xy(points, field='objectives'):
            xs = [p['trial'] if x is None else _scaled(x, p[field][x]) for p in points]
            return xs, [_scaled(y, p[field][y]) for p in points]

        ok = [c for c in done if c['feasible']]
        bad = [c for c in done if not c['feasible']]
        if ok:
            ax.scatter(*xy(ok), s=14, c='0.6', label=f'evaluated ({len(ok)})', zorder=1)
        if bad:
            ax.scatter(*xy(bad), s=18, c='tab:red', marker='x',
                       label=f'violates a constraint ({len(bad)})', zorder=1)
        fx, fy = xy(front)
        if len(objectives) == 2 and x is not None:
            order = sorted(range(len(fx)), key=lambda i: fx[i])
            ax.plot([fx[i] for i in order], [fy[i] for i in order], '-', c='tab:blue', lw=1,
                    drawstyle='steps-post' if len(order) > 1 else 'default', zorder=2)
        ax.scatter(fx, fy, s=30, c='tab:blue', edgecolors='k', linewidths=0.5,
                   label=f'Pareto front ({len(front)})', zorder=3)
        ax.set_xlabel('trial' if x is None else _label(x))
        ax.set_ylabel(_label(y))
        ax.grid(alpha=0.3)
        if k == 0:
            ax.legend(fontsize=7, loc='best')
    fig.suptitle('network-level search: all candidates and the Pareto front', fontsize=10)
    fig.tight_layout()
    return save_figure(fig, path)


def _cell(name: str, value) -> str:
    if value is None:
        return ''
    if name in UNITS:
        scale, label = UNITS[name]
        return f'{value * scale:.4g}'
    return f'{value:.4g}' if isinstance(value, float) else str(value)


def write_network_report(work_dir: Union[str, os.PathLike], pareto: dict, candidates: Sequence[dict],
                         builds: str = '') -> str:
    """``WORK_DIR/report/README.md``: the search's settings, its front as a table, the plot, and what
    a point builds (``builds``: the network space's sentence, :attr:`NetworkSpace.builds`)."""
    from ..utils.io import atomic_write_text
    names = [o['name'] for o in pareto['objectives']]
    done = [c for c in candidates if c.get('state') == 'COMPLETE']
    lines = ['# Network-level search', '',
             f'{len(done)} complete trials ({sum(c.get("duplicate_of") is None for c in done)} networks '
             f'evaluated, {sum(not c["feasible"] for c in done)} violating a constraint); '
             f'{len(pareto["points"])} on the Pareto front.', '',
             'Objectives: ' + ', '.join(f'{o["name"]} ({o["direction"]})' for o in pareto['objectives']) + '.']
    if pareto.get('constraints'):
        bounds = [f'{k} ' + ' and '.join(f'{op} {v:g}' for op, v in (('>=', b.get('min')), ('<=', b.get('max')))
                                         if v is not None) for k, b in pareto['constraints'].items()]
        lines.append('Constraints: ' + '; '.join(bounds) + '.')
    lines += ['', '![all candidates and the front](../pareto.png)', '',
              '| trial | ' + ' | '.join(_label(n) for n in names) + ' | architecture |',
              '|---|' + '---|' * (len(names) + 1)]
    for p in pareto['points']:
        arch = ', '.join(f'{k}={v}' for k, v in sorted(p.get('params', {}).items()))
        lines.append(f'| {p["trial"]} | ' + ' | '.join(_cell(n, p['objectives'][n]) for n in names)
                     + f' | {arch} |')
    lines += ['', builds, ''] if builds else ['']
    path = os.path.join(os.fspath(work_dir), 'report', 'README.md')
    atomic_write_text(path, '\n'.join(lines))
    return path
