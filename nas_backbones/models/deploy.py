"""What is exported for deployment: a config's detector as its raw head outputs, or its backbone.

As MMDetection's own export (MMDeploy), the detector's graph ends at the
head: per feature level the class scores and the box deltas
(``model._forward``, tensor mode), without anchor decoding and NMS, which
the deployment runtime does (or a later step adds). The input is the
batch the data preprocessor makes: resized, normalised with the config's
mean/std, in the channel order it sets (:func:`preprocess_settings`).
"""
from __future__ import annotations

from typing import Optional

import torch
import torch.nn as nn
from mmengine.config import Config

PARTS = ('detector', 'backbone')


class HeadOutputs(nn.Module):
    """A detector called in tensor mode, its nested head outputs flattened into one tuple:
    ``cls_score_0 .. cls_score_{L-1}, bbox_pred_0 .. bbox_pred_{L-1}`` for SSD and SSDLite."""

    def __init__(self, detector: nn.Module) -> None:
        super().__init__()
        self.detector = detector

    def forward(self, inputs: torch.Tensor) -> tuple[torch.Tensor, ...]:
        out = self.detector._forward(inputs)
        return tuple(t for group in out for t in (group if isinstance(group, (list, tuple)) else [group]))

    def output_names(self, inputs: torch.Tensor) -> list[str]:
        out = self.detector._forward(inputs)
        if isinstance(out, (list, tuple)) and len(out) == 2 and all(isinstance(g, (list, tuple)) for g in out):
            return ([f'cls_score_{i}' for i in range(len(out[0]))] +
                    [f'bbox_pred_{i}' for i in range(len(out[1]))])
        return [f'output_{i}' for i in range(len(self(inputs)))]


class BackboneOutputs(nn.Module):
    """A backbone's feature maps as a tuple (``stage_<i>`` for each of its ``out_indices``)."""

    def __init__(self, backbone: nn.Module) -> None:
        super().__init__()
        self.backbone = backbone

    def forward(self, inputs: torch.Tensor) -> tuple[torch.Tensor, ...]:
        out = self.backbone(inputs)
        return (out,) if torch.is_tensor(out) else tuple(out)

    def output_names(self, inputs: torch.Tensor) -> list[str]:
        indices = getattr(self.backbone, 'out_indices', None)
        n = len(self(inputs))
        if indices is not None and len(tuple(indices)) == n:
            return [f'stage_{i}' for i in indices]
        return [f'feature_{i}' for i in range(n)]


def build_for_export(cfg: Config, part: str = 'detector', checkpoint: Optional[str] = None) -> nn.Module:
    """The config's model (``part='detector'``) or its backbone, in eval mode with the checkpoint's
    weights (a detector checkpoint, ``state_dict`` keys ``backbone.*`` for a backbone), wrapped so
    that it returns a tuple of tensors."""
    from mmdet.registry import MODELS
    from mmengine.registry import init_default_scope
    from mmengine.runner import load_checkpoint

    from ..compat import checkpoint_loading
    if part not in PARTS:
        raise ValueError(f'part must be one of {PARTS}, got {part!r}')
    if 'model' not in cfg:
        raise KeyError(f'{cfg.filename}: the config has no model')
    init_default_scope(cfg.get('default_scope', 'mmdet'))
    model = MODELS.build(cfg.model)
    if not hasattr(model, '_forward') or not hasattr(model, 'backbone'):
        raise TypeError(f'{cfg.filename}: model {type(model).__name__} is not an MMDetection detector '
                        '(no backbone / tensor-mode _forward); export a detector config')
    if checkpoint is not None:
        with checkpoint_loading():
            load_checkpoint(model, checkpoint, map_location='cpu', strict=True)
    model.eval()
    return HeadOutputs(model) if part == 'detector' else BackboneOutputs(model.backbone)


def preprocess_settings(cfg: Config) -> dict:
    """What the exported graph expects of its input: the data preprocessor's mean, std and
    channel order, and the test pipeline's resize (as the config states them)."""
    pre = cfg.model.get('data_preprocessor', {}) or {}
    resize = next((t for t in cfg.get('test_pipeline', []) if 'Resize' in str(t.get('type', ''))), None)
    return dict(mean=pre.get('mean'), std=pre.get('std'), bgr_to_rgb=pre.get('bgr_to_rgb', False),
                resize=None if resize is None else dict(resize))
