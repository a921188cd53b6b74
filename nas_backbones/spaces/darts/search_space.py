"""The DARTS cell search on a classification task (the papers' proxy task): a deprecated name.

A classification search is :class:`~nas_backbones.core.model_space.ModelSearchSpace`
around a :class:`~nas_backbones.models.search_classifier.SearchClassifier` whose
trunk is :class:`~.search_backbone.PCDartsSearchBackbone`, as a detection search
is around a detector. ``DartsClassifierSpace`` builds exactly that from the
arguments it always took, so configs written for it keep working (with a
deprecation warning) and search bit for bit as before.
"""
from __future__ import annotations

import warnings
from typing import Optional

from mmdet.registry import MODELS

from ...core.model_space import ModelSearchSpace
from .stabilizers import check_aux_skip, check_max_skips

DEPRECATION = ("model.space.type='DartsClassifierSpace' is deprecated and will be removed in "
               "the next release: write model.space=dict(type='ModelSearchSpace', "
               "model=dict(type='SearchClassifier', num_classes=..., backbone=dict("
               "type='PCDartsSearchBackbone', out_indices=(-1,), C=..., layers=..., ...)), "
               "arch=dict(edge_norm=..., <stabilisers>), cost=...) (docs/design.md)")


def remap_classifier_keys(module, state_dict: dict, prefix: str, *args) -> None:
    """Checkpoints from before keep the trunk under ``supernet.`` (``supernet.stem``, ``supernet.cells``;
    ``model.`` once ModelSearchSpace's hook renamed it): move those keys under ``model.backbone.``
    so such a search resumes."""
    head = prefix + 'model.'
    for key in [k for k in state_dict if k.startswith(head)]:
        rest = key[len(head):]
        if not rest.startswith(('backbone.', 'classifier.')):
            state_dict[head + 'backbone.' + rest] = state_dict.pop(key)


@MODELS.register_module()
class DartsClassifierSpace(ModelSearchSpace):
    """Deprecated: a PC-DARTS cell supernet + alpha/beta, searched on cross-entropy.

    Args:
        supernet: the ``PCDartsSupernet`` config (``num_classes`` and the trunk's
            arguments); its trunk becomes a ``PCDartsSearchBackbone``.
        edge_norm: learn beta (PC-DARTS edge normalization); off for DARTS.
        cost: the ``ResourceCost`` config, or None.
        max_skips, beta_decay, perturb, aux_skip, fair_darts: the stabilisers of the
            architecture parameters (:class:`~.arch.ArchParameters`).
    """

    def __init__(self, supernet: dict, edge_norm: bool = True, cost: Optional[dict] = None,
                 max_skips: Optional[int] = None, beta_decay: Optional[dict] = None,
                 perturb: Optional[dict] = None, aux_skip: Optional[dict] = None,
                 fair_darts: Optional[dict] = None, init_cfg: Optional[dict] = None) -> None:
        warnings.warn(DEPRECATION, FutureWarning, stacklevel=2)
        check_max_skips(max_skips)  # before anything is built: a bad value costs nothing
        trunk = {k: v for k, v in dict(supernet).items() if k not in ('type', '_scope_')}
        if supernet.get('type', 'PCDartsSupernet') != 'PCDartsSupernet':
            raise ValueError(f"DartsClassifierSpace: supernet.type must be 'PCDartsSupernet', "
                             f"got {supernet.get('type')!r}")
        num_classes = trunk.pop('num_classes', 1000)
        backbone = dict(type='PCDartsSearchBackbone', out_indices=(-1,),
                        aux_skip=check_aux_skip(aux_skip) is not None, **trunk)
        super().__init__(
            model=dict(type='SearchClassifier', backbone=backbone, num_classes=num_classes),
            arch=dict(edge_norm=edge_norm, max_skips=max_skips, beta_decay=beta_decay,
                      perturb=perturb, aux_skip=aux_skip, fair_darts=fair_darts),
            cost=cost, init_cfg=init_cfg)
        self.register_load_state_dict_pre_hook(remap_classifier_keys)

    # The stabilisers are the architecture parameters'.
    max_skips = property(lambda self: self.arch.max_skips)
    beta_decay = property(lambda self: self.arch.beta_decay)
    perturb = property(lambda self: self.arch.perturb)
    aux_skip = property(lambda self: self.arch.aux_skip)
    fair_darts = property(lambda self: self.arch.fair_darts)
    _perturbing = property(lambda self: self.arch._perturbing)

    def arch_weights(self) -> dict:
        """What the trunk's forward takes; perturbed in a SDARTS-RS weight step."""
        return self.arch.search_weights()

    def aux_weight(self) -> float:
        """DARTS-' auxiliary-skip weight now (0 without ``aux_skip``, and at the end of the search)."""
        return self.arch.aux_weight()
