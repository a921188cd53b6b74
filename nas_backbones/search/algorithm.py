"""The bilevel DARTS / PC-DARTS search as an MMEngine model.

One iteration (``train_step``) takes an architecture step on a batch of the
architecture split, then a weight step on a batch of the weight split, with
two optimizer wrappers: ``weights`` (SGD over the supernet) and ``arch``
(Adam over alpha/beta). Every gradient is cleared before each phase, so
neither step sees the other's gradients (MMRazor's trap, pcdarts.md §10.1).
"""
from __future__ import annotations

from contextlib import contextmanager, nullcontext
from typing import Any, Optional, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmdet.registry import MODELS
from mmengine.logging import MessageHub
from mmengine.model import BaseModel
from mmengine.optim import OptimWrapper, OptimWrapperDict

from ..space.genotype import Genotype
from .arch_params import ArchParameters
from .cost import ResourceCost
from .second_order import unrolled_arch_grads


def labels_of(data_samples: Any) -> torch.Tensor:
    """Class labels from data samples (``gt_label``) or a plain tensor."""
    if isinstance(data_samples, torch.Tensor):
        return data_samples.long().flatten()
    return torch.cat([torch.as_tensor(ds.gt_label).long().flatten() for ds in data_samples])


@MODELS.register_module()
class DartsSearch(BaseModel):
    """Supernet + architecture parameters + the bilevel update rule.

    Args:
        supernet: config of the search network (e.g. ``PCDartsSupernet``).
        edge_norm: learn beta (PC-DARTS edge normalization); off for DARTS.
        unrolled: second-order architecture gradient (DARTS eq. 7-8) instead of first order.
        cost: optional :class:`ResourceCost` config; adds a differentiable
            FLOPs term to the architecture loss (hardware-aware search).
    """

    def __init__(self,
                 supernet: dict,
                 edge_norm: bool = True,
                 unrolled: bool = False,
                 cost: Optional[dict] = None,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.supernet = MODELS.build(dict(supernet, _scope_=supernet.get('_scope_', 'mmdet')))
        self.arch = ArchParameters(self.supernet.steps, self.supernet.primitives,
                                   self.supernet.multiplier, edge_norm=edge_norm)
        self.unrolled = unrolled
        self.cost = ResourceCost(self.supernet, **cost) if cost else None

    # ---------------------------------------------------------------- forward
    def forward(self, inputs: torch.Tensor, data_samples: Any = None,
                mode: str = 'tensor') -> Union[dict, list, torch.Tensor]:
        logits = self.supernet(inputs, self.arch())
        if mode == 'tensor':
            return logits
        if mode == 'loss':
            labels = labels_of(data_samples).to(logits.device)
            return {'loss': F.cross_entropy(logits, labels),
                    'acc': (logits.argmax(1) == labels).float().mean().detach()}
        if mode == 'predict':
            scores = logits.softmax(1)
            for ds, s in zip(data_samples, scores):
                ds.set_field(s, 'pred_score')
                ds.set_field(s.argmax().view(1), 'pred_label')
            return list(data_samples)
        raise ValueError(f'unknown mode {mode!r}; expected loss, predict or tensor')

    def genotype(self) -> Genotype:
        return self.arch.genotype()

    def arch_parameters(self) -> list[nn.Parameter]:
        return list(self.arch.parameters())

    def weight_parameters(self) -> list[nn.Parameter]:
        return [p for p in self.supernet.parameters() if p.requires_grad]

    # -------------------------------------------------------------- training
    @contextmanager
    def weights_frozen(self):
        """Autograd skips the weight gradients an architecture step would throw away."""
        params = [p for p in self.supernet.parameters() if p.requires_grad]
        for p in params:
            p.requires_grad_(False)
        try:
            yield
        finally:
            for p in params:
                p.requires_grad_(True)

    def zero_all_grads(self) -> None:
        for p in self.parameters():
            p.grad = None

    def _loss(self, model: nn.Module, batch: dict) -> tuple[torch.Tensor, dict]:
        losses = model(**batch, mode='loss')
        return self.parse_losses(losses)

    @staticmethod
    def check_finite(loss: torch.Tensor, phase: str) -> None:
        """Stop before a non-finite loss reaches the parameters; the last checkpoint stays good."""
        if torch.isfinite(loss).all():
            return
        hub = MessageHub.get_current_instance()
        epoch, it = hub.get_info('epoch'), hub.get_info('iter')
        where = f' at epoch {epoch + 1}, iteration {it + 1}' if epoch is not None else ''
        raise FloatingPointError(
            f'search stopped: the {phase} loss is {loss.item()}{where}. No parameter was updated '
            'with it; the last checkpoint and genotype.json in the work dir are from before. '
            'Lower the learning rate of that phase or check the data, then resume.')

    def train_step(self, data: dict, optim_wrapper: OptimWrapperDict,
                   model: Optional[nn.Module] = None) -> dict[str, torch.Tensor]:
        """``data = {'weights': batch, 'arch': batch or None}``; None skips the arch step (warm-up).

        ``model`` is what the forward passes go through: the DDP wrapper
        under distributed search (so gradients are averaged), else self.
        """
        model = self if model is None else model
        w_optim: OptimWrapper = optim_wrapper['weights']
        a_optim: OptimWrapper = optim_wrapper['arch']
        batch = self.data_preprocessor(data['weights'], True)
        log: dict[str, torch.Tensor] = {}

        if data.get('arch') is not None:
            arch_batch = self.data_preprocessor(data['arch'], True)
            self.zero_all_grads()
            if self.unrolled:
                loss_a = unrolled_arch_grads(self, batch, arch_batch, w_optim)
                self.check_finite(loss_a, 'architecture')
                if self.cost is not None:
                    cost = self.cost(self.arch)
                    cost.backward()
                    log['cost'] = cost.detach()
                a_optim.step()
            else:
                # Under DDP every parameter must take part in each backward.
                with self.weights_frozen() if model is self else nullcontext():
                    with a_optim.optim_context(self):
                        loss_a, _ = self._loss(model, arch_batch)
                    if self.cost is not None:
                        cost = self.cost(self.arch)
                        log['cost'] = cost.detach()
                        loss_a = loss_a + cost
                    self.check_finite(loss_a, 'architecture')
                    a_optim.update_params(loss_a)
            log['arch_loss'] = loss_a.detach()

        self.zero_all_grads()
        with w_optim.optim_context(self):
            loss, log_w = self._loss(model, batch)
        self.check_finite(loss, 'weight')
        w_optim.update_params(loss)
        self.zero_all_grads()
        log.update(log_w)
        return log

    def val_step(self, data: Union[dict, tuple, list]) -> list:
        data = self.data_preprocessor(data, False)
        return self(**data, mode='predict')

    def test_step(self, data: Union[dict, tuple, list]) -> list:
        return self.val_step(data)
