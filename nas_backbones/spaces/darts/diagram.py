"""Cell diagrams in the style of the DARTS / PC-DARTS papers' figures, drawn with matplotlib only.

Inputs c_{k-2} and c_{k-1} on the left, intermediate nodes 0..n-1 in layers by
longest path from the inputs, the output c_{k} on the right fed by the concat
states; every gene is an arrow labelled with its op. Edges that would cross a
node are bent around it, parallel edges (two genes from one input) fan out,
and each label lies along its edge, at the spot where it covers no node and
no other label (and as few other edges as possible). A cell where some label
finds no such spot is laid out again with more room (:data:`SPREADS`), so no
label ever covers another or a node.
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Optional, Sequence, Union

from ...visualization.figure import image_format, new_figure, save_figure
from .published import GenotypeSpec, load_genotype
from .result import Genotype

if TYPE_CHECKING:
    from matplotlib.path import Path

CELLS = ('normal', 'reduce')

# The colours of the DARTS figures (graphviz darkseagreen2, lightblue, palegoldenrod).
INPUT_COLOR = '#b4eeb4'
NODE_COLOR = '#add8e6'
OUTPUT_COLOR = '#eee8aa'

LAYER_GAP = 2.4   # data units between layers, plus LABEL_ROOM per labelled edge leaving a layer
LABEL_ROOM = 0.3
NODE_GAP = 1.35   # data units between nodes of a layer
NODE_W, NODE_H = 0.75, 0.5
INCH_PER_UNIT = 0.85
PORT_SPAN = 0.34  # how much of a node's side its edge ends spread over
BENDS = (0., 0.18, -0.18, 0.32, -0.32, 0.45, -0.45, 0.6, -0.6)
LABEL_TS = tuple(sorted((0.15 + 0.05 * k for k in range(15)), key=lambda t: abs(t - 0.55)))
# Scales of the gaps between layers and nodes, tried in turn until every label finds a free spot.
SPREADS = (1.0, 1.2, 1.45, 1.75, 2.1, 2.5)
OVERLAP = 100  # a placement score from here up covers another label or a node (see draw_cell)


@dataclass
class _Edge:
    src: int          # state index; -1 is the output node
    dst: int
    label: Optional[str]
    bend: float = 0.
    start: tuple[float, float] = (0., 0.)
    end: tuple[float, float] = (0., 0.)


def _state_names(steps: int) -> list[str]:
    return ['$c_{k-2}$', '$c_{k-1}$'] + [str(i) for i in range(steps)]


def _layers(genes: Sequence[tuple[str, int]], steps: int) -> list[int]:
    """Longest-path layer of each state (inputs at 0)."""
    layer = [0, 0]
    for i in range(steps):
        inputs = [idx for _, idx in genes[2 * i:2 * i + 2]]
        layer.append(1 + max(layer[j] for j in inputs))
    return layer


Positions = dict[int, tuple[float, float]]


def layout(genotype: Genotype, reduction: bool,
           spread: float = 1.0) -> tuple[Positions, list[_Edge]]:
    """Node positions (state index -> (x, y), -1 = output) and edges, before routing.

    ``spread`` scales the gaps between layers and between the nodes of a layer.
    """
    genes, concat = genotype.genes(reduction), genotype.concat(reduction)
    steps = len(genes) // 2
    layer = _layers(genes, steps)
    out_layer = max(layer[c] for c in concat) + 1
    preds: dict[int, list[int]] = {s: [] for s in range(steps + 2)}
    for g, (_, idx) in enumerate(genes):
        preds[g // 2 + 2].append(idx)
    # Layers with many labelled edges leaving them get more room.
    leaving = [0] * (out_layer + 1)
    for _, idx in genes:
        leaving[layer[idx]] += 1
    x_of = [0.]
    for lay in range(out_layer):
        x_of.append(x_of[-1] + (LAYER_GAP + LABEL_ROOM * leaving[lay]) * spread)
    pos: dict[int, tuple[float, float]] = {}
    by_layer: dict[int, list[int]] = {}
    for s, lay in enumerate(layer):
        by_layer.setdefault(lay, []).append(s)
    for lay in sorted(by_layer):
        members = by_layer[lay]
        if lay > 0:  # barycentre ordering: fewer crossings
            members.sort(key=lambda s: (-sum(pos[p][1] for p in preds[s]) / len(preds[s]), s))
        n = len(members)
        for r, s in enumerate(members):
            pos[s] = (x_of[lay], ((n - 1) / 2 - r) * NODE_GAP * spread)
    pos[-1] = (x_of[out_layer], sum(pos[c][1] for c in concat) / len(concat))
    edges = [_Edge(idx, g // 2 + 2, op) for g, (op, idx) in enumerate(genes)]
    edges += [_Edge(c, -1, None) for c in concat]
    return pos, edges


def _bezier(p0, p2, bend: float, t: float) -> tuple[float, float]:
    """A point of matplotlib's ``arc3,rad=bend`` curve (data units = display units here)."""
    (x1, y1), (x2, y2) = p0, p2
    cx = (x1 + x2) / 2 + bend * (y2 - y1)
    cy = (y1 + y2) / 2 - bend * (x2 - x1)
    u = 1 - t
    return (u * u * x1 + 2 * u * t * cx + t * t * x2,
            u * u * y1 + 2 * u * t * cy + t * t * y2)


def _angle(p0, p2, bend: float, t: float) -> float:
    """The direction of the curve at ``t``, in degrees."""
    a, b = _bezier(p0, p2, bend, max(0., t - 0.01)), _bezier(p0, p2, bend, min(1., t + 0.01))
    return math.degrees(math.atan2(b[1] - a[1], b[0] - a[0]))


def _ports(pos, edges: list[_Edge]) -> None:
    """Spread the ends of a node's edges over its side, ordered by the other end's height.

    Edges always run left to right (a state's layer exceeds its inputs'), so
    outgoing edges leave from a node's right side and incoming ones enter its left.
    """
    def spread(items, x_side):
        items.sort(key=lambda item: (-item[0], item[2]))
        n = len(items)
        for r, (_, e, _k, which) in enumerate(items):
            x, y = x_side
            dy = 0. if n == 1 else (0.5 - r / (n - 1)) * PORT_SPAN
            setattr(e, which, (x, y + dy))

    outgoing: dict[int, list] = {}
    incoming: dict[int, list] = {}
    for k, e in enumerate(edges):
        outgoing.setdefault(e.src, []).append((pos[e.dst][1] - 1e-3 * e.bend, e, k, 'start'))
        incoming.setdefault(e.dst, []).append((pos[e.src][1] - 1e-3 * e.bend, e, k, 'end'))
    for s, items in outgoing.items():
        spread(items, (pos[s][0] + NODE_W / 2, pos[s][1]))
    for s, items in incoming.items():
        spread(items, (pos[s][0] - NODE_W / 2, pos[s][1]))


def _hits_node(p0, p2, bend, pos, skip, pad=0.12) -> bool:
    for s, (x, y) in pos.items():
        if s in skip:
            continue
        for k in range(1, 40):
            px, py = _bezier(p0, p2, bend, k / 40)
            if abs(px - x) < NODE_W / 2 + pad and abs(py - y) < NODE_H / 2 + pad:
                return True
    return False


def _route(pos, edges: list[_Edge]) -> None:
    """Bend each edge so that it misses other nodes; parallel edges take opposite bends."""
    count: dict[tuple[int, int], int] = {}
    for e in edges:
        count[e.src, e.dst] = count.get((e.src, e.dst), 0) + 1
    used: dict[tuple[int, int], list[float]] = {}
    for e in edges:
        taken = used.setdefault((e.src, e.dst), [])
        parallel = count[e.src, e.dst] > 1
        bends = [b for b in BENDS if not parallel or abs(b) >= 0.15]
        free = [b for b in bends if all(abs(b - t) >= 0.3 for t in taken)]
        e.bend = next((b for b in free if not _hits_node(pos[e.src], pos[e.dst], b, pos,
                                                         {e.src, e.dst})), free[0])
        taken.append(e.bend)


@dataclass
class CellGeometry:
    """A routed cell: node positions, edges and the data-unit box it needs."""
    pos: dict[int, tuple[float, float]]
    edges: list[_Edge]
    names: list[str]
    title: Optional[str]
    xlim: tuple[float, float]
    ylim: tuple[float, float]

    @property
    def size(self) -> tuple[float, float]:
        """Width and height in inches."""
        return ((self.xlim[1] - self.xlim[0]) * INCH_PER_UNIT,
                (self.ylim[1] - self.ylim[0]) * INCH_PER_UNIT)


def cell_geometry(genotype: Genotype, reduction: bool, title: Optional[str] = None,
                  spread: float = 1.0) -> CellGeometry:
    pos, edges = layout(genotype, reduction, spread)
    _route(pos, edges)
    _ports(pos, edges)
    steps = len(genotype.genes(reduction)) // 2
    xs = [p[0] for p in pos.values()]
    ys = [p[1] for p in pos.values()]
    # Curved edges bulge beyond the nodes: include their extremes in the limits.
    for e in edges:
        ys += [_bezier(e.start, e.end, e.bend, k / 10)[1] for k in range(11)]
    top = 0.9 if title else 0.5
    return CellGeometry(pos, edges, _state_names(steps) + ['$c_{k}$'], title,
                        (min(xs) - 0.7, max(xs) + 0.7), (min(ys) - 0.5, max(ys) + top))


def draw_cell(geometry: CellGeometry, ax) -> list[tuple[str, int]]:
    """Draw a routed cell on ``ax``, whose box must be ``geometry.size`` inches (equal scales).

    Returns each op label with its placement score: 0 when it covers nothing,
    +1 per other edge it lies across, +10 per label it nearly touches, +100 per
    label (more, since a covered label nearly touches too) and +1000 per node it covers.
    """
    from matplotlib.patches import FancyArrowPatch, FancyBboxPatch
    from matplotlib.path import Path

    g = geometry
    pos, edges, fig = g.pos, g.edges, ax.figure
    (x0, x1), (y0, y1) = g.xlim, g.ylim
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_axis_off()
    if g.title:
        ax.text((x0 + x1) / 2, y1 - 0.4, g.title, ha='center', va='center', fontsize=13,
                fontweight='bold')

    for s, (x, y) in pos.items():
        color = OUTPUT_COLOR if s == -1 else INPUT_COLOR if s < 2 else NODE_COLOR
        ax.add_patch(FancyBboxPatch(
            (x - NODE_W / 2, y - NODE_H / 2), NODE_W, NODE_H,
            boxstyle='round,pad=0.02,rounding_size=0.12', fc=color, ec='black', lw=1.2, zorder=3))
        ax.text(x, y, g.names[s], ha='center', va='center', fontsize=12, zorder=4)
    for e in edges:
        ax.add_patch(FancyArrowPatch(
            e.start, e.end, connectionstyle=f'arc3,rad={e.bend}', arrowstyle='-|>',
            mutation_scale=12, lw=1.1, color='#333333' if e.label else '#999999',
            shrinkA=0, shrinkB=0, zorder=2))

    # Labels lie along their edge, where they cover the fewest nodes, labels and other edges.
    renderer = fig.canvas.get_renderer()
    to_px = ax.transData.transform
    pad = 0.06
    nodes = [_rect_path(to_px((x, y)), *(to_px((NODE_W + 2 * pad, NODE_H + 2 * pad))
                                          - to_px((0, 0))), 0.)
             for x, y in pos.values()]
    curves = [Path(to_px([_bezier(e.start, e.end, e.bend, k / 30) for k in range(31)]))
              for e in edges]
    labels: list = []
    placed: list[tuple[str, int]] = []
    for i, e in enumerate(edges):
        if e.label is None:
            continue
        best = None
        for t in LABEL_TS:
            x, y = _bezier(e.start, e.end, e.bend, t)
            angle = _angle(e.start, e.end, e.bend, t)
            text = ax.text(x, y, e.label, ha='center', va='center', fontsize=9, zorder=5,
                           rotation=angle, rotation_mode='anchor',
                           bbox=dict(boxstyle='round,pad=0.1', fc='white', ec='none', alpha=0.85))
            text.set_rotation(0)  # measure the unrotated extent, then turn the rectangle
            bb = text.get_window_extent(renderer)
            text.set_rotation(angle)
            rect = _rect_path(to_px((x, y)), bb.width + 4, bb.height + 2, angle)
            halo = _rect_path(to_px((x, y)), bb.width + 16, bb.height + 8, angle)
            score = (1000 * sum(rect.intersects_path(o, filled=True) for o in nodes)
                     + 100 * sum(rect.intersects_path(o, filled=True) for o in labels)
                     + 10 * sum(halo.intersects_path(o, filled=True) for o in labels)
                     + sum(rect.intersects_path(c, filled=False)
                           for j, c in enumerate(curves) if j != i))
            if best is None or score < best[0]:
                if best is not None:
                    best[1].remove()
                best = (score, text, rect)
            else:
                text.remove()
            if score == 0:
                break
        labels.append(best[2])
        placed.append((e.label, int(best[0])))
    return placed


def _rect_path(centre, width: float, height: float, angle: float) -> 'Path':
    """A filled rectangle (display units) turned by ``angle`` degrees about its centre."""
    from matplotlib.path import Path
    c, s = math.cos(math.radians(angle)), math.sin(math.radians(angle))
    cx, cy = centre
    corners = [(-width / 2, -height / 2), (width / 2, -height / 2), (width / 2, height / 2),
               (-width / 2, height / 2), (-width / 2, -height / 2)]
    return Path([(cx + u * c - v * s, cy + u * s + v * c) for u, v in corners], closed=True)


def roomy_geometry(genotype: Genotype, reduction: bool, title: Optional[str] = None) -> CellGeometry:
    """The tightest layout of :data:`SPREADS` in which no label covers another label or a node.

    Each try is drawn on a figure of its own: placements depend only on the
    cell's geometry at the fixed scale (INCH_PER_UNIT), not on the figure.
    """
    for spread in SPREADS:
        geometry = cell_geometry(genotype, reduction, title, spread)
        fig = new_figure(*geometry.size)
        placed = draw_cell(geometry, fig.add_axes([0, 0, 1, 1]))
        if all(score < OVERLAP for _, score in placed):
            break
    return geometry


def cells_figure(genotype: Genotype, cells: Sequence[str], title: Optional[str] = None):
    """One figure with the given cells stacked top to bottom, all at the same scale.

    Returns the figure and, per cell, its labels' placement scores (see :func:`draw_cell`).
    """
    geoms = []
    for kind in cells:
        label = f'{kind} cell' if title is None else f'{title}: {kind} cell'
        geoms.append(roomy_geometry(genotype, kind == 'reduce', label))
    width = max(g.size[0] for g in geoms)
    height = sum(g.size[1] for g in geoms)
    fig = new_figure(width, height)
    top = height
    scores = {}
    for kind, g in zip(cells, geoms):
        w, h = g.size
        top -= h
        ax = fig.add_axes([(width - w) / 2 / width, top / height, w / width, h / height])
        scores[kind] = draw_cell(g, ax)
    return fig, scores


def render_genotype(spec: GenotypeSpec, out: Union[str, os.PathLike], cell: str = 'both',
                    title: Optional[str] = None, dpi: int = 150) -> str:
    """Draw ``spec``'s normal and/or reduction cell to ``out`` (.png, .svg or .pdf)."""
    if cell not in (*CELLS, 'both'):
        raise ValueError(f"cell must be 'normal', 'reduce' or 'both', got {cell!r}")
    image_format(out)  # fail before drawing anything
    genotype = load_genotype(spec)
    fig, _ = cells_figure(genotype, CELLS if cell == 'both' else (cell,), title)
    return save_figure(fig, out, dpi=dpi)
