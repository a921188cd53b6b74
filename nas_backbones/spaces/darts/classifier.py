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

from .aux_head import AuxiliaryHeadCIFAR, AuxiliaryHeadImageNet

IMAGENET_MEAN = (123.675, 116.28, 103.53)
IMAGENET_STD = (58.395, 57.12, 57.375)

# Inputs are BGR uint8 (LoadImageFromFile); the reference normalises RGB in [0, 1].
DEFAULT_PREPROCESSOR = dict(
    type='ImgDataPreprocessor', mean=IMAGENET_MEAN, std=IMAGENET_STD, bgr_to_rgb=True)


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
        cfg = dict(backbone or {})
        overlap = set(cfg) & set(backbone_kwargs)
        if overlap:
            raise ValueError(f'GenotypeClassifier: backbone option(s) {sorted(overlap)} given '
                             'both in `backbone` and as keyword arguments')
        cfg.update(backbone_kwargs)
        cfg.setdefault('type', 'DartsBackbone')
        cfg.setdefault('_scope_', 'mmdet')  # whatever default scope the caller left set
        self.backbone = MODELS.build(cfg)
        for attr in ('forward_cells', 'cells', 'cell_out_channels', 'out_channels', 'drop_path_prob'):
            if not hasattr(self.backbone, attr):
                raise TypeError(f'GenotypeClassifier: backbone {cfg["type"]!r} has no {attr!r}; '
                                'it must be a DartsBackbone (or behave like one)')
        if num_classes < 1:
            raise ValueError(f'num_classes must be >= 1, got {num_classes}')
        if not 0. <= label_smoothing < 1.:
            raise ValueError(f'label_smoothing must be in [0, 1), got {label_smoothing}')
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
        labels = self._labels(data_samples, inputs.device)
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
        scores = logits.softmax(dim=1)
        if data_samples is None:
            data_samples = [BaseDataElement() for _ in range(len(scores))]
        for sample, score in zip(data_samples, scores):
            sample.set_field(score, 'pred_score')
            sample.set_field(score.argmax(dim=0, keepdim=True), 'pred_label')
        return list(data_samples)

    def _labels(self, data_samples, device) -> torch.Tensor:
        if not data_samples:
            raise ValueError("GenotypeClassifier: mode 'loss' needs data_samples with gt_label")
        labels = []
        for i, sample in enumerate(data_samples):
            if 'gt_label' not in sample:
                raise ValueError(f'GenotypeClassifier: data_samples[{i}] has no gt_label')
            labels.append(torch.as_tensor(sample.gt_label).reshape(-1)[:1])
        return torch.cat(labels).long().to(device)
