"""The space-agnostic search core: the update rule, second order, cost terms, optimizers, DDP.

Nothing here imports a space family (``nas_backbones/spaces/*``); a space
implements :class:`SearchSpace` and the core runs it.
"""
from . import ddp, optim  # noqa: F401  register SearchDDP, SearchOptimWrapperConstructor
from .algorithm import DifferentiableSearch
from .cost import ExpectedCost
from .detector_space import DetectorSearchSpace, SearchableBackbone
from .latency import LatencyTable, time_module
from .model_space import ModelSearchSpace
from .search_space import SearchResult, SearchSpace, Tracking
from .second_order import unrolled_arch_grads

__all__ = ['DifferentiableSearch', 'DetectorSearchSpace', 'ExpectedCost', 'LatencyTable', 'ModelSearchSpace',
           'time_module', 'SearchableBackbone', 'SearchResult', 'SearchSpace', 'Tracking', 'unrolled_arch_grads']
