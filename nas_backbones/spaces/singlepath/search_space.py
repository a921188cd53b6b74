"""The Single-Path NAS search space: supernet, thresholds, the loss with its runtime term, derivation.

One-level search, as the reference: one optimiser over the weights and the
thresholds together (the optim_wrapper's ``weights`` entry over the whole
space, no architecture split). The loss is::

    CE(label smoothing) + weight_decay/2 * ||non-BN parameters and thresholds||^2
                        + lambda * scale * ln R

with ``R`` the runtime model's estimate (:mod:`.runtime`); the last term is
:meth:`SinglePathSpace.cost`, which the search algorithm adds. During the
warm-up (the reference: 5 epochs, 6,255 steps at batch 1024) lambda is 0
and the indicators are dropped with probability ``1 - keep_prob`` (0.4);
afterwards lambda is on and no indicator is dropped. The weight decay is in
the loss, as the reference's L2 term, so the optimiser's own weight decay
should be 0 (the gradient is the same).
"""
from __future__ import annotations

from typing import Any, Optional

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmdet.registry import MODELS

from ...core.search_space import SearchSpace
from ...models.classifier import attach_scores, class_labels
from .architecture import Architecture
from .runtime import RuntimeModel, layer_runtimes
from .superkernel import THRESHOLDS
from .supernet import SinglePathSupernet, SinglePathTrunk
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


@MODELS.register_module()
class SinglePathSpace(SearchSpace):
    """Single-Path NAS as a search space of the search core.

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
        super().__init__(init_cfg=init_cfg)
        cfg = dict(supernet or {})
        cfg.setdefault('type', 'SinglePathSupernet')
        cfg.setdefault('_scope_', 'mmdet')
        self.supernet: SinglePathSupernet = MODELS.build(cfg)
        if not isinstance(self.supernet, SinglePathSupernet):
            raise TypeError(f'SinglePathSpace: supernet {cfg["type"]!r} is not a SinglePathSupernet')
        self.arch = SinglePathThresholds(self.supernet.num_searchable)
        self.runtime = (RuntimeModel(self.supernet.layout, num_classes=self.supernet.num_classes,
                                     **runtime) if runtime is not None else None)
        for name, v in (('runtime_lambda', runtime_lambda), ('runtime_scale', runtime_scale),
                        ('weight_decay', weight_decay)):
            if v < 0:
                raise ValueError(f'SinglePathSpace: {name} must be >= 0, got {v}')
        if not 0. <= label_smoothing < 1.:
            raise ValueError(f'SinglePathSpace: label_smoothing must be in [0, 1), got {label_smoothing}')
        check_warmup('SinglePathSpace', warmup_epochs, warmup_iters, keep_prob)
        self.runtime_lambda, self.runtime_scale = runtime_lambda, runtime_scale
        self.label_smoothing, self.weight_decay = label_smoothing, weight_decay
        self.warmup_epochs, self.warmup_iters = warmup_epochs, warmup_iters
        self.keep_prob, self.dropout_rescale = keep_prob, dropout_rescale
        # Tests and benchmarks set this; a search follows the runner's progress.
        self.warmup_override: Optional[bool] = None

    # --------------------------------------------------------------- phases
    @property
    def in_warmup(self) -> bool:
        """Indicator dropout on and lambda off: before ``warmup_epochs`` / ``warmup_iters``
        (:func:`.warmup.runner_in_warmup`)."""
        if self.warmup_override is not None:
            return self.warmup_override
        return runner_in_warmup(self.warmup_epochs, self.warmup_iters)

    def decayed_parameters(self) -> list[nn.Parameter]:
        """What the L2 term covers: every parameter but BatchNorm's, thresholds included."""
        norm = {id(p) for m in self.supernet.modules()
                if isinstance(m, nn.modules.batchnorm._BatchNorm) for p in m.parameters()}
        return [p for p in self.supernet.parameters() if id(p) not in norm] + self.arch_parameters()

    # -------------------------------------------------------------- forward
    def tensor(self, inputs: torch.Tensor) -> torch.Tensor:
        """Logits; during the warm-up and in training, with the indicator dropout."""
        keep = self.keep_prob if self.training and self.in_warmup else None
        return self.supernet(inputs, self.arch(), keep, self.dropout_rescale)

    def predict(self, inputs: torch.Tensor, data_samples: Any = None) -> list:
        return attach_scores(self.tensor(inputs), data_samples)

    def loss(self, inputs: torch.Tensor, data_samples: Any) -> dict[str, torch.Tensor]:
        """CE with label smoothing and the L2 term; ``runtime`` (R, no gradient) is logged."""
        logits = self.tensor(inputs)
        labels = (data_samples.long().flatten().to(logits.device)
                  if isinstance(data_samples, torch.Tensor)
                  else class_labels(data_samples, logits.device, type(self).__name__))
        losses = {'loss_cls': F.cross_entropy(logits, labels, label_smoothing=self.label_smoothing),
                  'acc': (logits.argmax(1) == labels).float().mean().detach()}
        if self.weight_decay:
            losses['loss_wd'] = 0.5 * self.weight_decay * sum(
                p.pow(2).sum() for p in self.decayed_parameters())
        if self.runtime is not None:
            with torch.no_grad():
                losses['runtime'] = self.expected_runtime().detach().float()
        return losses

    # ----------------------------------------------------------------- cost
    def decision_tensor(self) -> torch.Tensor:
        """(searchable layers, 3) straight-through indicators (d5x5, d100c, d50c), undropped."""
        return self.supernet.decision_tensor(self.arch())

    def expected_runtime(self) -> torch.Tensor:
        if self.runtime is None:
            raise RuntimeError('SinglePathSpace: no runtime model configured (runtime=None)')
        return self.runtime(self.decision_tensor())

    def current_lambda(self) -> float:
        return 0. if self.in_warmup else self.runtime_lambda

    def cost(self) -> Optional[torch.Tensor]:
        """``lambda * scale * ln R`` (lambda 0 during the warm-up); None without a runtime model."""
        if self.runtime is None:
            return None
        return self.current_lambda() * self.runtime_scale * torch.log(self.expected_runtime())

    # ------------------------------------------------------------- results
    def derive(self) -> Architecture:
        """The architecture the current hard indicators select."""
        return self.supernet.derive_architecture(self.arch())

    UNMOVED = SinglePathTrunk.UNMOVED

    def movement(self) -> dict:
        """How far the thresholds went from their start (:meth:`SinglePathTrunk.threshold_movement`)."""
        return self.supernet.threshold_movement(self.arch())

    @torch.no_grad()
    def snapshot(self) -> dict:
        """Plain values for the per-epoch history: thresholds, norms, decisions, runtime, result."""
        entry = self.supernet.threshold_snapshot(self.arch())
        entry.update(in_warmup=self.in_warmup, architecture=self.derive().to_dict())
        if self.runtime is not None:
            entry.update(runtime_entry(self.runtime, torch.tensor(entry['decisions']).to(self.arch()),
                                       self.current_lambda()))
        return entry


def runtime_entry(runtime: RuntimeModel, decisions: torch.Tensor, runtime_lambda: float) -> dict:
    """The runtime fields of a snapshot: R of ``decisions``, its unit and metric, lambda now, and
    the per-layer runtimes where the model has a table."""
    entry = dict(runtime=float(runtime(decisions)), runtime_unit=runtime.unit,
                 runtime_metric=runtime.metric, runtime_lambda=runtime_lambda)
    if runtime.costs is not None:  # a predictor has no per-layer costs
        entry['layer_runtimes'] = layer_runtimes(decisions, runtime.costs.to(decisions)).cpu().tolist()
    return entry
