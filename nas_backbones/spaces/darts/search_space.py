"""The DARTS-family cell search space on a classification task (the papers' proxy task)."""
from __future__ import annotations

from typing import Any, Optional

import torch
import torch.nn.functional as F
from mmdet.registry import MODELS

from ...core.search_space import SearchSpace
from .arch_params import ArchParameters
from .cost import ResourceCost
from .genotype import Genotype


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
    """

    def __init__(self, supernet: dict, edge_norm: bool = True, cost: Optional[dict] = None,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.supernet = MODELS.build(dict(supernet, _scope_=supernet.get('_scope_', 'mmdet')))
        self.arch = ArchParameters(self.supernet.steps, self.supernet.primitives,
                                   self.supernet.multiplier, edge_norm=edge_norm)
        self.resource_cost = ResourceCost(self.supernet, **cost) if cost else None

    def tensor(self, inputs: torch.Tensor) -> torch.Tensor:
        return self.supernet(inputs, self.arch())

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
        return self.arch.genotype()

    def snapshot(self) -> dict:
        return {'genotype': self.derive().to_dict(), **self.arch.snapshot()}

    def cost(self) -> Optional[torch.Tensor]:
        return None if self.resource_cost is None else self.resource_cost(self.arch)
