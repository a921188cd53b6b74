"""A DARTS search's history (WORK_DIR/search_history.json, written by DerivationHook) and its plots.

The plots read at a glance: softmax(alpha) per edge as one small panel per
edge (rows = nodes, columns = inputs, one line per op, the edges and ops kept
in the final genotype framed and named), softmax(beta) per node, the number
of parameter-free ops in the derived genotype (the skip-connect collapse
DARTS users watch for); the derived genotype's cost is a curve every family
draws (``visualization.curves``). Epochs in which alpha/beta were frozen (the
architecture warm-up) are shaded.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Optional, Sequence, Union

from ...visualization.curves import epoch_axis, epoch_marker, shade_frozen
from ...visualization.families import check_entry_fields
from ...visualization.figure import new_figure, save_figure
from ...visualization.report import read_entries
from .ops import PARAMETER_FREE_OPS
from .result import Genotype, GenotypeError

KINDS = ('normal', 'reduce')
# One colour per op in every figure (the DARTS vocabulary plus NASNet/AmoebaNet extras).
OP_COLORS = {
    'none': '#9e9e9e', 'max_pool_3x3': '#1f77b4', 'avg_pool_3x3': '#17becf',
    'skip_connect': '#d62728', 'sep_conv_3x3': '#2ca02c', 'sep_conv_5x5': '#bcbd22',
    'dil_conv_3x3': '#9467bd', 'dil_conv_5x5': '#e377c2', 'sep_conv_7x7': '#8c564b',
    'conv_7x1_1x7': '#ff7f0e',
}


@dataclass
class SearchHistory:
    """The per-epoch records of a search, checked for consistent shapes."""
    entries: list[dict]
    source: str

    @property
    def epochs(self) -> list[int]:
        return [e['epoch'] for e in self.entries]

    @property
    def arch_active(self) -> list[bool]:
        return [bool(e.get('arch_active', True)) for e in self.entries]

    @property
    def genotypes(self) -> list[Genotype]:
        return [Genotype.from_dict(e['genotype'], f'{self.source}: epoch {e["epoch"]}: genotype')
                for e in self.entries]

    @property
    def final(self) -> Genotype:
        return self.genotypes[-1]

    @property
    def primitives(self) -> tuple[str, ...]:
        return self.final.primitives

    @property
    def steps(self) -> int:
        return self.final.steps

    @property
    def has_beta(self) -> bool:
        return self.entries[-1].get('beta_normal') is not None

    def alpha(self, kind: str) -> list[list[list[float]]]:
        """softmax(alpha), indexed [epoch][edge][op]."""
        return [e[f'alpha_{kind}'] for e in self.entries]

    def beta(self, kind: str) -> Optional[list[list[float]]]:
        """Node-softmaxed beta, indexed [epoch][edge], or None without edge normalization."""
        if not self.has_beta:
            return None
        return [e[f'beta_{kind}'] for e in self.entries]


def load_history(path: Union[str, os.PathLike]) -> SearchHistory:
    """Read a work dir's (or a file's) search history, naming the entry and field at fault."""
    return check_history(*read_entries(path))


def check_history(source: str, entries: list) -> SearchHistory:
    """The entries of ``source`` as a DARTS history, checked; an error names the entry and field."""
    history = SearchHistory(entries, source)
    _check(history)
    return history


def _check(history: SearchHistory) -> None:
    src = history.source
    check_entry_fields(history.entries, src, ('epoch', 'genotype', 'alpha_normal', 'alpha_reduce'))
    try:
        genotypes = history.genotypes
    except GenotypeError as e:
        raise ValueError(str(e)) from None
    prims, steps = genotypes[-1].primitives, genotypes[-1].steps
    n_edges = sum(2 + i for i in range(steps))
    for e, g in zip(history.entries, genotypes):
        where = f'{src}: epoch {e["epoch"]}'
        if g.primitives != prims or g.steps != steps:
            raise ValueError(f'{where}: genotype has a different search space than the last epoch')
        for kind in KINDS:
            a = e[f'alpha_{kind}']
            if (not isinstance(a, list) or len(a) != n_edges
                    or any(not isinstance(r, list) or len(r) != len(prims) for r in a)):
                raise ValueError(
                    f'{where}: alpha_{kind} must be {n_edges} edges x {len(prims)} ops')
            b = e.get(f'beta_{kind}')
            if (b is None) != (not history.has_beta):
                raise ValueError(f'{where}: beta_{kind} is given in some epochs only')
            if b is not None and (not isinstance(b, list) or len(b) != n_edges):
                raise ValueError(f'{where}: beta_{kind} must have {n_edges} entries')


# ------------------------------------------------------------------ statistics
def count_ops(genotype: Genotype, reduction: bool, ops: Sequence[str]) -> int:
    return sum(op in ops for op, _ in genotype.genes(reduction))


def parameter_free_counts(genotype: Genotype) -> dict[str, int]:
    """Parameter-free (pool, skip) and skip_connect genes per cell type."""
    out = {}
    for kind in KINDS:
        out[f'{kind}_param_free'] = count_ops(genotype, kind == 'reduce', PARAMETER_FREE_OPS)
        out[f'{kind}_skip'] = count_ops(genotype, kind == 'reduce', ('skip_connect',))
    return out


def edge_index(steps: int) -> list[tuple[int, int]]:
    """(node, input state) of each edge, in alpha's row order."""
    return [(i, j) for i in range(steps) for j in range(2 + i)]


def state_name(j: int) -> str:
    return ('$c_{k-2}$', '$c_{k-1}$')[j] if j < 2 else str(j - 2)


# ---------------------------------------------------------------------- plots
def _shade_warmup(ax, history: SearchHistory) -> None:
    shade_frozen(ax, history.epochs, history.arch_active)


def _epoch_axis(ax, history: SearchHistory) -> None:
    epoch_axis(ax, history.epochs)


def _marker(history: SearchHistory) -> Optional[str]:
    return epoch_marker(history.epochs)


def plot_alpha(history: SearchHistory, kind: str, path: Union[str, os.PathLike]) -> str:
    """softmax(alpha) per edge: a panel per edge, rows = nodes, columns = the node's inputs."""
    steps, prims = history.steps, history.primitives
    epochs = history.epochs
    alpha = history.alpha(kind)
    final = history.final
    kept = {}  # edge -> op kept in the final genotype
    for g, (op, j) in enumerate(final.genes(kind == 'reduce')):
        kept[(g // 2, j)] = op
    # A shared range fitted to the data: short searches move alpha by little.
    hi = max(max(max(row) for row in a) for a in alpha)
    lo = min(min(min(row) for row in a) for a in alpha)
    pad = 0.08 * (hi - lo) + 1e-3
    ylim = (max(0., lo - pad), min(1., hi + pad))
    ncols = steps + 1
    height = 1.75 * steps + 1.3
    fig = new_figure(2.3 * ncols, height)
    axes = fig.subplots(steps, ncols, sharex=True, sharey=True, squeeze=False)
    fig.subplots_adjust(left=0.06, right=0.99, bottom=0.6 / height, top=1 - 1.0 / height,
                        wspace=0.08, hspace=0.42)
    marker = _marker(history)
    for e, (i, j) in enumerate(edge_index(steps)):
        ax = axes[i][j]
        _shade_warmup(ax, history)
        ax.axhline(1 / len(prims), color='#555555', lw=0.7, ls=':')
        for o, op in enumerate(prims):
            ys = [a[e][o] for a in alpha]
            chosen = kept.get((i, j)) == op
            ax.plot(epochs, ys, color=OP_COLORS.get(op, None), lw=2.2 if chosen else 1.1,
                    ls='--' if op == 'none' else '-', marker=marker, ms=2.5, label=op)
        title = f'{state_name(j)} → {i}'
        if (i, j) in kept:
            title += f': {kept[(i, j)]}'
            for side in ax.spines.values():
                side.set_linewidth(2)
                side.set_edgecolor(OP_COLORS.get(kept[(i, j)], 'black'))
        ax.set_title(title, fontsize=8.5, fontweight='bold' if (i, j) in kept else 'normal')
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3, lw=0.5)
        _epoch_axis(ax, history)
        ax.set_ylim(*ylim)
    for i in range(steps):
        axes[i][0].set_ylabel(f'node {i}', fontsize=9)
        for j in range(2 + i, ncols):
            axes[i][j].set_axis_off()
    for j in range(ncols):
        axes[steps - 1][j].set_xlabel('epoch', fontsize=8)
        axes[steps - 1][j].xaxis.set_tick_params(labelbottom=True)
    handles, labels = axes[steps - 1][0].get_legend_handles_labels()
    # The empty upper-right corner holds the legend and the explanation.
    fig.legend(handles, labels, loc='upper right', ncol=2, fontsize=8, frameon=False,
               bbox_to_anchor=(0.99, 1 - 1.0 / height - 0.02))
    fig.suptitle(f'softmax(α), {kind} cell: one panel per edge (input → node); framed = kept in '
                 f'the final genotype, bold line = its op;\n'
                 f'dotted = uniform (1/{len(prims)}); shaded = α frozen (warm-up)',
                 fontsize=10, x=0.01, ha='left')
    return save_figure(fig, path)


def plot_beta(history: SearchHistory, path: Union[str, os.PathLike]) -> Optional[str]:
    """Node-softmaxed beta: a row per cell type, a panel per node, a line per input."""
    if not history.has_beta:
        return None
    steps, epochs = history.steps, history.epochs
    fig = new_figure(2.6 * steps, 5.2)
    axes = fig.subplots(2, steps, sharex=True, squeeze=False)
    fig.subplots_adjust(left=0.07, right=0.99, bottom=0.11, top=0.86, wspace=0.25, hspace=0.45)
    final = history.final
    marker = _marker(history)
    colors = ['#1b9e77', '#d95f02', '#7570b3', '#e7298a', '#66a61e', '#e6ab02', '#a6761d']
    for r, kind in enumerate(KINDS):
        beta = history.beta(kind)
        kept = {(g // 2, j) for g, (_, j) in enumerate(final.genes(kind == 'reduce'))}
        for i in range(steps):
            ax = axes[r][i]
            _shade_warmup(ax, history)
            for e, (node, j) in enumerate(edge_index(steps)):
                if node != i:
                    continue
                ax.plot(epochs, [b[e] for b in beta], color=colors[j % len(colors)],
                        lw=2.2 if (i, j) in kept else 1.1, marker=marker, ms=2.5,
                        label=f'from {state_name(j)}' + (' (kept)' if (i, j) in kept else ''))
            ax.set_title(f'{kind} cell, node {i}', fontsize=9)
            ax.tick_params(labelsize=7)
            ax.grid(alpha=0.3, lw=0.5)
            ax.legend(fontsize=6.5, frameon=False, loc='best')
            _epoch_axis(ax, history)
        axes[r][0].set_ylabel('softmax(β)', fontsize=9)
    for ax in axes[1]:
        ax.set_xlabel('epoch', fontsize=8)
    fig.suptitle('softmax(β) over each node\'s incoming edges (edge normalization); bold = edge '
                 'kept in the final genotype; shaded = β frozen (warm-up)', fontsize=10,
                 x=0.01, ha='left')
    return save_figure(fig, path)


def plot_parameter_free(history: SearchHistory, path: Union[str, os.PathLike]) -> str:
    """Parameter-free ops (pools, skip) and skip_connects in the genotype derived each epoch."""
    from matplotlib.ticker import MaxNLocator
    counts = [parameter_free_counts(g) for g in history.genotypes]
    epochs = history.epochs
    fig = new_figure(6.4, 3.6)
    ax = fig.add_subplot()
    fig.subplots_adjust(left=0.1, right=0.98, bottom=0.14, top=0.86)
    _shade_warmup(ax, history)
    marker = _marker(history)
    styles = {'normal': '#1f77b4', 'reduce': '#ff7f0e'}
    for kind, color in styles.items():
        ax.plot(epochs, [c[f'{kind}_param_free'] for c in counts], color=color, lw=2,
                marker=marker, label=f'{kind}: parameter-free (pools + skip)')
        ax.plot(epochs, [c[f'{kind}_skip'] for c in counts], color=color, lw=1.3, ls='--',
                marker=marker, ms=4, label=f'{kind}: skip_connect')
    ax.set_ylim(-0.3, 2 * history.steps + 0.3)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    _epoch_axis(ax, history)
    ax.set_xlabel('epoch')
    ax.set_ylabel(f'genes (of {2 * history.steps})')
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7.5, loc='upper left', frameon=False, ncol=2)
    ax.set_title('Parameter-free ops in the derived genotype (skip-connect collapse watch)',
                 fontsize=10)
    return save_figure(fig, path)
