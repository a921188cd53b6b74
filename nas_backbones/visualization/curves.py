"""Per-epoch curves of a search, for any space family: the epoch axis, the shading of the epochs in
which the architecture parameters were frozen (the warm-up), and the cost of the result derived each
epoch (parameters and FLOPs of the network it builds)."""
from __future__ import annotations

import os
import textwrap
from typing import Optional, Sequence, Union

from .figure import new_figure, save_figure

WARMUP_SHADE = dict(color='#000000', alpha=0.06, lw=0)


def shade_frozen(ax, epochs: Sequence[int], active: Sequence[bool]) -> None:
    """Shade the epochs in which the architecture parameters were not updated."""
    for epoch, on in zip(epochs, active):
        if not on:
            ax.axvspan(epoch - 0.5, epoch + 0.5, **WARMUP_SHADE)


def epoch_axis(ax, epochs: Sequence[int]) -> None:
    """Integer epoch ticks (every epoch of a short search) and half an epoch of margin."""
    from matplotlib.ticker import FixedLocator, MaxNLocator
    if len(epochs) <= 8:
        ax.xaxis.set_major_locator(FixedLocator(epochs))
    else:
        ax.xaxis.set_major_locator(MaxNLocator(integer=True, nbins=6))
    ax.set_xlim(epochs[0] - 0.5, epochs[-1] + 0.5)


def epoch_marker(epochs: Sequence[int]) -> Optional[str]:
    """A dot per epoch while they can be told apart."""
    return 'o' if len(epochs) <= 12 else None


def plot_cost(epochs: Sequence[int], active: Sequence[bool], costs: Sequence[dict], spec_text: str,
              path: Union[str, os.PathLike], result: str = 'genotype') -> str:
    """Parameters and FLOPs (``costs[i]['params']``, ``['flops']``) of the result derived each epoch,
    measured as the network ``spec_text`` describes."""
    fig = new_figure(8, 3.4)
    axes = fig.subplots(1, 2)
    fig.subplots_adjust(left=0.1, right=0.98, bottom=0.15, top=0.8, wspace=0.32)
    marker = epoch_marker(epochs)
    for ax, key, label, color in ((axes[0], 'params', 'parameters (M)', '#2ca02c'),
                                  (axes[1], 'flops', 'FLOPs (M multiply-adds)', '#9467bd')):
        shade_frozen(ax, epochs, active)
        ax.plot(epochs, [c[key] / 1e6 for c in costs], color=color, lw=2, marker=marker)
        epoch_axis(ax, epochs)
        ax.set_xlabel('epoch')
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
        ax.ticklabel_format(axis='y', useOffset=False)
    fig.suptitle(f'Cost of the derived {result} per epoch\n' + textwrap.fill(spec_text, 100),
                 fontsize=9)
    return save_figure(fig, path)
