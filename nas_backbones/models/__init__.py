"""The models around a family's networks, and what those networks share (no family is imported here).

``SearchClassifier``: the classification search's model (trunk -> pool -> linear), the
classification counterpart of a detector. ``FrozenStagesMixin``: ``frozen_stages`` /
``norm_eval`` as in MMDetection's backbones. ``classifier``: building a classifier's trunk,
its argument checks, labels and scores. ``warm_start``: a searchable trunk's weights from
another search. ``deploy``: a detector or backbone as exported.

The folder keeps MMDetection's name for it (``mmdet.models``: models and what they share):
every module here is a model, wraps one, or is shared by the families' models.
"""
from .backbone import FrozenStagesMixin
from .classifier import (
                         DEFAULT_PREPROCESSOR,
                         IMAGENET_MEAN,
                         IMAGENET_STD,
                         attach_scores,
                         build_trunk,
                         check_head_args,
                         class_labels,
)
from .search_classifier import SearchClassifier

__all__ = ['DEFAULT_PREPROCESSOR', 'FrozenStagesMixin', 'IMAGENET_MEAN', 'IMAGENET_STD',
           'SearchClassifier', 'attach_scores', 'build_trunk', 'check_head_args', 'class_labels']
