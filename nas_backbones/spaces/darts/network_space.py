"""The DARTS family's macro space for the network-level search: how found cells are assembled.

Choices, each a list in the config (a single value is a fixed choice):

- ``genotypes``: the found blocks (published names or genotype files);
  with ``genotype_per_stage=True`` each stage of cells picks its own;
- ``C``: channels per node of the first stage (doubling at each reduction);
- ``stage_cells``: per stage of cells, the choices of its number of
  normal cells. Stage 1 is all normal cells; every later stage opens with
  a reduction cell. So the depth and *where the reductions fall* are one
  choice: ``stage_cells=[4, 4, 4]`` is DARTS' 14-cell network (reductions
  at cells 4 and 9), ``[[2, 3, 4], [2, 3, 4], [2, 3, 4]]`` searches them;
- ``input_size``: the square input resolution.

A Pareto point stores ``backbone`` (the keyword arguments of
:class:`DartsBackbone`, which :class:`GenotypeClassifier` takes too),
``input_size`` and ``out_channels`` (the backbone's, for a detector's neck).
"""
from __future__ import annotations

import os
from typing import Any, Optional, Sequence, Union

import torch
import torch.nn as nn
from mmdet.registry import MODELS

from ...network_search.space import NETWORK_SPACES, NetworkSpace, SpaceDeclarationError, choices, int_at_least
from .encoding import DartsEncoding, layout_of, macro_values
from .layout import STEMS, cell_plan
from .published import PUBLISHED, load_genotype
from .result import Genotype, GenotypeError


def _even_width(v: Any) -> Optional[str]:
    if isinstance(v, bool) or not isinstance(v, int):
        return 'is not an integer'
    return None if v >= 2 and v % 2 == 0 else 'is not a positive even number (FactorizedReduce halves C)'


@NETWORK_SPACES.register_module()
class DartsNetworkSpace(NetworkSpace):
    """Macro-architectures of DARTS-family cells (see the module docstring for the choices).

    Args:
        genotypes: names or files of the found genotypes.
        genotype_per_stage: one genotype choice per stage (else one for the network).
        C, stage_cells, input_size: the choices.
        stem: ``'imagenet'`` or ``'cifar'``.
        encoding: the latency predictor's encoding, ``dict(steps=4, primitives=[...],
            per_edge=False)`` (default: the first genotype's nodes and ops).
    """

    builds = ('Each point of `../pareto.json` builds its networks: `DartsBackbone(**architecture["backbone"])`, '
              '`GenotypeClassifier(backbone=architecture["backbone"], ...)`.')

    def __init__(self, genotypes: Union[str, Sequence[str]], C: Union[int, Sequence[int]],
                 stage_cells: Sequence[Union[int, Sequence[int]]],
                 input_size: Union[int, Sequence[int]] = 224, genotype_per_stage: bool = False,
                 stem: str = 'imagenet', encoding: Optional[dict] = None) -> None:
        super().__init__(genotypes=genotypes, C=C, stage_cells=stage_cells, input_size=input_size,
                         genotype_per_stage=genotype_per_stage, stem=stem, encoding=encoding)
        w = self.where
        self.genotype_names = choices(genotypes, f'{w}.genotypes',
                                      lambda v: None if isinstance(v, str) else 'is not a name or a path')
        self.genotypes: dict[str, Genotype] = {}
        for i, name in enumerate(self.genotype_names):
            try:
                self.genotypes[name] = load_genotype(name)
            except (GenotypeError, FileNotFoundError) as e:
                raise SpaceDeclarationError(f'{w}.genotypes[{i}]: {e}') from None
        self.C = choices(C, f'{w}.C', _even_width)
        if isinstance(stage_cells, (str, dict)) or not isinstance(stage_cells, Sequence) or not stage_cells:
            raise SpaceDeclarationError(f'{w}.stage_cells: expected one entry (choices of normal '
                                        f'cells) per stage of cells, got {stage_cells!r}')
        # Stage 1 needs a cell (no reduction at cell 0); later stages have their reduction cell.
        self.stage_cells = [choices(c, f'{w}.stage_cells[{s}]', int_at_least(1 if s == 0 else 0))
                            for s, c in enumerate(stage_cells)]
        self.input_size = choices(input_size, f'{w}.input_size', int_at_least(16))
        if not isinstance(genotype_per_stage, bool):
            raise SpaceDeclarationError(f'{w}.genotype_per_stage: expected True or False, got {genotype_per_stage!r}')
        self.per_stage = genotype_per_stage
        if stem not in STEMS:
            raise SpaceDeclarationError(f'{w}.stem: {stem!r} is not one of {STEMS}')
        self.stem = stem
        first = self.genotypes[self.genotype_names[0]]
        enc = {'steps': first.steps, 'primitives': list(first.primitives), 'per_edge': False, **(encoding or {})}
        unknown = sorted(set(enc) - {'steps', 'primitives', 'per_edge'})
        if unknown:
            raise SpaceDeclarationError(f'{w}.encoding: unknown field(s) {unknown} (steps, primitives, per_edge)')
        self.encoding = DartsEncoding(enc['steps'], enc['primitives'], len(self.stage_cells), enc['per_edge'])

    @property
    def stages(self) -> int:
        return len(self.stage_cells)

    # ------------------------------------------------------------------ choose
    def suggest(self, trial: Any) -> dict:
        stage_cells = [trial.suggest_categorical(f'stage{s + 1}_cells', c)
                       for s, c in enumerate(self.stage_cells)]
        if self.per_stage:
            names = [trial.suggest_categorical(f'stage{s + 1}_genotype', self.genotype_names)
                     for s in range(self.stages)]
        else:
            names = [trial.suggest_categorical('genotype', self.genotype_names)] * self.stages
        return dict(genotypes=names, C=trial.suggest_categorical('C', self.C),
                    stage_cells=stage_cells,
                    input_size=trial.suggest_categorical('input_size', self.input_size))

    # ------------------------------------------------------------------- build
    def backbone_kwargs(self, arch: dict, portable: bool = False) -> dict:
        """``DartsBackbone``'s keyword arguments; ``portable``: genotype files inlined as dicts,
        so the point needs no file but itself (published names stay names)."""
        layers, reductions = layout_of(arch['stage_cells'])
        names = arch['genotypes']
        specs = [n if (not portable or n in PUBLISHED) else self.genotypes[n].to_dict() for n in names]
        genotype = specs[0] if len(set(names)) == 1 else specs
        return dict(genotype=genotype, C=arch['C'], layers=layers, reductions=reductions, stem=self.stem)

    def build(self, arch: dict, template: Optional[dict] = None, training: bool = False) -> nn.Module:
        cfg = dict(template or dict(type='GenotypeClassifier', num_classes=1000))
        cfg['backbone'] = dict(cfg.get('backbone') or {}, **self.backbone_kwargs(arch))
        cfg.setdefault('type', 'GenotypeClassifier')
        if not training:
            cfg['auxiliary'] = False  # the deployed network: no training-only head
        cfg.setdefault('_scope_', 'mmdet')
        return MODELS.build(cfg)

    def check_template(self, template: Optional[dict]) -> None:
        """The template backbone's ``out_indices`` must name stages that ``stage_cells`` makes."""
        backbone = dict((template or {}).get('backbone') or {})
        out_indices = tuple(backbone.get('out_indices', (1, 2, 3)))  # DartsBackbone's default
        bad = [i for i in out_indices if not 0 <= i <= self.stages]
        if bad:
            raise SpaceDeclarationError(
                f'{self.where}.stage_cells has {self.stages} entries, so the networks have stages '
                f'0..{self.stages} (the stem, then one per entry), but model.backbone.out_indices='
                f'{out_indices} taps stage {bad[0]}: give stage_cells {max(out_indices)} entries (one '
                'per stage of cells: DARTS\' [4, 4, 4] has two reductions), or set '
                'model.backbone.out_indices')

    def input_shape(self, arch: dict) -> tuple[int, int, int]:
        return (3, arch['input_size'], arch['input_size'])

    def out_channels(self, arch: dict) -> list[int]:
        """``DartsBackbone.out_channels`` of ``arch`` (stem, then each stage), from the plan alone:
        what a detector's neck takes (``in_channels`` = ``out_channels[1:]``)."""
        layers, reductions = layout_of(arch['stage_cells'])
        gs = [self.genotypes[n] for n in arch['genotypes']]
        C_stem = arch['C'] if self.stem == 'imagenet' else 3 * arch['C']
        plan = cell_plan(arch['C'], layers, C_stem, self.stem, [len(g.normal_concat) for g in gs],
                         [len(g.reduce_concat) for g in gs], reductions)
        last = {spec.stage: spec for spec in plan}
        return [C_stem] + [len(gs[s - 1].concat(last[s].reduction)) * last[s].C for s in sorted(last)]

    def point(self, arch: dict) -> dict:
        return dict(backbone=self.backbone_kwargs(arch, portable=True), input_size=arch['input_size'],
                    out_channels=self.out_channels(arch), genotype_names=list(arch['genotypes']))

    # ------------------------------------------------------------ predictor
    def predictor_encoding(self) -> dict:
        return self.encoding.spec()

    def encode(self, arch: dict) -> torch.Tensor:
        return self.encoding.of_network([self.genotypes[n] for n in arch['genotypes']], arch['C'],
                                        arch['input_size'], arch['stage_cells'])

    def macro_values(self, arch: dict) -> dict[str, float]:
        return macro_values(arch)


def genotype_label(name: str) -> str:
    """A short name for plots: a published name, or a file's base name."""
    return name if name in PUBLISHED else os.path.splitext(os.path.basename(name))[0]
