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
from .architecture import Architecture, ArchitectureError, LayerChoice
from .backbone import SinglePathBackbone
from .blocks import DEFAULT_BLOCKS, VARIANTS, BlockSpec, Layout, LayoutError, make_layout
from .classifier import SinglePathClassifier
from .encoding import SinglePathEncoding
from .indicator import indicator, indicator_dropout
from .mbconv import MBConv
from .published import PUBLISHED, load_architecture
from .random_architecture import random_architecture, random_architectures
from .runtime import RuntimeModel, expected_runtime, layer_runtimes
from .search_backbone import RuntimeCost, SinglePathArch, SinglePathSearchBackbone
from .search_space import SinglePathSpace, SinglePathThresholds
from .superkernel import SuperKernelMBConv
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
