"""The cell topology of the DARTS family, stated once.

A cell has two inputs (state 0 = c_{k-2}, state 1 = c_{k-1}) and ``steps``
intermediate nodes; node ``i`` (state ``i + 2``) reads every earlier state,
so it has ``2 + i`` incoming edges and a cell has ``sum(2 + i)`` (14 for 4
nodes). Edges are numbered node by node, inputs in order. In a reduction
cell the edges that read the two cell inputs take stride 2.
"""
from __future__ import annotations

from typing import Iterator, NamedTuple


class Edge(NamedTuple):
    index: int   # position in alpha/beta
    node: int    # 0..steps-1
    input: int   # the state it reads: 0, 1 (cell inputs) or 2 + an earlier node
    stride: int


def num_edges(steps: int) -> int:
    return sum(2 + i for i in range(steps))


def node_edge_ranges(steps: int) -> Iterator[tuple[int, int]]:
    """``(start, count)`` of each node's incoming edges in alpha/beta."""
    start = 0
    for i in range(steps):
        yield start, 2 + i
        start += 2 + i


def edge_stride(reduction: bool, input_index: int) -> int:
    """Stride 2 only on the edges that read the inputs of a reduction cell."""
    return 2 if reduction and input_index < 2 else 1


def cell_edges(steps: int, reduction: bool) -> list[Edge]:
    return [Edge(start + j, i, j, edge_stride(reduction, j))
            for i, (start, n) in enumerate(node_edge_ranges(steps)) for j in range(n)]
