"""A genotype-built network as a multi-scale detection backbone (and the trunk of the classifier)."""
from __future__ import annotations

from typing import Optional, Sequence, Union

import torch
import torch.nn as nn
from mmdet.registry import MODELS
from mmengine.model import BaseModule

from ...models.backbone import FrozenStagesMixin
from ...utils.recompute import recomputed
from .cell import GenotypeCell
from .layout import build_stem, cell_plan, check_input
from .published import GenotypeSpec, load_genotype


@MODELS.register_module()
class DartsBackbone(FrozenStagesMixin, BaseModule):
    """Stem + genotype cells of DARTS' NetworkImageNet / NetworkCIFAR, without pooling or head.

    Stages are split at the reduction cells. For the ImageNet stem, stage 0
    is ``stem0`` (stride 4) and stages 1-3 end at strides 8, 16 and 32: for
    C=48 and PC_DARTS_image they have 48, 192, 384 and 768 channels.

    Args:
        genotype: a published name (``'PC_DARTS_image'``), a genotype file
            (e.g. a search's ``genotype.json``), a dict or a Genotype; or a
            list of those, one per stage of cells (``len(reductions) + 1``):
            a stage's normal cells and the reduction cell that opens it use
            its genotype (what the network-level search produces).
        C: channels per node in the first stage (48 in the papers' ImageNet nets).
        layers: number of cells (14 for ImageNet, 20 for CIFAR).
        reductions: indices of the reduction cells (None: DARTS'
            ``layers//3`` and ``2*layers//3``).
        stem: ``'imagenet'`` (three stride-2 convs) or ``'cifar'`` (one stride-1 conv).
        out_indices: which stages to return.
        frozen_stages: stages ``0..frozen_stages`` are frozen (-1: none).
        norm_eval: keep BN layers in eval mode while training.
        drop_path_prob: current drop-path probability (a hook ramps it).
        with_cp: keep only each cell's inputs for backward and recompute the
            cell there (as ``with_cp`` in MMDetection's backbones): less
            memory for one more forward of the cells; the same gradients,
            drop-path masks and BatchNorm statistics.
    """

    def __init__(self,
                 genotype: Union[GenotypeSpec, Sequence[GenotypeSpec]] = 'PC_DARTS_image',
                 C: int = 48,
                 layers: int = 14,
                 reductions: Optional[Sequence[int]] = None,
                 stem: str = 'imagenet',
                 out_indices: Sequence[int] = (1, 2, 3),
                 frozen_stages: int = -1,
                 norm_eval: bool = False,
                 drop_path_prob: float = 0.,
                 with_cp: bool = False,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        # DARTS' default has two reductions; cell_plan checks explicit ones.
        stages = 3 if reductions is None else len(reductions) + 1
        if isinstance(genotype, (list, tuple)):
            if len(genotype) != stages:
                raise ValueError(f'genotype: a list gives one genotype per stage of cells; '
                                 f'{stages - 1} reductions make {stages} stages, '
                                 f'got {len(genotype)} genotypes')
            self.genotypes = tuple(load_genotype(g) for g in genotype)
        else:
            self.genotypes = (load_genotype(genotype),) * stages
        # The one genotype of every cell; None when stages differ (see ``genotypes``).
        self.genotype = self.genotypes[0] if len(set(self.genotypes)) == 1 else None
        self.stem_type = stem
        C_stem = C if stem == 'imagenet' else 3 * C
        plan = cell_plan(C, layers, C_stem, stem,
                         normal_multiplier=[len(g.normal_concat) for g in self.genotypes],
                         reduce_multiplier=[len(g.reduce_concat) for g in self.genotypes],
                         reductions=reductions)
        self.reductions = tuple(spec.index for spec in plan if spec.reduction)
        self.stem = build_stem(stem, C_stem)
        self.cells = nn.ModuleList(GenotypeCell(self.genotypes[spec.stage - 1], spec) for spec in plan)
        self.plan = plan
        self.num_stages = plan[-1].stage + 1
        # The last cell of each stage is where that stage's feature is tapped.
        self.stage_ends = {}
        for spec, cell in zip(plan, self.cells):
            self.stage_ends[spec.stage] = spec.index
        self.cell_stages = [spec.stage for spec in plan]
        self.out_channels = [C_stem] + [
            self.cell_out_channels(self.stage_ends[s]) for s in range(1, self.num_stages)]
        # Nominal strides; odd sizes round up at each stride-2 step.
        cell_stride = self.stem.strides[1]
        self.strides = [self.stem.strides[0]] + [
            cell_stride * 2 ** (s - 1) for s in range(1, self.num_stages)]
        out_indices = tuple(out_indices)
        for i in out_indices:
            if not 0 <= i < self.num_stages:
                raise ValueError(f'out_indices: stage {i} does not exist (0..{self.num_stages - 1})')
        if not -1 <= frozen_stages < self.num_stages:
            raise ValueError(f'frozen_stages must be in -1..{self.num_stages - 1}, got {frozen_stages}')
        self.out_indices = out_indices
        self.frozen_stages = frozen_stages
        self.norm_eval = norm_eval
        self.with_cp = with_cp
        self.drop_path_prob = drop_path_prob
        self._freeze_stages()

    def architecture_options(self) -> dict:
        """The option that rebuilds these cells (recorded in training checkpoints, engine/checkpoints.py)."""
        if self.genotype is not None:
            return {'genotype': self.genotype.to_dict()}
        return {'genotype': [g.to_dict() for g in self.genotypes]}

    def cell_out_channels(self, i: int) -> int:
        return self.cells[i].multiplier * self.plan[i].C

    # ------------------------------------------------------------------ state
    @property
    def drop_path_prob(self) -> float:
        return self._drop_path_prob

    @drop_path_prob.setter
    def drop_path_prob(self, p: float) -> None:
        if not 0. <= p < 1.:
            raise ValueError(f'drop_path_prob must be in [0, 1), got {p}')
        self._drop_path_prob = p
        for cell in self.cells:
            cell.drop_prob = p

    def _stage_modules(self, stage: int) -> list[nn.Module]:
        if stage == 0:
            return [self.stem]
        return [c for c, s in zip(self.cells, self.cell_stages) if s == stage]

    def _frozen_modules(self) -> list[nn.Module]:
        # FrozenStagesMixin freezes these (and keeps BN in eval mode with norm_eval)
        return [m for stage in range(self.frozen_stages + 1) for m in self._stage_modules(stage)]

    # ---------------------------------------------------------------- forward
    def forward_cells(self, x: torch.Tensor, taps: Sequence[int] = ()) -> tuple[list, dict]:
        """Run the trunk; return the stage outputs and the outputs of cells in ``taps``."""
        check_input(x, type(self).__name__)
        s0, s1 = self.stem(x)
        stage_out = [s0 if self.stem_type == 'imagenet' else s1]
        tapped = {}
        for i, cell in enumerate(self.cells):
            if self.with_cp:
                s0, s1 = s1, recomputed(cell, cell, s0, s1, preserve_rng_state=True)
            else:
                s0, s1 = s1, cell(s0, s1)
            if i in taps:
                tapped[i] = s1
            if self.stage_ends.get(self.cell_stages[i]) == i:
                stage_out.append(s1)
        return stage_out, tapped

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        stages, _ = self.forward_cells(x)
        return tuple(stages[i] for i in self.out_indices)
