"""What the space families' derived networks share (no family is imported here).

``FrozenStagesMixin``: ``frozen_stages`` / ``norm_eval`` as in MMDetection's backbones.
``classifier``: building a classifier's trunk, its argument checks, labels and scores.
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
