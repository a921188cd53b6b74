"""The PC-DARTS / DARTS search network (``model_search.py`` / ``model_search_imagenet.py``).

:class:`SearchTrunk` is the stem and the search cells, shared by the
classification supernet (:class:`PCDartsSupernet`, trunk + classifier) and
the detection backbone (:class:`~nas_backbones.spaces.darts.search_backbone.PCDartsSearchBackbone`,
trunk + stage outputs for a neck).
"""
from __future__ import annotations

from typing import Collection, Optional, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmdet.registry import MODELS
from mmengine.model import BaseModule

from ...utils.recompute import recomputed
from .layout import build_stem, cell_plan, check_input
from .ops import DEFAULT_PRIMITIVES
from .result import KNOWN_OPS
from .search_cell import SearchCell
from .search_op import check_impl

STEM_TAP = -1  # forward_cells(taps=...): the stem's output (stage 0 of a backbone)


class SearchTrunk(BaseModule):
    """Stem + ``layers`` search cells; takes the architecture weights as input.

    ``impl``: ``'fast'`` (the default) or ``'reference'``, the paper's
    equations one edge at a time (the baseline the fast path is tested and
    benchmarked against; identical parameters). ``channels_last``, ``fused``:
    the fast path's memory layout and whether it folds the op weights into
    the BatchNorms (None: by device, see
    :func:`~nas_backbones.spaces.darts.search_op.fast_policy`).

    ``recompute``: the stem and the cells' 1x1 preprocessing keep only their
    inputs for backward and recompute the rest there. These layers do not
    shrink with K, so this is what lets K=4 approach 1/4 of K=1's memory;
    the same gradients and BatchNorm statistics, for a few percent of time
    (``benchmarks/README.md``).

    ``aux_skip``: every cell gets DARTS-' auxiliary skip connections
    (:class:`SearchCell`), weighted by ``forward_cells``' ``aux_weight``;
    the search space that sets it also decays that weight.
    """

    def __init__(self,
                 C: int = 16,
                 layers: int = 8,
                 steps: int = 4,
                 multiplier: int = 4,
                 stem: str = 'imagenet',
                 stem_multiplier: int = 3,
                 primitives: Sequence[str] = DEFAULT_PRIMITIVES,
                 partial_k: int = 2,
                 recompute: bool = False,
                 impl: str = 'fast',
                 channels_last: Optional[bool] = None,
                 fused: Optional[bool] = None,
                 aux_skip: bool = False,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        unknown = [p for p in primitives if p not in KNOWN_OPS]
        if unknown:
            raise ValueError(f'primitives: unknown op(s) {unknown}; known ops: {sorted(KNOWN_OPS)}')
        if not 1 <= multiplier <= steps:
            raise ValueError(f'multiplier must be in 1..steps={steps}, got {multiplier}')
        self.steps, self.multiplier = steps, multiplier
        self.primitives = tuple(primitives)
        self.partial_k = partial_k
        self.impl = check_impl(impl)
        self.C_stem = stem_multiplier * C
        self.stem_type = stem
        self.stem = build_stem(stem, self.C_stem, recompute)
        plan = cell_plan(C, layers, self.C_stem, stem, multiplier, multiplier)
        for spec in plan:
            if spec.C % partial_k:
                raise ValueError(f'partial_k={partial_k} does not divide the {spec.C} channels '
                                 f'of cell {spec.index} (C={C}; C doubles at each reduction)')
        self.plan = plan
        self.cells = nn.ModuleList(
            SearchCell(spec, steps, multiplier, self.primitives, partial_k, recompute, impl,
                       channels_last, fused, aux_skip) for spec in plan)
        self.state_relu = nn.ReLU()  # a cell output's ReLU, shared by the next two cells

    def forward_cells(self, x: torch.Tensor, arch_weights: dict, taps: Collection[int] = (),
                      with_cp: bool = False, aux_weight: float = 0.) -> dict[int, torch.Tensor]:
        """The outputs of the cells in ``taps`` and of the last cell, by cell index
        (``STEM_TAP``: the stem's, stride 4 for the ImageNet stem); ``arch_weights`` is
        :meth:`ArchParameters.forward`'s output.

        Each state's ReLU is computed once for the two cells (or stem layer
        and cell) whose preprocessing opens with it, not once in each: the
        same maths, one saved tensor fewer per cell. ``with_cp``: each cell
        keeps only its inputs (and the architecture weights) for backward and
        is recomputed there (:func:`~nas_backbones.utils.recompute.recomputed`:
        the same gradients and BatchNorm statistics). ``aux_weight``: the
        weight of the cells' auxiliary skips (DARTS-; ignored without them).
        """
        check_input(x, type(self).__name__)
        last = len(self.cells) - 1
        out: dict[int, torch.Tensor] = {}

        def run(cell: SearchCell, s0, s1, activated: bool) -> torch.Tensor:
            w, ew = arch_weights[cell.reduction]
            if not with_cp:
                return cell(s0, s1, w, ew, activated=activated, aux_weight=aux_weight)
            return recomputed(cell, lambda *a: cell(*a, activated=activated, aux_weight=aux_weight),
                              s0, s1, w, ew)

        if self.impl == 'reference':
            s0, s1 = self.stem(x)
            if STEM_TAP in taps:
                out[STEM_TAP] = s0 if self.stem_type == 'imagenet' else s1
            for i, cell in enumerate(self.cells):
                s0, s1 = s1, run(cell, s0, s1, False)
                if i in taps or i == last:
                    out[i] = s1
            return out
        if STEM_TAP in taps:  # the raw stem output too: its ReLU is taken here, not in the stem
            s0, s1 = self.stem(x)
            out[STEM_TAP] = s0 if self.stem_type == 'imagenet' else s1
            a0 = F.relu(s0)
            a1 = a0 if s1 is s0 else F.relu(s1)
        else:
            a0, a1 = self.stem(x, activated=True)
        for i, cell in enumerate(self.cells):
            cell_out = run(cell, a0, a1, True)
            if i in taps or i == last:
                out[i] = cell_out
            if i < last:
                a0, a1 = a1, self.state_relu(cell_out)
        return out


@MODELS.register_module()
class PCDartsSupernet(SearchTrunk):
    """Stem + ``layers`` search cells + classifier; takes the architecture weights as input.

    Defaults are the PC-DARTS ImageNet search network (K=2, C=16, 8 cells,
    stem of three stride-2 convs, 0.96M params for 1000 classes). The CIFAR
    network is ``stem='cifar', partial_k=4``; DARTS is ``partial_k=1`` with
    edge normalization off (see :class:`ArchParameters`). The other
    arguments are :class:`SearchTrunk`'s.
    """

    def __init__(self,
                 num_classes: int = 1000,
                 C: int = 16,
                 layers: int = 8,
                 steps: int = 4,
                 multiplier: int = 4,
                 stem: str = 'imagenet',
                 stem_multiplier: int = 3,
                 primitives: Sequence[str] = DEFAULT_PRIMITIVES,
                 partial_k: int = 2,
                 recompute: bool = False,
                 impl: str = 'fast',
                 channels_last: Optional[bool] = None,
                 fused: Optional[bool] = None,
                 aux_skip: bool = False,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(C, layers, steps, multiplier, stem, stem_multiplier, primitives,
                         partial_k, recompute, impl, channels_last=channels_last, fused=fused,
                         aux_skip=aux_skip, init_cfg=init_cfg)
        self.num_classes = num_classes
        self.global_pooling = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(multiplier * self.plan[-1].C, num_classes)

    def forward(self, x: torch.Tensor, arch_weights: dict, aux_weight: float = 0.) -> torch.Tensor:
        """Logits; ``arch_weights`` is :meth:`ArchParameters.forward`'s output, ``aux_weight`` the auxiliary skips'."""
        out = self.forward_cells(x, arch_weights, aux_weight=aux_weight)[len(self.cells) - 1]
        return self.classifier(self.global_pooling(out).flatten(1))
