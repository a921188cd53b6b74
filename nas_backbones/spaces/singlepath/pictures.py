"""A Single-Path search's history as pictures: the op of every layer, the thresholds and indicator
margins, and the runtime estimate, epoch by epoch (the report's text: ``report.py``).

Reads the per-epoch entries of ``search_history.json`` (what
:meth:`SinglePathSpace.snapshot` returns, plus ``epoch``). The margin of a
decision is ``norm - threshold``: its indicator is on where the margin is >= 0.
Warm-up epochs (indicator dropout on, lambda off) are shaded.
"""
from __future__ import annotations

import os
from typing import Optional, Sequence, Union

from ...visualization.figure import new_figure, save_figure
from .diagram import OP_COLORS, draw_architecture, legend_handles
from .result import Architecture
from .search_op import THRESHOLDS

DECISIONS = ('kernel: 5x5 ring', 'expansion: channels [C/2, C)', 'skip: channels [0, C/2)')
OPS = ('k3e3', 'k3e6', 'k5e3', 'k5e6', 'skip')


def _epochs(entries):
    return [e['epoch'] for e in entries]


def _warmup_spans(entries) -> list[tuple[float, float]]:
    return [(e['epoch'] - 0.5, e['epoch'] + 0.5) for e in entries if e.get('in_warmup')]


def _epoch_ticks(ax) -> None:
    from matplotlib.ticker import MaxNLocator
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))


def searchable_ops(entry: dict) -> list[str]:
    arch = Architecture.from_dict(entry['architecture'], source=f'epoch {entry["epoch"]}')
    return [c.op for spec, c in arch.layers() if spec.searchable]


def plot_ops(entries: Sequence[dict], path: Union[str, os.PathLike]) -> str:
    """Searchable layer x epoch, coloured by the op the hard indicators select."""
    from matplotlib.colors import ListedColormap
    from matplotlib.patches import Patch
    ops = [searchable_ops(e) for e in entries]
    grid = [[OPS.index(ops[t][layer]) for t in range(len(entries))] for layer in range(len(ops[0]))]
    fig = new_figure(max(5., 0.35 * len(entries) + 3), 0.22 * len(grid) + 1.6)
    ax = fig.add_axes((0.12, 0.18, 0.7, 0.72))
    cmap = ListedColormap([OP_COLORS[o] for o in OPS])
    ep = _epochs(entries)
    ax.imshow(grid, cmap=cmap, vmin=-0.5, vmax=len(OPS) - 0.5, aspect='auto', interpolation='nearest',
              extent=(ep[0] - 0.5, ep[-1] + 0.5, len(grid) - 0.5, -0.5))
    for a, b in _warmup_spans(entries):
        ax.axvspan(a, b, ymin=1.01, ymax=1.04, color='#000000', lw=0, clip_on=False)
    ax.set_yticks(range(len(grid)))
    ax.set_yticklabels([f'layer {i}' for i in entries[-1]['searchable_layers']], fontsize=6)
    ax.set_xlabel('epoch (black bar: warm-up)')
    _epoch_ticks(ax)
    ax.set_title('Op of each searchable layer', fontsize=9, pad=12)
    fig.legend(handles=[Patch(facecolor=OP_COLORS[o], edgecolor='#333333', label=o) for o in OPS],
               loc='center right', fontsize=7, frameon=False)
    return save_figure(fig, path)


def plot_thresholds(entries: Sequence[dict], path: Union[str, os.PathLike]) -> str:
    """Thresholds (top) and indicator margins norm - threshold (bottom) per layer and epoch."""
    ep = _epochs(entries)
    layers = entries[-1]['searchable_layers']
    fig = new_figure(11, 0.18 * len(layers) * 2 + 2.2)
    axes = fig.subplots(2, 3, sharex=True, sharey=True)
    fig.subplots_adjust(left=0.07, right=0.95, bottom=0.08, top=0.9, hspace=0.25, wspace=0.3)
    extent = (ep[0] - 0.5, ep[-1] + 0.5, len(layers) - 0.5, -0.5)
    for col in range(3):
        t = [[e['thresholds'][i][col] for e in entries] for i in range(len(layers))]
        m = [[e['norms'][i][col] - e['thresholds'][i][col] for e in entries] for i in range(len(layers))]
        if col == 2:  # layers without a shortcut have no skip decision
            has = [any(e['norms'][i][2] > 0 for e in entries) for i in range(len(layers))]
            m = [row if h else [float('nan')] * len(row) for row, h in zip(m, has)]
        tmax = max(1e-6, max(abs(v) for row in t for v in row))
        mmax = max(1e-6, max((abs(v) for row in m for v in row if v == v), default=1e-6))
        im_t = axes[0, col].imshow(t, cmap='viridis', aspect='auto', interpolation='nearest',
                                   extent=extent, vmin=min(0., -tmax * 0.05), vmax=tmax)
        im_m = axes[1, col].imshow(m, cmap='RdBu', aspect='auto', interpolation='nearest',
                                   extent=extent, vmin=-mmax, vmax=mmax)
        axes[0, col].set_title(f'{THRESHOLDS[col]} ({DECISIONS[col]})', fontsize=8, pad=10)
        axes[1, col].set_xlabel('epoch')
        _epoch_ticks(axes[1, col])
        fig.colorbar(im_t, ax=axes[0, col], fraction=0.05, pad=0.02)
        fig.colorbar(im_m, ax=axes[1, col], fraction=0.05, pad=0.02)
        for a, b in _warmup_spans(entries):
            for row in range(2):
                axes[row, col].axvspan(a, b, ymin=1.01, ymax=1.04, color='#000000', lw=0,
                                       clip_on=False)
    for row, label in ((0, 'threshold'), (1, 'norm - threshold\n(blue: on)')):
        axes[row, 0].set_yticks(range(len(layers)))
        axes[row, 0].set_yticklabels([str(i) for i in layers], fontsize=6)
        axes[row, 0].set_ylabel(f'layer; {label}', fontsize=8)
    fig.suptitle('Thresholds and indicator margins over the search (black bar: warm-up)', fontsize=9)
    return save_figure(fig, path)


def plot_runtime(entries: Sequence[dict], path: Union[str, os.PathLike]) -> Optional[str]:
    """The runtime estimate R of the derived network per epoch; None without a runtime model."""
    if not all('runtime' in e for e in entries):
        return None
    ep = _epochs(entries)
    fig = new_figure(6, 3.2)
    ax = fig.add_axes((0.14, 0.16, 0.82, 0.72))
    for a, b in _warmup_spans(entries):
        ax.axvspan(a, b, color='#000000', alpha=0.06, lw=0)
    ax.plot(ep, [e['runtime'] for e in entries], color='#e6550d', lw=2,
            marker='o' if len(ep) < 30 else None)
    ax.set_xlabel('epoch (shaded: warm-up, lambda = 0)')
    _epoch_ticks(ax)
    ax.set_ylabel(f'R ({entries[-1]["runtime_unit"]})')
    ax.grid(alpha=0.3)
    ax.ticklabel_format(axis='y', useOffset=False)
    ax.set_title(f'Runtime estimate ({entries[-1].get("runtime_metric", "")})', fontsize=9)
    return save_figure(fig, path)


def render_final(entries: Sequence[dict], path: Union[str, os.PathLike]) -> str:
    arch = Architecture.from_dict(entries[-1]['architecture'], source='final architecture')
    fig = new_figure(max(6., 0.42 * len(arch.flat_choices) + 2.5), 2.3)
    ax = fig.add_axes((0.01, 0.02, 0.98, 0.82))
    draw_architecture(ax, arch, f'final architecture (epoch {entries[-1]["epoch"]})')
    fig.legend(handles=legend_handles(), loc='lower center', ncol=len(OP_COLORS), fontsize=7,
               frameon=False, bbox_to_anchor=(0.5, -0.02))
    return save_figure(fig, path)
