"""DARTS' NetworkImageNet / NetworkCIFAR as an MMEngine model: the pre-training step of the transfer.

Its ``backbone`` is a :class:`DartsBackbone`, so a checkpoint of this model
initialises a detector's backbone with
``init_cfg=dict(type='Pretrained', checkpoint=..., prefix='backbone.')``.

Deviation from the reference: global pooling is adaptive (the reference's
``AvgPool2d(7)`` only fits 224 inputs); at 224 the two are identical.
"""
from __future__ import annotations

from typing import Optional, Sequence, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmdet.registry import MODELS
from mmengine.model import BaseModel
from mmengine.structures import BaseDataElement

# DEFAULT_PREPROCESSOR: inputs are BGR uint8 (LoadImageFromFile); the reference normalises RGB in [0, 1].
from ...models.classifier import DEFAULT_PREPROCESSOR, attach_scores, build_trunk, check_head_args, class_labels
from .aux_head import AuxiliaryHeadCIFAR, AuxiliaryHeadImageNet


@MODELS.register_module()
class GenotypeClassifier(BaseModel):
    """Backbone -> global average pool -> Linear, plus the auxiliary head in training.

    Args:
        backbone: config of the trunk (``type`` defaults to ``'DartsBackbone'``).
            Its keyword arguments may also be given directly, e.g.
            ``GenotypeClassifier(genotype='DARTS_V2', C=36, layers=20, stem='cifar')``.
        num_classes: number of classes.
        auxiliary: build the auxiliary head on the last reduction cell
            (``2*layers//3`` by default; the ImageNet or CIFAR variant, after the backbone's stem).
        aux_weight: weight of the auxiliary loss (0.4 in DARTS / PC-DARTS).
        label_smoothing: 0.1 in the reference ImageNet recipe, 0 for CIFAR.
        data_preprocessor: defaults to ImageNet mean/std on RGB.
    """

    def __init__(self,
                 backbone: Optional[dict] = None,
                 num_classes: int = 1000,
                 auxiliary: bool = True,
                 aux_weight: float = 0.4,
                 label_smoothing: float = 0.1,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None,
                 **backbone_kwargs) -> None:
        super().__init__(data_preprocessor=data_preprocessor or dict(DEFAULT_PREPROCESSOR),
                         init_cfg=init_cfg)
        self.backbone, cfg = build_trunk(backbone, backbone_kwargs, 'DartsBackbone',
                                         'GenotypeClassifier')
        for attr in ('forward_cells', 'cells', 'cell_out_channels', 'out_channels', 'drop_path_prob'):
            if not hasattr(self.backbone, attr):
                raise TypeError(f'GenotypeClassifier: backbone {cfg["type"]!r} has no {attr!r}; '
                                'it must be a DartsBackbone (or behave like one)')
        check_head_args(num_classes, label_smoothing)
        if aux_weight < 0:
            raise ValueError(f'aux_weight must be >= 0, got {aux_weight}')
        self.num_classes = num_classes
        self.label_smoothing = label_smoothing
        self.aux_weight = aux_weight
        # The last cell's output, whatever the backbone's out_indices say.
        self.head = nn.Linear(self.backbone.out_channels[-1], num_classes)
        # The last reduction cell (DARTS': 2*layers//3, where the reductions are by default).
        reductions = getattr(self.backbone, 'reductions', None)
        self.aux_cell = reductions[-1] if reductions else 2 * len(self.backbone.cells) // 3
        self.aux_head = None
        if auxiliary:
            aux_in = self.backbone.cell_out_channels(self.aux_cell)
            head_cls = (AuxiliaryHeadImageNet if getattr(self.backbone, 'stem_type', 'imagenet')
                        == 'imagenet' else AuxiliaryHeadCIFAR)
            self.aux_head = head_cls(aux_in, num_classes)

    # ---------------------------------------------------------------- forward
    def _logits(self, inputs: torch.Tensor, with_aux: bool):
        taps = (self.aux_cell,) if with_aux else ()
        stages, tapped = self.backbone.forward_cells(inputs, taps)
        logits = self.head(F.adaptive_avg_pool2d(stages[-1], 1).flatten(1))
        aux = self.aux_head(tapped[self.aux_cell]) if with_aux else None
        return logits, aux

    def forward(self,
                inputs: torch.Tensor,
                data_samples: Optional[Sequence[BaseDataElement]] = None,
                mode: str = 'tensor') -> Union[dict, list, torch.Tensor]:
        if mode == 'loss':
            return self.loss(inputs, data_samples)
        if mode == 'predict':
            return self.predict(inputs, data_samples)
        if mode == 'tensor':
            return self._logits(inputs, with_aux=False)[0]
        raise ValueError(f"mode must be 'loss', 'predict' or 'tensor', got {mode!r}")

    def loss(self, inputs: torch.Tensor,
             data_samples: Optional[Sequence[BaseDataElement]]) -> dict[str, torch.Tensor]:
        labels = class_labels(data_samples, inputs.device, 'GenotypeClassifier')
        # As the reference: the auxiliary head only runs in training.
        with_aux = self.aux_head is not None and self.training
        logits, aux = self._logits(inputs, with_aux)
        losses = {'loss_cls': F.cross_entropy(logits, labels,
                                              label_smoothing=self.label_smoothing)}
        if with_aux:
            losses['loss_aux'] = self.aux_weight * F.cross_entropy(
                aux, labels, label_smoothing=self.label_smoothing)
        return losses

    def predict(self, inputs: torch.Tensor,
                data_samples: Optional[Sequence[BaseDataElement]] = None) -> list[BaseDataElement]:
        logits, _ = self._logits(inputs, with_aux=False)
        return attach_scores(logits, data_samples)
