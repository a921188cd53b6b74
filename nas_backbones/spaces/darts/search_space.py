"""The DARTS-family cell search space on a classification task (the papers' proxy task)."""
from __future__ import annotations

from typing import Any, ContextManager, Optional

import torch
import torch.nn.functional as F
from mmdet.registry import MODELS

from ...core.search_space import SearchSpace
from .arch_params import ArchParameters
from .cost import ResourceCost
from .genotype import Genotype
from .stabilizers import check_aux_skip, check_max_skips


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
    the reference search), passed to the architecture parameters
    (:class:`ArchParameters`), which the detection search's backbone builds too:

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
        stabilizers = dict(max_skips=max_skips, beta_decay=beta_decay, perturb=perturb,
                           aux_skip=aux_skip, fair_darts=fair_darts)
        check_max_skips(max_skips)  # before the supernet is built: a bad value costs nothing
        if check_aux_skip(aux_skip) is not None:
            supernet = dict(supernet, aux_skip=True)
        self.supernet = MODELS.build(dict(supernet, _scope_=supernet.get('_scope_', 'mmdet')))
        self.arch = ArchParameters(self.supernet.steps, self.supernet.primitives,
                                   self.supernet.multiplier, edge_norm=edge_norm, **stabilizers)
        self.resource_cost = ResourceCost(self.supernet, **cost) if cost else None

    # The stabilisers are the architecture parameters' (one place for every task space).
    max_skips = property(lambda self: self.arch.max_skips)
    beta_decay = property(lambda self: self.arch.beta_decay)
    perturb = property(lambda self: self.arch.perturb)
    aux_skip = property(lambda self: self.arch.aux_skip)
    fair_darts = property(lambda self: self.arch.fair_darts)
    _perturbing = property(lambda self: self.arch._perturbing)

    def arch_weights(self) -> dict:
        """What the supernet's forward takes; perturbed in a SDARTS-RS weight step."""
        return self.arch.search_weights()

    def weight_step(self) -> ContextManager:
        return self.arch.weight_step()

    def aux_weight(self) -> float:
        """DARTS-' auxiliary-skip weight now (0 without ``aux_skip``, and at the end of the search)."""
        return self.arch.aux_weight()

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
        return self.arch.derive()

    def snapshot(self) -> dict:
        return {'genotype': self.derive().to_dict(), **self.arch.snapshot()}

    def movement(self) -> dict:
        return self.arch.movement()

    def cost(self) -> Optional[torch.Tensor]:
        """The resource term, beta-DARTS' regulariser and Fair DARTS' zero-one loss, those that are configured."""
        terms = [self.resource_cost(self.arch)] if self.resource_cost is not None else []
        terms += self.arch.regularizers()
        return sum(terms[1:], terms[0]) if terms else None
