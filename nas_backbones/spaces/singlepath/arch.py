"""The architecture parameters of Single-Path NAS: the thresholds, and the warm-up they are searched under.

One row ``(t5x5, t100c, t50c)`` per searchable layer, the input of the
supernet's forward as alpha/beta are the DARTS supernet's. Every task builds
them through :meth:`~.search_backbone.SinglePathSearchBackbone.build_arch`
(the classification search, deprecated :class:`~.search_space.SinglePathSpace`
included, and a detection search), so the warm-up (:mod:`.warmup`) is read the
same way everywhere.
"""
from __future__ import annotations

from typing import Optional

import torch
import torch.nn as nn

from .search_op import THRESHOLDS
from .warmup import check_warmup, runner_in_warmup


class SinglePathThresholds(nn.Module):
    """The architecture parameters: one row ``(t5x5, t100c, t50c)`` per searchable layer.

    All start at 0, so the search starts from the full k5/e6 supernet (every
    norm is >= 0). On a layer without a shortcut ``t50c`` has no effect.
    """

    def __init__(self, num_layers: int) -> None:
        super().__init__()
        self.thresholds = nn.Parameter(torch.zeros(num_layers, len(THRESHOLDS)))

    def forward(self) -> torch.Tensor:
        return self.thresholds


class SinglePathArch(SinglePathThresholds):
    """The thresholds of a search, with the warm-up they are searched under.

    Args:
        num_layers: searchable layers.
        warmup_epochs / warmup_iters: length of the warm-up (one of them; neither: none).
        keep_prob: indicator keep probability during the warm-up (0.6, the reference's).
        dropout_rescale: scale kept indicators by 1/keep_prob (TF dropout, as the reference).
        weight_decay: the reference's L2 term in the loss, ``weight_decay / 2`` times the squared
            norm of every parameter of the model but BatchNorm's and of the thresholds (1e-5 in
            the reference's classification search, whose optimizer then has none); 0: no term.
    """

    def __init__(self, num_layers: int, warmup_epochs: Optional[int] = None,
                 warmup_iters: Optional[int] = None, keep_prob: float = 0.6,
                 dropout_rescale: bool = True, weight_decay: float = 0.) -> None:
        check_warmup('model.space.arch', warmup_epochs, warmup_iters, keep_prob)
        if weight_decay < 0:
            raise ValueError(f'model.space.arch.weight_decay must be >= 0, got {weight_decay}')
        super().__init__(num_layers)
        self.weight_decay = weight_decay
        self.warmup_epochs, self.warmup_iters = warmup_epochs, warmup_iters
        self.keep_prob, self.dropout_rescale = keep_prob, dropout_rescale
        # Tests set this; a search follows the runner's progress.
        self.warmup_override: Optional[bool] = None

    @property
    def in_warmup(self) -> bool:
        if self.warmup_override is not None:
            return self.warmup_override
        return runner_in_warmup(self.warmup_epochs, self.warmup_iters)
