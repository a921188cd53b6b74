"""What an experiment tracker shows of a Single-Path search each epoch (``SearchSpace.tracking``).

Scalars: each searchable layer's thresholds (``thresholds/layer<i>/<t5x5|t100c|t50c>``,
``<i>`` its index in the trunk) and, with a runtime cost, the runtime estimate R and
lambda (``runtime/R``, ``runtime/lambda``). The derived architecture is a text (its
JSON) and an image (``architecture``: the report's network strip).
"""
from __future__ import annotations

from typing import Optional

import torch

from ...core.search_space import Tracking
from .arch import SinglePathArch
from .cost import RuntimeCost
from .search_op import THRESHOLDS
from .supernet import SinglePathTrunk


@torch.no_grad()
def singlepath_tracking(trunk: SinglePathTrunk, arch: SinglePathArch, cost: Optional[RuntimeCost],
                        images: bool = True) -> Tracking:
    """The tracked values of ``trunk`` under ``arch``; ``cost``: the search's runtime term, or None."""
    result = trunk.derive_architecture(arch())
    scalars = {f'thresholds/layer{i}/{name}': float(t)
               for i, row in zip(trunk.searchable_index, arch().detach().cpu())
               for name, t in zip(THRESHOLDS, row)}
    if cost is not None:
        scalars['runtime/R'] = float(cost.expected_runtime(arch))
        scalars['runtime/lambda'] = float(cost.current_lambda(arch))
    out = Tracking(scalars=scalars, texts={'architecture': result.to_json()})
    if images:
        from ...visualization.figure import figure_rgb, new_figure
        from .diagram import draw_architecture
        fig = new_figure(max(6., 0.42 * len(result.flat_choices) + 2.5), 2.)
        draw_architecture(fig.add_axes((0.01, 0.02, 0.98, 0.9)), result)
        out.images['architecture'] = figure_rgb(fig)
    return out
