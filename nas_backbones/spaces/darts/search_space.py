"""The DARTS-family cell search space on a classification task (the papers' proxy task)."""
from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Iterator, Optional

import torch
import torch.nn.functional as F
from mmdet.registry import MODELS

from ...core.search_space import SearchSpace, Tracking
from .arch_params import ArchParameters
from .cost import ResourceCost
from .genotype import Genotype
from .tracking import darts_tracking
from .stabilizers import (POSITIVE, aux_skip_weight, beta_decay_loss, check_aux_skip, check_option,
                          perturb_op_weights, search_progress, zero_one_loss)


def labels_of(data_samples: Any) -> torch.Tensor:
    """Class labels from data samples (``gt_label``) or a plain tensor."""
    if isinstance(data_samples, torch.Tensor):
        return data_samples.long().flatten()
    return torch.cat([torch.as_tensor(ds.gt_label).long().flatten() for ds in data_samples])


@MODELS.register_module()
class DartsClassifierSpace(SearchSpace):
    """A cell supernet (``PCDartsSupernet``) + alpha/beta, searched on cross-entropy.

    Args:
        supernet: config of the search network.
        edge_norm: learn beta (PC-DARTS edge normalization); off for DARTS.
        cost: optional :class:`ResourceCost` config: a differentiable FLOPs or
            latency term in the architecture loss (hardware-aware search).

    Stabilisers (``stabilizers.py`` has the papers; all off by default, which is
    the reference search):

    - ``max_skips``: derive the normal cell with at most this many skip_connect (P-DARTS);
    - ``beta_decay=dict(weight=...)``: beta-DARTS' regulariser, ramped with the search's progress;
    - ``perturb=dict(epsilon=...)``: SDARTS-RS, uniform noise on softmax(alpha) in the weight step;
    - ``aux_skip=dict(start=1.0, schedule='linear')``: DARTS-' auxiliary skip on every edge,
      its weight decayed from ``start`` to 0 with the search's progress (the supernet is built
      with ``aux_skip=True``; the derivation never sees it);
    - ``fair_darts=dict(zero_one=10.0)``: Fair DARTS, op weights sigmoid(alpha) (in the search
      and the derivation) and its zero-one loss with that weight in the architecture loss.
    """

    def __init__(self, supernet: dict, edge_norm: bool = True, cost: Optional[dict] = None,
                 max_skips: Optional[int] = None, beta_decay: Optional[dict] = None,
                 perturb: Optional[dict] = None, aux_skip: Optional[dict] = None,
                 fair_darts: Optional[dict] = None, init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if max_skips is not None and (isinstance(max_skips, bool) or not isinstance(max_skips, int)
                                      or max_skips < 0):
            raise ValueError(f'max_skips must be None or an integer >= 0, got {max_skips!r}')
        self.max_skips = max_skips
        self.beta_decay = check_option('beta_decay', beta_decay, {'weight': POSITIVE})
        self.perturb = check_option('perturb', perturb, {'epsilon': POSITIVE})
        self.aux_skip = check_aux_skip(aux_skip)
        self.fair_darts = check_option('fair_darts', fair_darts,
                                       {'zero_one': (10., lambda v: v >= 0, 'a number >= 0')})
        self._perturbing = False
        if self.aux_skip is not None:
            supernet = dict(supernet, aux_skip=True)
        self.supernet = MODELS.build(dict(supernet, _scope_=supernet.get('_scope_', 'mmdet')))
        relaxation = {} if self.fair_darts is None else {'relaxation': 'sigmoid'}
        self.arch = ArchParameters(self.supernet.steps, self.supernet.primitives,
                                   self.supernet.multiplier, edge_norm=edge_norm, **relaxation)
        self.resource_cost = ResourceCost(self.supernet, **cost) if cost else None

    def arch_weights(self) -> dict:
        """What the supernet's forward takes; perturbed in a SDARTS-RS weight step."""
        weights = self.arch()
        if self._perturbing:
            eps = self.perturb['epsilon']
            weights = {r: (perturb_op_weights(w.detach(), eps), None if ew is None else ew.detach())
                       for r, (w, ew) in weights.items()}
        return weights

    @contextmanager
    def weight_step(self) -> Iterator[None]:
        self._perturbing = self.perturb is not None
        try:
            yield
        finally:
            self._perturbing = False

    def aux_weight(self) -> float:
        """DARTS-' auxiliary-skip weight now (0 without ``aux_skip``, and at the end of the search)."""
        return 0. if self.aux_skip is None else aux_skip_weight(self.aux_skip, search_progress())

    def tensor(self, inputs: torch.Tensor) -> torch.Tensor:
        if self.aux_skip is None:
            return self.supernet(inputs, self.arch_weights())
        return self.supernet(inputs, self.arch_weights(), aux_weight=self.aux_weight())

    def loss(self, inputs: torch.Tensor, data_samples: Any) -> dict[str, torch.Tensor]:
        logits = self.tensor(inputs)
        labels = labels_of(data_samples).to(logits.device)
        return {'loss': F.cross_entropy(logits, labels),
                'acc': (logits.argmax(1) == labels).float().mean().detach()}

    def predict(self, inputs: torch.Tensor, data_samples: Any) -> list:
        scores = self.tensor(inputs).softmax(1)
        for ds, s in zip(data_samples, scores):
            ds.set_field(s, 'pred_score')
            ds.set_field(s.argmax().view(1), 'pred_label')
        return list(data_samples)

    def derive(self) -> Genotype:
        return self.arch.genotype(max_skips=self.max_skips)

    def snapshot(self) -> dict:
        return {'genotype': self.derive().to_dict(), **self.arch.snapshot()}

    def movement(self) -> dict:
        return self.arch.movement()

    def tracking(self, images: bool = True) -> Tracking:
        return darts_tracking(self.arch, self.derive(), images)

    def cost(self) -> Optional[torch.Tensor]:
        """The resource term, beta-DARTS' regulariser and Fair DARTS' zero-one loss, those that are configured."""
        terms = []
        if self.resource_cost is not None:
            terms.append(self.resource_cost(self.arch))
        if self.beta_decay is not None:
            terms.append(beta_decay_loss([self.arch.alphas_normal, self.arch.alphas_reduce],
                                         self.beta_decay['weight'] * search_progress()))
        if self.fair_darts is not None and self.fair_darts['zero_one'] > 0:
            keep = [k for k, p in enumerate(self.arch.primitives) if p != 'none']
            terms.append(zero_one_loss([self.arch.alphas_normal, self.arch.alphas_reduce],
                                       self.fair_darts['zero_one'], keep))
        return sum(terms[1:], terms[0]) if terms else None
