"""Single-Path NAS: a superkernel MBConv space searched with a differentiable runtime loss.

Importing this package registers its models (``SinglePathSupernet``,
``SinglePathSpace``, ``SinglePathBackbone``, ``SinglePathClassifier``,
``SinglePathSearchBackbone``) in
MMDetection's registry.
"""
from . import (  # noqa: F401  imported for what they register
    chance,  # tools/against_chance.py's candidates
    report,  # the search report's Single-Path sections (plotting is imported when one is written)
)
from .arch import SinglePathArch, SinglePathThresholds
from .backbone import SinglePathBackbone
from .classifier import SinglePathClassifier
from .cost import RuntimeCost, RuntimeModel, expected_runtime, layer_runtimes
from .encoding import SinglePathEncoding
from .layout import DEFAULT_BLOCKS, VARIANTS, BlockSpec, Layout, LayoutError, make_layout
from .ops import MBConv
from .published import PUBLISHED, load_architecture
from .relaxation import indicator, indicator_dropout
from .result import Architecture, ArchitectureError, LayerChoice
from .sample import random_architecture, random_architectures
from .search_backbone import SinglePathSearchBackbone
from .search_op import SuperKernelMBConv
from .search_space import SinglePathSpace
from .supernet import SinglePathSupernet, SinglePathTrunk
from .tf_optim import RMSpropTF, StaircaseExponentialLR

__all__ = [
    'Architecture', 'ArchitectureError', 'LayerChoice', 'SinglePathBackbone', 'DEFAULT_BLOCKS',
    'VARIANTS', 'BlockSpec', 'Layout', 'LayoutError', 'make_layout', 'SinglePathClassifier',
    'indicator', 'indicator_dropout', 'SinglePathEncoding', 'MBConv', 'PUBLISHED',
    'load_architecture', 'random_architecture', 'random_architectures', 'RuntimeModel', 'expected_runtime',
    'layer_runtimes', 'SinglePathSpace', 'SinglePathThresholds',
    'SuperKernelMBConv', 'SinglePathSupernet', 'RMSpropTF', 'StaircaseExponentialLR',
    'RuntimeCost', 'SinglePathArch', 'SinglePathSearchBackbone', 'SinglePathTrunk',
]
