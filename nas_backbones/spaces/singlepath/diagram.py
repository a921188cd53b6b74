"""A Single-Path architecture drawn as a network strip: one box per MBConv layer, left to right.

Each box is a layer: its colour is the op (k3e3, k3e6, k5e3, k5e6; fixed
layers grey), its height grows with the kernel (3 or 5) and its width with the
expansion; a skipped layer is a dashed outline with an arrow through it.
Blocks are framed and labelled with their output width and stride; the stem
and the head conv close the strip.
"""
from __future__ import annotations

import os
from typing import Optional, Union

from ...visualization.figure import new_figure, save_figure
from .published import ArchitectureSpec, load_architecture
from .result import Architecture

OP_COLORS = {'k3e3': '#9ecae1', 'k3e6': '#3182bd', 'k5e3': '#fdae6b', 'k5e6': '#e6550d',
             'skip': '#ffffff', 'fixed': '#bdbdbd'}
DARK = {OP_COLORS['k3e6'], OP_COLORS['k5e6']}
GAP = 0.25
BLOCK_GAP = 0.55


def _box_size(kernel: int, expansion: int) -> tuple[float, float]:
    return 0.55 + 0.09 * expansion, 0.9 + 0.22 * kernel


def draw_architecture(ax, arch: Architecture, title: Optional[str] = None) -> None:
    """Draw ``arch`` on a matplotlib axes."""
    from matplotlib.patches import FancyArrowPatch, Rectangle
    layout = arch.layout
    x = 0.

    def box(x0: float, w: float, h: float, color: str, label: str, dashed: bool = False,
            fontsize: float = 7.) -> None:
        ax.add_patch(Rectangle((x0, -h / 2), w, h, facecolor=color, edgecolor='#333333',
                               lw=0.8, ls='--' if dashed else '-'))
        ink = 'white' if color in DARK else 'black'
        ax.text(x0 + w / 2, 0, label, ha='center', va='center', rotation=90, fontsize=fontsize,
                color=ink)

    box(x, 0.7, 1.6, OP_COLORS['fixed'], f'stem {layout.stem_out}')
    x += 0.7 + BLOCK_GAP
    for b, (blk, layers) in enumerate(zip(arch.blocks, arch.choices)):
        start = x
        for j, choice in enumerate(layers):
            if choice.skip:
                w, h = 0.45, 1.6
                box(x, w, h, OP_COLORS['skip'], 'skip', dashed=True)
                ax.add_patch(FancyArrowPatch((x - 0.05, -1.05), (x + w + 0.05, -1.05),
                                             arrowstyle='->', mutation_scale=7, lw=0.8))
            else:
                w, h = _box_size(choice.kernel, choice.expansion)
                color = OP_COLORS[choice.op] if blk.searchable else OP_COLORS['fixed']
                box(x, w, h, color, choice.op)
            x += w + (GAP if j < len(layers) - 1 else 0.)
        stride = f', s{blk.stride}' if blk.stride != 1 else ''
        ax.add_patch(Rectangle((start - 0.1, -1.35), x - start + 0.2, 2.7, fill=False,
                               edgecolor='#888888', lw=0.6, ls=':'))
        ax.text((start + x) / 2, 1.5, f'{layout.block_out[b]}{stride}', ha='center', va='bottom',
                fontsize=7.5)
        x += BLOCK_GAP
    box(x, 0.7, 1.6, OP_COLORS['fixed'], f'head {layout.head_out}')
    x += 0.7
    ax.set_xlim(-0.2, x + 0.2)
    ax.set_ylim(-1.6, 2.0)
    ax.set_axis_off()
    if title:
        ax.set_title(title, fontsize=9)


def legend_handles():
    from matplotlib.patches import Patch
    return [Patch(facecolor=c, edgecolor='#333333', ls='--' if op == 'skip' else '-', label=op)
            for op, c in OP_COLORS.items()]


def render_architecture(arch: ArchitectureSpec, path: Union[str, os.PathLike],
                        title: Optional[str] = None) -> str:
    """Draw an architecture (a name, a file, a dict or an Architecture) to ``path`` (.png/.svg/.pdf)."""
    arch = load_architecture(arch)
    n = len(arch.flat_choices)
    fig = new_figure(max(6., 0.42 * n + 2.5), 2.3)
    ax = fig.add_axes((0.01, 0.02, 0.98, 0.8 if title else 0.9))
    draw_architecture(ax, arch, title)
    fig.legend(handles=legend_handles(), loc='lower center', ncol=len(OP_COLORS), fontsize=7,
               frameon=False, bbox_to_anchor=(0.5, -0.02))
    return save_figure(fig, path)
