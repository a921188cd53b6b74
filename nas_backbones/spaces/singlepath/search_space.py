"""The Single-Path NAS search space: supernet, thresholds, the loss with its runtime term, derivation.

One-level search, as the reference: one optimiser over the weights and the
thresholds together (the optim_wrapper's ``weights`` entry over the whole
space, no architecture split). The loss is::

    CE(label smoothing) + weight_decay/2 * ||non-BN parameters and thresholds||^2
                        + lambda * scale * ln R

with ``R`` the runtime model's estimate (:mod:`.cost`); the last term is
:meth:`SinglePathSpace.cost`, which the search algorithm adds. During the
warm-up (the reference: 5 epochs, 6,255 steps at batch 1024) lambda is 0
and the indicators are dropped with probability ``1 - keep_prob`` (0.4);
afterwards lambda is on and no indicator is dropped. The weight decay is in
the loss, as the reference's L2 term, so the optimiser's own weight decay
should be 0 (the gradient is the same).
"""
from __future__ import annotations

import warnings
from typing import Optional

import torch
import torch.nn as nn
from mmdet.registry import MODELS

from ...core.model_space import ModelSearchSpace
from .cost import RuntimeModel
from .supernet import SinglePathTrunk
from .warmup import check_warmup

DEPRECATION = ("model.space.type='SinglePathSpace' is deprecated and will be removed in the "
               "next release: write model.space=dict(type='ModelSearchSpace', model=dict("
               "type='SearchClassifier', num_classes=..., label_smoothing=0.1, dropout=0.2, "
               "loss_name='loss_cls', backbone=dict(type='SinglePathSearchBackbone', out_indices=(-1,), "
               "initialise=False, width_mult=...)), arch=dict(warmup_epochs=..., weight_decay=1e-5), "
               "cost=dict(runtime_lambda=..., metric=..., num_classes=...)) (docs/design.md)")


def remap_classifier_keys(module, state_dict: dict, prefix: str, *args) -> None:
    """Checkpoints from before keep the trunk under ``supernet.`` (``supernet.stem``, ``supernet.layers``,
    ``supernet.head``; ``model.`` once ModelSearchSpace's hook renamed it): move those keys under
    ``model.backbone.`` so such a search resumes."""
    head = prefix + 'model.'
    for key in [k for k in state_dict if k.startswith(head)]:
        rest = key[len(head):]
        if not rest.startswith(('backbone.', 'classifier.')):
            state_dict[head + 'backbone.' + rest] = state_dict.pop(key)


@MODELS.register_module()
class SinglePathSpace(ModelSearchSpace):
    """Single-Path NAS on a classification task, as a search space of the search core (deprecated name).

    It is :class:`~nas_backbones.core.model_space.ModelSearchSpace` around a
    ``SearchClassifier`` whose trunk is :class:`~.search_backbone.SinglePathSearchBackbone`,
    with the reference's L2 term in the loss. Configs written for it keep working (with a
    deprecation warning) and search bit for bit as before.

    Args:
        supernet: :class:`SinglePathSupernet` keyword arguments (num_classes, blocks,
            width_mult, ...).
        runtime: :class:`RuntimeModel` keyword arguments (metric, input_size,
            latency_table, device, batch), or None for no runtime term.
        runtime_lambda: lambda after the warm-up (the reference's README run: 0.020).
        runtime_scale: the reference multiplies lambda * ln(R) by 1e3.
        label_smoothing: of the cross-entropy (0.1).
        weight_decay: of the L2 term in the loss (1e-5), on every parameter
            but BatchNorm's, thresholds included.
        warmup_epochs / warmup_iters: length of the warm-up (one of them; 0: none).
        keep_prob: indicator keep probability during the warm-up (0.6).
        dropout_rescale: scale kept indicators by 1/keep_prob (TF dropout, as the reference).
    """

    def __init__(self,
                 supernet: Optional[dict] = None,
                 runtime: Optional[dict] = None,
                 runtime_lambda: float = 0.02,
                 runtime_scale: float = 1e3,
                 label_smoothing: float = 0.1,
                 weight_decay: float = 1e-5,
                 warmup_epochs: Optional[int] = None,
                 warmup_iters: Optional[int] = None,
                 keep_prob: float = 0.6,
                 dropout_rescale: bool = True,
                 init_cfg: Optional[dict] = None) -> None:
        warnings.warn(DEPRECATION, FutureWarning, stacklevel=2)
        cfg = dict(supernet or {})
        if cfg.pop('type', 'SinglePathSupernet') != 'SinglePathSupernet':
            raise TypeError(f'SinglePathSpace: supernet {supernet["type"]!r} is not a SinglePathSupernet')
        cfg.pop('_scope_', None)
        for name, v in (('runtime_lambda', runtime_lambda), ('runtime_scale', runtime_scale),
                        ('weight_decay', weight_decay)):
            if v < 0:
                raise ValueError(f'SinglePathSpace: {name} must be >= 0, got {v}')
        if not 0. <= label_smoothing < 1.:
            raise ValueError(f'SinglePathSpace: label_smoothing must be in [0, 1), got {label_smoothing}')
        check_warmup('SinglePathSpace', warmup_epochs, warmup_iters, keep_prob)
        num_classes, dropout = cfg.pop('num_classes', 1000), cfg.pop('dropout', 0.2)
        if num_classes < 1:
            raise ValueError(f'num_classes must be >= 1, got {num_classes}')
        if not 0 <= dropout < 1:
            raise ValueError(f'dropout must be in [0, 1), got {dropout}')
        backbone = dict(type='SinglePathSearchBackbone', out_indices=(-1,), initialise=False, **cfg)
        super().__init__(
            model=dict(type='SearchClassifier', backbone=backbone, num_classes=num_classes,
                       label_smoothing=label_smoothing, dropout=dropout, loss_name='loss_cls'),
            arch=dict(warmup_epochs=warmup_epochs, warmup_iters=warmup_iters, keep_prob=keep_prob,
                      dropout_rescale=dropout_rescale, weight_decay=weight_decay),
            cost=(None if runtime is None else
                  dict(runtime, runtime_lambda=runtime_lambda, runtime_scale=runtime_scale,
                       num_classes=num_classes)))
        self.register_load_state_dict_pre_hook(remap_classifier_keys)
        self.runtime_lambda, self.runtime_scale = runtime_lambda, runtime_scale
        self.label_smoothing, self.weight_decay = label_smoothing, weight_decay
        self.warmup_epochs, self.warmup_iters = warmup_epochs, warmup_iters
        self.keep_prob, self.dropout_rescale = keep_prob, dropout_rescale

    UNMOVED = SinglePathTrunk.UNMOVED

    # --------------------------------------------------------------- phases
    @property
    def warmup_override(self) -> Optional[bool]:
        """Tests and benchmarks set this; a search follows the runner's progress."""
        return self.arch.warmup_override

    @warmup_override.setter
    def warmup_override(self, value: Optional[bool]) -> None:
        self.arch.warmup_override = value

    @property
    def in_warmup(self) -> bool:
        """Indicator dropout on and lambda off: before ``warmup_epochs`` / ``warmup_iters``
        (:func:`.warmup.runner_in_warmup`)."""
        return self.arch.in_warmup

    @property
    def runtime(self) -> Optional[RuntimeModel]:
        return None if self.resource_cost is None else self.resource_cost.runtime

    def decayed_parameters(self) -> list[nn.Parameter]:
        """What the L2 term covers: every parameter but BatchNorm's, thresholds included (the loss,
        CE with label smoothing plus this term and the logged runtime R, is the backbone's
        ``loss_terms``, as in the new form)."""
        return self.backbone.decayed_parameters(self.arch, self.model)

    # ----------------------------------------------------------------- cost
    def decision_tensor(self) -> torch.Tensor:
        """(searchable layers, 3) straight-through indicators (d5x5, d100c, d50c), undropped."""
        return self.backbone.decision_tensor(self.arch())

    def expected_runtime(self) -> torch.Tensor:
        if self.runtime is None:
            raise RuntimeError('SinglePathSpace: no runtime model configured (runtime=None)')
        return self.resource_cost.expected_runtime(self.arch)

    def current_lambda(self) -> float:
        return 0. if self.in_warmup else self.runtime_lambda
