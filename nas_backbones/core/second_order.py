"""The second-order architecture gradient of DARTS (eq. 7-8), for any loss.

    grad_alpha = dL_val(w', a)/da - eta * H v
    w' = w - eta * (mu * momentum_buffer + dL_train(w, a)/dw + wd * w)
    v = dL_val(w', a)/dw'
    H v = d^2 L_train(w, a) / (da dw) . v

``hvp='finite_difference'`` (the default, as DARTS and PC-DARTS compute it):
``H v ~ (dL_train(w + R v)/da - dL_train(w - R v)/da) / (2R)`` with
``R = r / ||v||`` and r = 1e-2, the reference's setting; the approximation
error is O(R^2). ``hvp='exact'``: the product by double backward, one more
backward through the weight gradient instead of two gradient evaluations.

The virtual step uses the weight optimizer's own learning rate, momentum
buffer and weight decay; the validation loss at w' is evaluated through
``loss_fn`` with the weights overridden (``torch.func.functional_call``), so
the real weights are never rebound (MMRazor's second order silently did
first order that way), and the Hessian-vector product is taken at the
original w (the fix of DARTS a00cad0). See ``docs/faithfulness.md``.
"""
from __future__ import annotations

from typing import Callable, Optional, Sequence

import torch
import torch.nn as nn

HVPS = ('finite_difference', 'exact')

# loss_fn(batch, overrides): the scalar loss of ``batch``; ``overrides`` maps
# parameter names to tensors that replace them for this evaluation (None: the real ones).
LossFn = Callable[[dict, Optional[dict]], torch.Tensor]


def _group_of(optimizer: torch.optim.Optimizer) -> dict[int, dict]:
    return {id(p): g for g in optimizer.param_groups for p in g['params']}


def unrolled_arch_grads(loss_fn: LossFn, named_weights: Sequence[tuple[str, nn.Parameter]],
                        arch_params: Sequence[nn.Parameter], train_batch: dict, arch_batch: dict,
                        optimizer: torch.optim.Optimizer, hvp: str = 'finite_difference',
                        r: float = 1e-2) -> torch.Tensor:
    """Write the second-order gradient into the architecture parameters' ``.grad``; return L_val(w')."""
    if hvp not in HVPS:
        raise ValueError(f'hvp must be one of {HVPS}, got {hvp!r}')
    groups = _group_of(optimizer)
    named = [(n, p) for n, p in named_weights if id(p) in groups]
    if not named:
        raise RuntimeError('second order: the weight optimizer holds none of the weights')
    names = [n for n, _ in named]
    params = [p for _, p in named]
    alphas = list(arch_params)
    etas = {groups[id(p)]['lr'] for p in params}
    if len(etas) != 1:
        raise RuntimeError('second order assumes one learning rate for all weights, '
                           f'the weight optimizer has {sorted(etas)}')
    eta = etas.pop()

    # 1. The virtual weight step, exactly as momentum SGD would take it.
    grads = torch.autograd.grad(loss_fn(train_batch, None), params)
    w_prime = []
    with torch.no_grad():
        for p, g in zip(params, grads):
            group = groups[id(p)]
            step = g + group.get('weight_decay', 0.) * p
            buf = optimizer.state.get(p, {}).get('momentum_buffer')
            if buf is not None:
                step = step + group.get('momentum', 0.) * buf
            w_prime.append((p - group['lr'] * step).detach().requires_grad_(True))

    # 2. Validation loss at w'.
    loss_val = loss_fn(arch_batch, dict(zip(names, w_prime)))
    out = torch.autograd.grad(loss_val, alphas + w_prime)
    d_alpha, v = out[:len(alphas)], out[len(alphas):]

    # 3. The Hessian-vector product at the original w.
    if hvp == 'exact':
        g_w = torch.autograd.grad(loss_fn(train_batch, None), params, create_graph=True)
        dot = sum((g * vi).sum() for g, vi in zip(g_w, v))
        implicit = torch.autograd.grad(dot, alphas, allow_unused=True)
        implicit = [torch.zeros_like(a) if h is None else h for a, h in zip(alphas, implicit)]
    else:
        R = r / torch.cat([x.flatten() for x in v]).norm()

        def shift(scale: float) -> None:
            with torch.no_grad():
                for p, vi in zip(params, v):
                    p.add_(vi, alpha=float(scale * R))

        shift(1.)
        g_plus = torch.autograd.grad(loss_fn(train_batch, None), alphas)
        shift(-2.)
        g_minus = torch.autograd.grad(loss_fn(train_batch, None), alphas)
        shift(1.)
        implicit = [(gp - gm) / (2 * R) for gp, gm in zip(g_plus, g_minus)]
    for a, da, h in zip(alphas, d_alpha, implicit):
        a.grad = da - eta * h
    return loss_val.detach()
