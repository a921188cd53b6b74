"""The differentiable architecture search, for any search space, as an MMEngine model.

Bilevel (DARTS, PC-DARTS): one iteration (``train_step``) takes an
architecture step on a batch of the architecture split, then a weight step
on a batch of the weight split, with two optimizer wrappers: ``weights``
(over ``space.model``) and ``arch`` (over ``space.arch``). Every gradient
is cleared before each phase, so neither step sees the other's gradients
(MMRazor's leak: each wrapper clears only its own parameters).

One-level (Single-Path NAS): the optimizer wrapper is one ``weights``
wrapper over the whole space, there is no architecture split, and the one
loss is the task's plus the space's resource cost.

The space owns the loss and the derivation (:class:`SearchSpace`); this
class owns only the update rule. The names (``docs/design.md``, "Names"):
``model.space`` is the search space this class wraps (``self.space``),
``space.model`` the wrapped model (a search classifier, a detector),
``space.arch`` its architecture parameters, ``derive()`` the result.
``model.architecture`` / ``space.supernet``, the names of before, still load
(config key and checkpoints) with a ``FutureWarning``, for one release.

Mixed precision: with ``AmpOptimWrapper`` s (``--amp``), each phase runs its
forward under its own wrapper's autocast; the parameters, the architecture
parameters included, stay float32 and so do their gradients.
"""
from __future__ import annotations

import copy
import warnings
from contextlib import contextmanager, nullcontext
from typing import Any, Optional, Union

import torch
import torch.nn as nn
from mmdet.registry import MODELS
from mmengine.logging import MessageHub
from mmengine.model import BaseModel
from mmengine.optim import OptimWrapper, OptimWrapperDict
from torch.func import functional_call

from .search_space import SearchResult, SearchSpace
from .second_order import HVPS, unrolled_arch_grads

# Checkpoints written before the renames: (old, new) key prefixes of DifferentiableSearch's
# state dict, applied in this order (model_space.py renames 'supernet.' inside the space).
LEGACY_PREFIXES = (('architecture.', 'space.'), ('space.supernet.', 'space.model.'))
OLD_KEY_WARNING = ("model.architecture is deprecated and will be removed in the next release: "
                   "write model.space (the search space; its wrapped model is space.model, its "
                   "architecture parameters space.arch)")


def renamed_key(key: str) -> str:
    """A state-dict key of a search checkpoint under the current names (old keys mapped)."""
    for old, new in LEGACY_PREFIXES:
        if key.startswith(old):
            key = new + key[len(old):]
    return key


def _rename_legacy_keys(module: nn.Module, state_dict: dict, prefix: str, *args) -> None:
    """Load pre-hook: a checkpoint from before keeps the space under ``architecture.``."""
    head = prefix + 'architecture.'
    for key in [k for k in state_dict if k.startswith(head)]:
        state_dict[prefix + 'space.' + key[len(head):]] = state_dict.pop(key)


def space_config(model_cfg: Any, where: str = 'model') -> Any:
    """The search space's config of a search model's config (``model.space``), or None; the old key
    ``model.architecture`` is read with a FutureWarning."""
    if not hasattr(model_cfg, 'get'):
        return None
    if model_cfg.get('space') is not None:
        if model_cfg.get('architecture') is not None:
            raise ValueError(f'{where}: both space and architecture (its old name) are given; '
                             'keep model.space')
        return model_cfg['space']
    if model_cfg.get('architecture') is not None:
        warnings.warn(OLD_KEY_WARNING, FutureWarning, stacklevel=2)
        return model_cfg['architecture']
    return None


@MODELS.register_module()
class DifferentiableSearch(BaseModel):
    """A search space + the update rule.

    Args:
        space: config of the :class:`SearchSpace` (``ModelSearchSpace``, ``DetectorSearchSpace``).
        architecture: the old name of ``space`` (deprecated: a ``FutureWarning``).
        unrolled: second-order architecture gradient (DARTS eq. 7-8) instead of first order.
        hvp: second order only: ``'finite_difference'`` (DARTS, r=1e-2) or ``'exact'``
            (double backward).
        hvp_r: the finite difference's r (R = r / ||v||).
        compile: ``torch.compile`` the model's forward (and so, through
            AOTAutograd, its backward): True, or a dict of ``torch.compile``
            options (e.g. ``dict(mode='max-autotune')``). The update rule stays
            eager. If compiling fails, at construction or in the first step of
            each phase (weight step, architecture step), a warning says why and
            the search goes on eager from the state before that step. Off by
            default: compiling a supernet takes minutes
            (``benchmarks/README.md``).
    """

    def __init__(self,
                 space: Optional[dict] = None,
                 unrolled: bool = False,
                 hvp: str = 'finite_difference',
                 hvp_r: float = 1e-2,
                 compile: Union[bool, dict] = False,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None,
                 architecture: Optional[dict] = None) -> None:
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        if hvp not in HVPS:
            raise ValueError(f'hvp must be one of {HVPS}, got {hvp!r}')
        space = space_config(dict(space=space, architecture=architecture))
        if space is None:
            raise TypeError('DifferentiableSearch: model.space (the search space config) is missing')
        self.space: SearchSpace = MODELS.build(dict(space, _scope_=space.get('_scope_', 'mmdet')))
        if not isinstance(self.space, SearchSpace):
            raise TypeError(f'model.space: {type(self.space).__name__} is not a SearchSpace '
                            '(nas_backbones.core.search_space)')
        self.register_load_state_dict_pre_hook(_rename_legacy_keys)
        self.unrolled = unrolled
        self.hvp, self.hvp_r = hvp, hvp_r
        # phases whose first compiled step has not run yet (a failure there falls back to eager)
        self._compile_unverified: set[str] = set()
        self.compile_options: Optional[dict] = None
        if compile:
            self.compile_options = {} if compile is True else dict(compile)
            try:
                self.space.model.compile(**self.compile_options)
            except Exception as exc:  # noqa: BLE001  e.g. an unknown backend: reported, then eager
                self._fall_back_to_eager(exc, 'at construction')
            else:
                self._compile_unverified = {'weights', 'arch'}

    @property
    def architecture(self) -> SearchSpace:
        """The old name of :attr:`space` (deprecated)."""
        warnings.warn('DifferentiableSearch.architecture is deprecated: use .space',
                      FutureWarning, stacklevel=2)
        return self.space

    # ------------------------------------------------------------ compilation
    @property
    def compiled(self) -> bool:
        """Whether the model's forward runs compiled (False after a fallback)."""
        return getattr(self.space.model, '_compiled_call_impl', None) is not None

    def _fall_back_to_eager(self, exc: BaseException, where: str) -> None:
        self.space.model._compiled_call_impl = None  # nn.Module.compile's handle
        self._compile_unverified = set()
        why = ' '.join(line.strip() for line in str(exc).splitlines()[:3] if line.strip())[:300]
        warnings.warn(f'torch.compile of the search step failed {where} ({type(exc).__name__}: '
                      f'{why}); the search continues eager (model.compile=False skips compiling)',
                      RuntimeWarning, stacklevel=3)

    # ---------------------------------------------------------------- forward
    def forward(self, inputs: torch.Tensor, data_samples: Any = None,
                mode: str = 'tensor') -> Union[dict, list, torch.Tensor]:
        return self.space(inputs, data_samples, mode)

    def derive(self) -> SearchResult:
        return self.space.derive()

    def arch_parameters(self) -> list[nn.Parameter]:
        return self.space.arch_parameters()

    def weight_parameters(self) -> list[nn.Parameter]:
        return self.space.weight_parameters()

    # -------------------------------------------------------------- training
    @contextmanager
    def weights_frozen(self):
        """Autograd skips the weight gradients an architecture step would throw away."""
        params = self.weight_parameters()
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

    def loss_of(self, model: nn.Module, batch: dict) -> tuple[torch.Tensor, dict]:
        """The summed loss of ``batch`` through ``model`` (self, or its DDP wrapper) and its log."""
        return self.parse_losses(model(**batch, mode='loss'))

    def _functional_loss(self, batch: dict, overrides: Optional[dict]) -> torch.Tensor:
        """Second order's loss: the real parameters, or the space with ``overrides``
        (names under ``model.``) and copies of its buffers, which stay untouched."""
        if overrides is None:
            return self.loss_of(self, batch)[0]
        state = {n: b.clone() for n, b in self.space.named_buffers()}
        state.update(overrides)
        losses = functional_call(self.space, state, (batch['inputs'], batch['data_samples']),
                                 {'mode': 'loss'})
        return self.parse_losses(losses)[0]

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
            'with it; the last checkpoint and the derived architecture in the work dir are from '
            'before. Lower the learning rate of that phase or check the data, then resume.')

    def _with_cost(self, loss: torch.Tensor, log: dict) -> torch.Tensor:
        cost = self.space.cost()
        if cost is None:
            return loss
        log['cost'] = cost.detach()
        return loss + cost

    def _arch_step(self, model: nn.Module, batch: dict, arch_batch: Union[dict, list[dict]],
                   w_optim: OptimWrapper, a_optim: OptimWrapper, log: dict) -> None:
        """The architecture phase on one preprocessed batch, or on the mean gradient of a list."""
        arch_batches = arch_batch if isinstance(arch_batch, list) else [arch_batch]
        self.zero_all_grads()
        if self.unrolled:
            if len(arch_batches) > 1:
                raise ValueError(
                    f'train_cfg.arch_batches={len(arch_batches)}: averaging the architecture '
                    'gradient over several batches is first order only; second order '
                    '(model.unrolled=True) takes one architecture batch per step (arch_batches=1)')
            arch_batch = arch_batches[0]
            scaler = getattr(a_optim, 'loss_scaler', None)
            if scaler is not None and scaler.is_enabled():
                raise ValueError('second order (unrolled=True) takes its gradients directly, without '
                                 'loss scaling: use AMP in bfloat16, which needs none (--amp '
                                 '--amp-dtype bfloat16), or no AMP')
            named = [('model.' + n, p) for n, p in self.space.model.named_parameters()]
            with a_optim.optim_context(self):  # autocast under AMP
                loss_a = unrolled_arch_grads(self._functional_loss, named, self.arch_parameters(),
                                             batch, arch_batch, w_optim.optimizer, self.hvp,
                                             self.hvp_r)
            self.check_finite(loss_a, 'architecture')
            cost = self._with_cost(torch.zeros(()), log)
            if cost.requires_grad:
                cost.backward()
            a_optim.step()
        elif len(arch_batches) == 1:
            # Under DDP every parameter must take part in each backward.
            with self.weights_frozen() if model is self else nullcontext():
                with a_optim.optim_context(self):
                    loss_a, _ = self.loss_of(model, arch_batches[0])
                loss_a = self._with_cost(loss_a, log)
                self.check_finite(loss_a, 'architecture')
                a_optim.update_params(loss_a)
        else:
            loss_a = self._accumulated_arch_step(model, arch_batches, a_optim, log)
        log['arch_loss'] = loss_a.detach()

    def _accumulated_arch_step(self, model: nn.Module, arch_batches: list[dict],
                               a_optim: OptimWrapper, log: dict) -> torch.Tensor:
        """One step on the mean gradient of the task loss over ``arch_batches`` plus the cost term's
        (added once): the gradient of ``mean_i loss_i + cost``, one batch in memory at a time."""
        k = len(arch_batches)
        total = 0.
        with self.weights_frozen() if model is self else nullcontext():
            for arch_batch in arch_batches:
                with a_optim.optim_context(self):
                    loss_i, _ = self.loss_of(model, arch_batch)
                self.check_finite(loss_i, 'architecture')
                a_optim.backward(loss_i / k)
                total = total + loss_i.detach() / k
            loss_a = self._with_cost(total, log)
            self.check_finite(loss_a, 'architecture')
            if loss_a.requires_grad:  # the cost term's gradient, once
                a_optim.backward(loss_a - total)
            a_optim.step()
            a_optim.zero_grad()
        return loss_a

    def train_step(self, data: dict, optim_wrapper: Union[OptimWrapperDict, OptimWrapper],
                   model: Optional[nn.Module] = None) -> dict[str, torch.Tensor]:
        """``data = {'weights': batch, 'arch': batch or None}``; None skips the arch step (warm-up,
        or a one-level search). A list of batches as ``'arch'`` (``train_cfg.arch_batches=k``)
        averages the architecture gradient over them before its one step (first order only).

        ``model`` is what the forward passes go through: the DDP wrapper
        under distributed search (so gradients are averaged), else self.
        """
        phases = {'weights'} | ({'arch'} if data.get('arch') is not None else set())
        if not phases & self._compile_unverified:
            return self._train_step(data, optim_wrapper, model)
        # The first compiled step of a phase compiles it: keep the state to redo the step eager.
        state = {k: v.detach().clone() for k, v in self.state_dict().items()}
        optim_state = copy.deepcopy(optim_wrapper.state_dict())
        try:
            out = self._train_step(data, optim_wrapper, model)
        except FloatingPointError:  # a diverged loss, not a compilation failure
            raise
        except Exception as exc:  # noqa: BLE001  reported, then the same step eager
            self._fall_back_to_eager(exc, f'in the first {"/".join(sorted(phases))} step')
            self.zero_all_grads()
            self.load_state_dict(state)
            optim_wrapper.load_state_dict(optim_state)
            return self._train_step(data, optim_wrapper, model)
        self._compile_unverified -= phases
        return out

    def _train_step(self, data: dict, optim_wrapper: Union[OptimWrapperDict, OptimWrapper],
                    model: Optional[nn.Module]) -> dict[str, torch.Tensor]:
        model = self if model is None else model
        one_level = not isinstance(optim_wrapper, OptimWrapperDict) or 'arch' not in optim_wrapper
        w_optim: OptimWrapper = (optim_wrapper['weights'] if isinstance(optim_wrapper, OptimWrapperDict)
                                 else optim_wrapper)
        batch = self.data_preprocessor(data['weights'], True)
        log: dict[str, torch.Tensor] = {}
        if data.get('arch') is not None:
            if one_level:
                raise ValueError('an architecture batch was given, but the optimizer wrapper has no '
                                 "'arch' entry (one-level search): set train_cfg.arch_dataloader=None "
                                 'or add optim_wrapper.arch')
            arch = data['arch'] if isinstance(data['arch'], list) else [data['arch']]
            self._arch_step(model, batch, [self.data_preprocessor(b, True) for b in arch],
                            w_optim, optim_wrapper['arch'], log)

        self.zero_all_grads()
        with w_optim.optim_context(self), \
                (nullcontext() if one_level else self.space.weight_step()):
            loss, log_w = self.loss_of(model, batch)
        if one_level:
            loss = self._with_cost(loss, log)
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
