"""Two optimizer wrappers for the bilevel search: ``weights`` for the supernet, ``arch`` for alpha/beta."""
from __future__ import annotations

from typing import Optional

import torch.nn as nn
from mmdet.registry import OPTIM_WRAPPER_CONSTRUCTORS
from mmengine.model import is_model_wrapper
from mmengine.optim import DefaultOptimWrapperConstructor, OptimWrapperDict


@OPTIM_WRAPPER_CONSTRUCTORS.register_module()
class SearchOptimWrapperConstructor:
    """Builds ``OptimWrapperDict(weights=..., arch=...)`` over disjoint parameter sets.

    The weight optimizer sees only ``model.supernet``'s parameters and the
    architecture optimizer only ``model.arch``'s, so SGD's momentum and weight
    decay never touch alpha/beta (pcdarts.md §8).
    """

    def __init__(self, optim_wrapper_cfg: dict, paramwise_cfg: Optional[dict] = None) -> None:
        missing = {'weights', 'arch'} - set(optim_wrapper_cfg)
        if missing:
            raise KeyError(f'optim_wrapper: the search needs entries {sorted(missing)} '
                           '(one wrapper for the weights, one for alpha/beta)')
        extra = set(optim_wrapper_cfg) - {'weights', 'arch'}
        if extra:
            raise KeyError(f'optim_wrapper: unknown entries {sorted(extra)}; '
                           'expected only weights and arch')
        self.cfgs = optim_wrapper_cfg
        self.paramwise_cfg = paramwise_cfg

    def __call__(self, model: nn.Module) -> OptimWrapperDict:
        if is_model_wrapper(model):
            model = model.module
        weights = DefaultOptimWrapperConstructor(
            dict(self.cfgs['weights']), self.paramwise_cfg)(model.supernet)
        arch = DefaultOptimWrapperConstructor(dict(self.cfgs['arch']))(model.arch)
        return OptimWrapperDict(weights=weights, arch=arch)
