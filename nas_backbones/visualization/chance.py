"""The comparison against chance as a picture (``chance.png``).

Left: every candidate, best first, each training seed a small dot and the
mean ± sd a larger marker with a bar; the uniform random and the
cost-matched random candidates' mean ± sd (of their means) are shaded
bands across the plot, so a candidate above a band beats that chance.
Right: the same means against the backbone's MACs, since a cheap cell must
be compared with cheap random cells.
"""
from __future__ import annotations

import os
from typing import Union

from .figure import new_figure, save_figure

COLOURS = {'searched': 'tab:blue', 'published': 'tab:green', 'random': '0.55', 'matched': 'tab:orange'}
BANDS = {'random': '0.8', 'matched': 'navajowhite'}


def plot_chance(summary: dict, path: Union[str, os.PathLike]) -> str:
    rows = sorted((r for r in summary['rows'] if r['mean'] is not None), key=lambda r: r['rank'])
    fig = new_figure(max(4.5, 2.5 + 0.4 * len(rows)) + 4.5, 4.6)
    ax, bx = fig.subplots(1, 2, gridspec_kw=dict(width_ratios=[max(4.5, 2.5 + 0.4 * len(rows)), 4.5]))
    for g, colour in BANDS.items():
        grp = summary['groups'][g]
        if grp['n']:
            ax.axhspan(grp['mean'] - grp['sd'], grp['mean'] + grp['sd'], color=colour, alpha=0.6, zorder=0,
                       label=f'{grp["label"]}: mean ± sd (n={grp["n"]})')
            ax.axhline(grp['mean'], color=colour, lw=1, zorder=0)
    seen = set()
    for x, r in enumerate(rows):
        c = COLOURS.get(r['kind'], 'k')
        vals = list(r['per_seed'].values())
        ax.scatter([x] * len(vals), vals, s=10, c=c, alpha=0.6, zorder=2)
        ax.errorbar([x], [r['mean']], yerr=[r['sd']], fmt='o', ms=6, color=c, mec='k', mew=0.5,
                    capsize=3, zorder=3, label=r['kind'] if r['kind'] not in seen else None)
        seen.add(r['kind'])
    ax.set_xlim(-0.6, len(rows) - 0.4)
    ax.set_xticks(range(len(rows)))
    ax.set_xticklabels([r['name'] for r in rows], rotation=60, ha='right', fontsize=7)
    ax.set_ylabel(f'{summary["metric"]} ({summary["split"]})')
    counts = sorted({len(r['per_seed']) for r in summary['rows'] if r['per_seed']})
    seeds = '-'.join(str(c) for c in (counts[0], counts[-1]) if counts) if len(counts) > 1 \
        else str(counts[0] if counts else 0)
    ax.set_title(f'{seeds} training seed(s) per candidate', fontsize=9)
    ax.grid(axis='y', alpha=0.3)
    ax.legend(fontsize=7, loc='best')
    for r in rows:
        c = COLOURS.get(r['kind'], 'k')
        bx.errorbar([r['macs'] / 1e6], [r['mean']], yerr=[r['sd']], fmt='o', ms=5, color=c, mec='k',
                    mew=0.5, capsize=2)
        if r['kind'] not in ('random', 'matched'):
            bx.annotate(r['name'], (r['macs'] / 1e6, r['mean']), fontsize=7, xytext=(4, 3),
                        textcoords='offset points')
    h, w = summary['input_size']
    bx.set_xlabel(f'backbone MACs at {h}x{w} (M)')
    bx.set_ylabel(summary['metric'])
    bx.grid(alpha=0.3)
    bx.margins(x=0.15, y=0.1)
    fig.tight_layout()
    return save_figure(fig, path)
