"""Optimizer wrappers for a search: ``weights`` over the model, ``arch`` over the architecture parameters."""
from __future__ import annotations

from typing import Optional

import torch.nn as nn
from mmdet.registry import OPTIM_WRAPPER_CONSTRUCTORS
from mmengine.model import is_model_wrapper
from mmengine.optim import DefaultOptimWrapperConstructor, OptimWrapperDict


@OPTIM_WRAPPER_CONSTRUCTORS.register_module()
class SearchOptimWrapperConstructor:
    """Builds ``OptimWrapperDict(weights=..., arch=...)`` over disjoint parameter sets.

    Bilevel: the weight optimizer sees only ``space.model``'s parameters
    and the architecture optimizer only ``space.arch``'s, so SGD's momentum
    and weight decay never touch the architecture parameters. One-level
    (Single-Path NAS; no ``arch`` entry): one ``weights`` wrapper over the
    whole space, architecture parameters included.
    """

    def __init__(self, optim_wrapper_cfg: dict, paramwise_cfg: Optional[dict] = None) -> None:
        if 'weights' not in optim_wrapper_cfg:
            raise KeyError("optim_wrapper: a search needs a 'weights' entry (and 'arch' for a "
                           'bilevel search: one wrapper for the weights, one for the architecture)')
        extra = set(optim_wrapper_cfg) - {'weights', 'arch'}
        if extra:
            raise KeyError(f'optim_wrapper: unknown entries {sorted(extra)}; '
                           'expected only weights and arch')
        self.cfgs = optim_wrapper_cfg
        self.paramwise_cfg = paramwise_cfg

    def __call__(self, model: nn.Module) -> OptimWrapperDict:
        if is_model_wrapper(model):
            model = model.module
        space = model.space
        if 'arch' not in self.cfgs:
            return OptimWrapperDict(weights=DefaultOptimWrapperConstructor(
                dict(self.cfgs['weights']), self.paramwise_cfg)(space))
        weights = DefaultOptimWrapperConstructor(
            dict(self.cfgs['weights']), self.paramwise_cfg)(space.model)
        arch = DefaultOptimWrapperConstructor(dict(self.cfgs['arch']))(space.arch)
        return OptimWrapperDict(weights=weights, arch=arch)
