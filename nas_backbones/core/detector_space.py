"""A search space that is a whole MMDetection detector: the backbone is searched on the detector's own loss.

Any detector config works (SSD, SSDLite, RetinaNet, Faster R-CNN, ...) whose
``backbone`` is a :class:`SearchableBackbone` (``spaces/darts/search_backbone.py``
for PC-DARTS cells, ``spaces/singlepath/search_backbone.py`` for Single-Path
superkernels). It is :class:`~.model_space.ModelSearchSpace` with the model
given as ``detector``.
"""
from __future__ import annotations

from typing import Optional

from mmdet.registry import MODELS

from .model_space import ModelSearchSpace, SearchableBackbone

__all__ = ['DetectorSearchSpace', 'SearchableBackbone']


@MODELS.register_module()
class DetectorSearchSpace(ModelSearchSpace):
    """An MMDetection detector with a searchable backbone, searched on the detector's loss.

    Args:
        detector: an mmdet detector config (``SingleStageDetector``, ...)
            whose ``backbone`` is a :class:`SearchableBackbone`; its
            ``data_preprocessor`` belongs to the search (``model.data_preprocessor``,
            e.g. ``DetDataPreprocessor``).
        arch, cost: as :class:`ModelSearchSpace`'s.
    """

    key = 'detector'
    kind = 'a detector config'

    def __init__(self, detector: dict, arch: Optional[dict] = None, cost: Optional[dict] = None,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(detector, arch=arch, cost=cost, init_cfg=init_cfg)
