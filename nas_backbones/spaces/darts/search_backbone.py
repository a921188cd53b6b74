"""The PC-DARTS supernet's trunk as an MMDetection backbone: the cell search inside a detector."""
from __future__ import annotations

from typing import ContextManager, Optional, Sequence

import torch
import torch.nn as nn
from mmdet.registry import MODELS

from ...core.detector_space import SearchableBackbone
from ...core.search_space import Tracking
from ...models.warm_start import load_trunk_weights
from .arch import ArchParameters
from .cost import ResourceCost
from .ops import DEFAULT_PRIMITIVES
from .result import Genotype
from .stabilizers import check_max_skips
from .supernet import STEM_TAP, SearchTrunk
from .tracking import darts_tracking


@MODELS.register_module()
class PCDartsSearchBackbone(SearchableBackbone, SearchTrunk):
    """Stem + search cells (partial channels, edge normalization) returning a neck's stages.

    Stages as :class:`~nas_backbones.spaces.darts.backbone.DartsBackbone`
    splits the derived network: for the ImageNet stem, stage 0 is the stem's
    stride-4 output and stages 1-3 end at the last cell before each
    reduction and at the last cell (strides 8, 16, 32; odd sizes round up).
    With C=16 and 4 nodes they have 48, 64, 128 and 256 channels
    (``out_channels``). The genotype derived from it builds a
    ``DartsBackbone`` with the same stages, so a neck configured for the
    search network's strides fits the derived one (with its own widths).

    The architecture weights are the space's (:class:`DetectorSearchSpace`
    feeds them, see :class:`SearchableBackbone`); ``build_arch`` makes the
    alpha/beta they come from.

    Args:
        C, layers, steps, multiplier, stem, stem_multiplier, primitives,
        partial_k, impl, channels_last, fused: the supernet's
            (:class:`~nas_backbones.spaces.darts.supernet.SearchTrunk`);
            defaults are the PC-DARTS ImageNet search network.
        out_indices: which stages to return (negative: from the last, as in Python).
        recompute: the stem and the cells' 1x1 preprocessing recomputed in
            backward (as ``PCDartsSupernet(recompute=True)``).
        with_cp: every cell recomputed in backward, keeping only its inputs
            (as ``DartsBackbone(with_cp=True)``); more memory saved than
            ``recompute``, for one more forward of the cells.
        max_skips: derive the normal cell with at most this many skip_connect
            (P-DARTS' cap, as ``model.space.arch.max_skips``); None: no cap. Passed
            to the architecture parameters (``build_arch``), which derive with it (checked by
            their one check, ``stabilizers.check_max_skips``); giving it in
            ``model.space.arch`` instead is the same, giving it in both an error.
        aux_skip: build the cells with DARTS-' auxiliary skips, which
            ``model.space.arch.aux_skip`` (their weight's schedule) needs.
        warm_start: ``dict(checkpoint=PATH, prefix='space.model.')``: the trunk's
            weights (stem, cells, BatchNorm statistics) from a search checkpoint of the same
            trunk, e.g. a crop or ImageNet-subset classification search
            (``nas_backbones.models.warm_start``, FNA's idea). Loaded by ``init_weights`` (so a
            resumed search keeps its own weights), strictly: a missing or differently shaped
            weight is an error naming it. alpha/beta are not the trunk's and are never loaded.
            None (the default): from scratch.
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
                 out_indices: Sequence[int] = (1, 2, 3),
                 recompute: bool = False,
                 with_cp: bool = False,
                 max_skips: Optional[int] = None,
                 aux_skip: bool = False,
                 impl: str = 'fast',
                 channels_last: Optional[bool] = None,
                 fused: Optional[bool] = None,
                 warm_start: Optional[dict] = None,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(C, layers, steps, multiplier, stem, stem_multiplier, primitives,
                         partial_k, recompute, impl, channels_last=channels_last, fused=fused,
                         aux_skip=aux_skip, init_cfg=init_cfg)
        if warm_start is not None:
            if not isinstance(warm_start, dict) or set(warm_start) != {'checkpoint', 'prefix'}:
                raise ValueError('warm_start: expected dict(checkpoint=PATH, '
                                 f"prefix='space.model.'), got {warm_start!r}")
            if init_cfg is not None:
                raise ValueError('warm_start and init_cfg both initialise the trunk: give one')
        self.warm_start = None if warm_start is None else dict(warm_start)
        self.max_skips = check_max_skips(max_skips)
        self.aux_skip = aux_skip
        self.with_cp = with_cp
        self.num_stages = self.plan[-1].stage + 1
        # The last cell of each stage is where that stage's feature is tapped.
        self.stage_ends = {spec.stage: spec.index for spec in self.plan}
        self.stage_ends[0] = STEM_TAP
        out_indices = tuple(self.num_stages + i if i < 0 else i for i in out_indices)
        for i in out_indices:
            if not 0 <= i < self.num_stages:
                raise ValueError(f'out_indices: stage {i} does not exist (0..{self.num_stages - 1})')
        self.out_indices = out_indices
        self.out_channels = [self.C_stem] + [
            multiplier * self.plan[self.stage_ends[s]].C for s in range(1, self.num_stages)]
        cell_stride = self.stem.strides[1]
        self.strides = [self.stem.strides[0]] + [
            cell_stride * 2 ** (s - 1) for s in range(1, self.num_stages)]

    def init_weights(self) -> None:
        super().init_weights()
        if self.warm_start is not None:
            load_trunk_weights(self, what='model.space.detector.backbone.warm_start',
                               **self.warm_start)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        taps = [self.stage_ends[i] for i in self.out_indices]
        weights, aux_weight = self.current_arch_weights()
        cells = self.forward_cells(x, weights, taps, self.with_cp, aux_weight=aux_weight)
        return tuple(cells[t] for t in taps)

    # ------------------------------------------------------ SearchableBackbone
    def build_arch(self, edge_norm: bool = True, init_std: float = 1e-3,
                   max_skips: Optional[int] = None, **stabilizers) -> ArchParameters:
        """alpha/beta shared by the cells of each kind (``edge_norm=False``: DARTS, no beta), with
        the search's stabilisers (``beta_decay``, ``perturb``, ``aux_skip``, ``fair_darts``,
        ``max_skips``: :class:`ArchParameters`)."""
        if max_skips is not None and self.max_skips is not None:
            raise ValueError('max_skips: given in both model.space.arch and the searchable backbone '
                             '(model.space.detector.backbone or model.space.model.backbone); '
                             'give it once')
        if stabilizers.get('aux_skip') is not None and not self.aux_skip:
            raise ValueError('model.space.arch.aux_skip: the backbone\'s cells have no '
                             'auxiliary skips; set aux_skip=True on the searchable backbone '
                             '(model.space.detector.backbone or model.space.model.backbone)')
        return ArchParameters(self.steps, self.primitives, self.multiplier, edge_norm=edge_norm,
                              init_std=init_std, max_skips=self.max_skips if max_skips is None
                              else max_skips, **stabilizers)

    def arch_weights(self, arch: ArchParameters) -> tuple:
        """alpha/beta as the search feeds them (SDARTS' noise in the weight step) and DARTS-'
        auxiliary-skip weight."""
        return arch.search_weights(), arch.aux_weight()

    def derive(self, arch: nn.Module) -> Genotype:
        return arch.derive()

    def snapshot(self, arch: nn.Module) -> dict:
        return {'genotype': self.derive(arch).to_dict(), **arch.snapshot()}

    def movement(self, arch: nn.Module) -> dict:
        return arch.movement()

    def tracking(self, arch: nn.Module, images: bool = True) -> Tracking:
        return darts_tracking(arch, self.derive(arch), images)

    def regularizers(self, arch: ArchParameters) -> list[torch.Tensor]:
        return arch.regularizers()

    def weight_step(self, arch: ArchParameters) -> ContextManager:
        return arch.weight_step()

    def build_cost(self, **cfg) -> ResourceCost:
        """Expected FLOPs or latency of the cells (``input_size``: the detector's input)."""
        return ResourceCost(self, **cfg)
