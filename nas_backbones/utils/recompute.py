"""Recompute a layer's activations in backward instead of keeping them: less memory, the same maths.

``torch.utils.checkpoint`` alone is not enough for the search networks:

- its recomputation runs BatchNorm in training mode a second time, which
  would update the running statistics twice per step;
- it re-reads the module's parameters at backward time, after an enclosing
  ``torch.func.functional_call`` (the second-order virtual step) has put the
  real ones back.

:func:`recomputed` passes the parameters used in forward to the
recomputation and restores the running statistics after it.
"""
from __future__ import annotations

from contextlib import contextmanager, nullcontext
from typing import Callable, Iterator, Sequence

import torch
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm
from torch.utils.checkpoint import checkpoint


@contextmanager
def _running_stats_kept(module: nn.Module) -> Iterator[None]:
    bns = [m for m in module.modules() if isinstance(m, _BatchNorm) and m.track_running_stats]
    kept = [[t.clone() for t in (m.running_mean, m.running_var, m.num_batches_tracked)] for m in bns]
    try:
        yield
    finally:
        with torch.no_grad():
            for m, (mean, var, n) in zip(bns, kept):
                m.running_mean.copy_(mean)
                m.running_var.copy_(var)
                m.num_batches_tracked.copy_(n)


@contextmanager
def _parameters_as(module: nn.Module, names: Sequence[str], tensors: Sequence[torch.Tensor]) -> Iterator[None]:
    """The named parameters of ``module`` temporarily replaced by ``tensors``."""
    slots = []
    for name, t in zip(names, tensors):
        owner_name, _, attr = name.rpartition('.')
        owner = module.get_submodule(owner_name)
        slots.append((owner, attr, owner._parameters[attr]))
        owner._parameters[attr] = t
    try:
        yield
    finally:
        for owner, attr, old in slots:
            owner._parameters[attr] = old


def recomputed(module: nn.Module, fn: Callable[..., torch.Tensor], *inputs: torch.Tensor,
               preserve_rng_state: bool = False) -> torch.Tensor:
    """``fn(*inputs)``, a computation with ``module``'s layers, keeping only the inputs for backward.

    Outside training or without autograd it is just ``fn(*inputs)``. The
    gradients and the running statistics equal those of ``fn(*inputs)``; the
    cost is one more forward of ``fn`` during backward. ``preserve_rng_state``:
    replay the random draws of the forward (drop path) in the recomputation.
    """
    if not (module.training and torch.is_grad_enabled()):
        return fn(*inputs)
    named = list(module.named_parameters())
    names, tensors = [n for n, _ in named], [t for _, t in named]
    n = len(inputs)

    def run(*args: torch.Tensor) -> torch.Tensor:
        with _parameters_as(module, names, args[n:]):
            return fn(*args[:n])

    return checkpoint(run, *inputs, *tensors, use_reentrant=False, preserve_rng_state=preserve_rng_state,
                      context_fn=lambda: (nullcontext(), _running_stats_kept(module)))
