"""One search space for any task: a model whose backbone is a family's searchable trunk, plus the
family's architecture module.

The model is any mmengine-style model with ``forward(inputs, data_samples, mode)``
and a ``backbone`` that is a :class:`SearchableBackbone`: a small search
classifier (``models.search_classifier.SearchClassifier``: trunk -> pool ->
linear -> cross-entropy), or any MMDetection detector
(:class:`~.detector_space.DetectorSearchSpace`). The space owns the task's
loss by delegating to the model; the family owns its architecture parameters,
derivation, snapshot, regularisers and weight-step context through the
backbone. The space keeps the architecture parameters in ``self.arch``, beside
the model (``self.model``), not inside it, so the weight optimizer, built
over the model, never sees them, and second order overrides ``model.*``
(every weight) through ``torch.func.functional_call`` as for any space.
Checkpoints from before the rename keep the model under ``supernet.``; a
load pre-hook maps them.
"""
from __future__ import annotations

import copy
from contextlib import contextmanager, nullcontext
from typing import Any, ContextManager, Iterator, Optional

import torch
import torch.nn as nn
from mmdet.registry import MODELS
from mmengine.config import ConfigDict

from .algorithm import space_config
from .search_space import SearchResult, SearchSpace, Tracking

# The deprecated classification spaces: their ``supernet`` holds the trunk's arguments and num_classes.
LEGACY_CLASSIFIER_SPACES = ('DartsClassifierSpace', 'SinglePathSpace')


def searched_trunk(cfg: Any) -> Optional[tuple[str, dict, dict, str]]:
    """What a search config searches, in either layout, for tools that read it without building it:
    ``(trunk type, trunk arguments with num_classes where the model has one, cost arguments, where
    the trunk is in the config)``, or None where the config declares no model search space.

    The trunk type is the backbone's (``PCDartsSearchBackbone``, ``SinglePathSearchBackbone``) or,
    for the deprecated classification spaces, the space's own type."""
    space = space_config(cfg.get('model') or {}) or {}
    kind = space.get('type')
    if kind in LEGACY_CLASSIFIER_SPACES:
        cost = space.get('cost') if kind == 'DartsClassifierSpace' else space.get('runtime')
        return kind, dict(space.get('supernet') or {}), dict(cost or {}), 'model.space.supernet'
    inner = 'detector' if 'detector' in space else 'model'
    model = space.get(inner)
    if not hasattr(model, 'get') or not hasattr(model.get('backbone'), 'get'):
        return None
    trunk = dict(model['backbone'])
    if model.get('num_classes') is not None:
        trunk['num_classes'] = model['num_classes']
    return trunk.get('type'), trunk, dict(space.get('cost') or {}), f'model.space.{inner}.backbone'


class SearchableBackbone:
    """What :class:`DetectorSearchSpace` needs of a backbone (a mixin for ``nn.Module`` backbones).

    A space family implements the four methods (and ``movement``, ``regularizers``,
    ``weight_step`` where it has them); the weights are fed by the
    space through :meth:`arch_weights_as` around each detector forward, and
    the backbone's ``forward(x)`` (the one argument a detector passes) reads
    them with :meth:`current_arch_weights`. What is fed is
    :meth:`arch_weights`, by default what the family's architecture module
    returns when called (``arch()``): for DARTS cells the softmaxed
    alpha/beta per cell kind. Anything kept for backward (recomputation)
    must take them as an explicit input: the context is closed when
    backward runs.
    """

    def build_arch(self, **cfg) -> nn.Module:
        """The architecture parameters of this backbone (``nn.Parameter``s only); ``cfg`` from
        the search config's ``model.space.arch``."""
        raise NotImplementedError

    def derive(self, arch: nn.Module) -> SearchResult:
        """The discrete architecture ``arch`` selects (saved as ``result.filename``)."""
        raise NotImplementedError

    def snapshot(self, arch: nn.Module) -> dict:
        """Plain values for ``search_history.json``: the derived result and the parameters' state."""
        raise NotImplementedError

    def movement(self, arch: nn.Module) -> Optional[dict]:
        """The space's ``movement()`` (how far ``arch`` is from its start); None: not measured."""
        return None

    def tracking(self, arch: nn.Module, images: bool = True) -> Tracking:
        """What an experiment tracker shows of ``arch`` (:meth:`SearchSpace.tracking`); default nothing."""
        return Tracking()

    def build_cost(self, **cfg) -> Optional[nn.Module]:
        """A module ``cost(arch) -> Tensor`` (the differentiable resource term), from
        ``model.space.cost``."""
        raise NotImplementedError(f'{type(self).__name__} states no resource cost')

    def regularizers(self, arch: nn.Module) -> list[torch.Tensor]:
        """Terms the family adds to the architecture loss besides the resource cost (e.g. DARTS'
        beta-decay); none by default."""
        return []

    def weight_step(self, arch: nn.Module) -> ContextManager:
        """The family's context around the weight step of a bilevel search (e.g. SDARTS' noise)."""
        return nullcontext()

    def loss_terms(self, arch: nn.Module, model: nn.Module) -> dict[str, torch.Tensor]:
        """Entries the family adds to the model's loss dict (keys with ``loss`` are summed into the
        loss, others only logged; e.g. Single-Path's L2 term ``loss_wd`` over ``model`` and
        ``arch``, and its runtime estimate); none by default."""
        return {}

    # ------------------------------------------------- the weights of a forward
    def arch_weights(self, arch: nn.Module) -> Any:
        """What one forward takes from ``arch`` (override to add, e.g., a phase-dependent setting)."""
        return arch()

    @contextmanager
    def arch_weights_as(self, weights: Any) -> Iterator[None]:
        """``forward`` uses ``weights`` inside the block (and only there)."""
        previous = getattr(self, '_arch_weights', None)
        self._arch_weights = weights
        try:
            yield
        finally:
            self._arch_weights = previous

    def current_arch_weights(self) -> Any:
        weights = getattr(self, '_arch_weights', None)
        if weights is None:
            raise RuntimeError(
                f'{type(self).__name__} is a searchable backbone: it runs inside a '
                'search space (ModelSearchSpace: model.space.model.backbone; '
                'DetectorSearchSpace: model.space.detector.backbone of a search config), '
                'which feeds it the architecture weights. To train a found architecture, build '
                'its derived backbone instead (e.g. DartsBackbone with genotype=<genotype.json>).')
        return weights


def _rename_supernet_keys(module: nn.Module, state_dict: dict, prefix: str, *args) -> None:
    """Load pre-hook: a checkpoint from before keeps the model under ``supernet.``."""
    head = prefix + 'supernet.'
    for key in [k for k in state_dict if k.startswith(head)]:
        state_dict[prefix + 'model.' + key[len(head):]] = state_dict.pop(key)


@MODELS.register_module()
class ModelSearchSpace(SearchSpace):
    """A model with a searchable backbone, searched on the model's own loss.

    Args:
        model: the model's config (``SearchClassifier``, an mmdet detector, ...) whose
            ``backbone`` is a :class:`SearchableBackbone`. Its ``data_preprocessor``
            belongs to the search (``model.data_preprocessor``), which preprocesses each
            batch once before either step.
        arch: keyword arguments of the backbone's ``build_arch``: the family's
            architecture module (DARTS: ``edge_norm`` and the stabilisers ``beta_decay``,
            ``perturb``, ``aux_skip``, ``fair_darts``, ``max_skips``; Single-Path: the warm-up).
        cost: keyword arguments of the backbone's ``build_cost`` (DARTS: a
            ``ResourceCost``; Single-Path: ``RuntimeCost``), or None: no resource term.
    """

    key = 'model'  # the config key the model is given under, for error messages
    kind = 'a model config'

    def __init__(self, model: dict, arch: Optional[dict] = None, cost: Optional[dict] = None,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        where = f'model.space.{self.key}'
        # attribute access, as mmdet's heads read their train_cfg / test_cfg
        model = ConfigDict(copy.deepcopy(dict(model)))
        if model.get('data_preprocessor') is not None:
            raise ValueError(
                f'{where}.data_preprocessor: the search preprocesses each batch '
                'once for both steps; move this preprocessor to model.data_preprocessor '
                f"(got type={model['data_preprocessor'].get('type')!r})")
        if 'backbone' not in model:
            raise KeyError(f'{where}: {self.kind} with a backbone (got keys {sorted(model)})')
        model.setdefault('_scope_', 'mmdet')
        self.model = MODELS.build(model)
        backbone = getattr(self.model, 'backbone', None)
        if not isinstance(backbone, SearchableBackbone):
            raise TypeError(
                f'{where}.backbone: {type(backbone).__name__} is not a '
                'searchable backbone (nas_backbones.core.model_space.SearchableBackbone), '
                'e.g. PCDartsSearchBackbone or SinglePathSearchBackbone')
        self.arch = backbone.build_arch(**(arch or {}))
        # A child of the space, outside model and arch: no parameters, only cost tables.
        self.resource_cost = backbone.build_cost(**cost) if cost else None
        self.register_load_state_dict_pre_hook(_rename_supernet_keys)

    @property
    def backbone(self) -> SearchableBackbone:
        return self.model.backbone

    def _run(self, inputs: torch.Tensor, data_samples: Any, mode: str):
        with self.backbone.arch_weights_as(self.backbone.arch_weights(self.arch)):
            return self.model(inputs, data_samples, mode=mode)

    def loss(self, inputs: torch.Tensor, data_samples: Any) -> dict[str, torch.Tensor]:
        """The model's loss dict (a detector's ``loss_cls``, ``loss_bbox``, ...: lists are summed by
        parse_losses) and the family's :meth:`SearchableBackbone.loss_terms`."""
        losses = self._run(inputs, data_samples, 'loss')
        losses.update(self.backbone.loss_terms(self.arch, self.model))
        return losses

    def predict(self, inputs: torch.Tensor, data_samples: Any) -> list:
        return self._run(inputs, data_samples, 'predict')

    def tensor(self, inputs: torch.Tensor) -> Any:
        return self._run(inputs, None, 'tensor')

    def derive(self) -> SearchResult:
        return self.backbone.derive(self.arch)

    def snapshot(self) -> dict:
        return self.backbone.snapshot(self.arch)

    def movement(self) -> Optional[dict]:
        return self.backbone.movement(self.arch)

    def tracking(self, images: bool = True) -> Tracking:
        return self.backbone.tracking(self.arch, images)

    def cost(self) -> Optional[torch.Tensor]:
        """The resource term and the family's regularisers, those that are configured."""
        terms = [self.resource_cost(self.arch)] if self.resource_cost is not None else []
        terms += self.backbone.regularizers(self.arch)
        return sum(terms[1:], terms[0]) if terms else None

    def weight_step(self) -> ContextManager:
        return self.backbone.weight_step(self.arch)
