"""The PC-DARTS / DARTS search network (``model_search.py`` / ``model_search_imagenet.py``)."""
from __future__ import annotations

from typing import Optional, Sequence

import torch
import torch.nn as nn
from mmdet.registry import MODELS
from mmengine.model import BaseModule

from .genotype import KNOWN_OPS
from .macro import build_stem, cell_plan, check_input
from .ops import DEFAULT_PRIMITIVES
from .mixed_op import check_impl
from .search_cell import SearchCell


@MODELS.register_module()
class PCDartsSupernet(BaseModule):
    """Stem + ``layers`` search cells + classifier; takes the architecture weights as input.

    Defaults are the PC-DARTS ImageNet search network (K=2, C=16, 8 cells,
    stem of three stride-2 convs, 0.96M params for 1000 classes). The CIFAR
    network is ``stem='cifar', partial_k=4``; DARTS is ``partial_k=1`` with
    edge normalization off (see :class:`ArchParameters`).

    ``impl``: ``'fast'`` (the default) or ``'reference'``, the paper's
    equations one edge at a time (the baseline the fast path is tested and
    benchmarked against; identical parameters). ``channels_last``, ``fused``:
    the fast path's memory layout and whether it folds the op weights into
    the BatchNorms (None: by device, see
    :func:`~nas_backbones.spaces.darts.mixed_op.fast_policy`).

    ``recompute``: the stem and the cells' 1x1 preprocessing keep only their
    inputs for backward and recompute the rest there. These layers do not
    shrink with K, so this is what lets K=4 approach 1/4 of K=1's memory;
    the same gradients and BatchNorm statistics, for a few percent of time
    (``benchmarks/README.md``).
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
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        unknown = [p for p in primitives if p not in KNOWN_OPS]
        if unknown:
            raise ValueError(f'primitives: unknown op(s) {unknown}; known ops: {sorted(KNOWN_OPS)}')
        if not 1 <= multiplier <= steps:
            raise ValueError(f'multiplier must be in 1..steps={steps}, got {multiplier}')
        self.steps, self.multiplier = steps, multiplier
        self.num_classes = num_classes
        self.primitives = tuple(primitives)
        self.partial_k = partial_k
        self.impl = check_impl(impl)
        C_stem = stem_multiplier * C
        self.stem_type = stem
        self.stem = build_stem(stem, C_stem, recompute)
        plan = cell_plan(C, layers, C_stem, stem, multiplier, multiplier)
        for spec in plan:
            if spec.C % partial_k:
                raise ValueError(f'partial_k={partial_k} does not divide the {spec.C} channels '
                                 f'of cell {spec.index} (C={C}; C doubles at each reduction)')
        self.plan = plan
        self.cells = nn.ModuleList(
            SearchCell(spec, steps, multiplier, self.primitives, partial_k, recompute, impl,
                       channels_last, fused) for spec in plan)
        self.state_relu = nn.ReLU()  # a cell output's ReLU, shared by the next two cells
        self.global_pooling = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(multiplier * plan[-1].C, num_classes)

    def forward(self, x: torch.Tensor, arch_weights: dict) -> torch.Tensor:
        """``arch_weights`` is :meth:`ArchParameters.forward`'s output.

        Each state's ReLU is computed once for the two cells (or stem layer
        and cell) whose preprocessing opens with it, not once in each: the
        same maths, one saved tensor fewer per cell.
        """
        check_input(x, type(self).__name__)
        if self.impl == 'reference':
            s0, s1 = self.stem(x)
            for cell in self.cells:
                s0, s1 = s1, cell(s0, s1, *arch_weights[cell.reduction])
            return self.classifier(self.global_pooling(s1).flatten(1))
        a0, a1 = self.stem(x, activated=True)
        for i, cell in enumerate(self.cells):
            w, ew = arch_weights[cell.reduction]
            out = cell(a0, a1, w, ew, activated=True)
            if i + 1 < len(self.cells):
                a0, a1 = a1, self.state_relu(out)
        return self.classifier(self.global_pooling(out).flatten(1))
