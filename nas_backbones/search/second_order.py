"""The second-order architecture gradient of DARTS (eq. 7-8), with its finite-difference Hessian-vector product.

    grad_alpha = dL_val(w', a)/da - eta * (dL_train(w+, a)/da - dL_train(w-, a)/da) / (2R)
    w' = w - eta * (mu * momentum_buffer + dL_train(w, a)/dw + wd * w)
    w+- = w +- R v,  v = dL_val(w', a)/dw',  R = r / ||v||

The virtual step uses the weight optimizer's own learning rate, momentum
buffer and weight decay; it is evaluated with ``torch.func.functional_call``
so the real weights are never rebound (MMRazor's second order silently did
first order that way, pcdarts.md §10.2), and the Hessian-vector product is
taken at the original w (the fix of DARTS a00cad0).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch.func import functional_call


def _group_of(optimizer: torch.optim.Optimizer) -> dict[int, dict]:
    return {id(p): g for g in optimizer.param_groups for p in g['params']}


def unrolled_arch_grads(algo, train_batch: dict, arch_batch: dict, w_optim,
                        r: float = 1e-2) -> torch.Tensor:
    """Write the second-order gradient into alpha/beta ``.grad``; return the validation loss."""
    net = algo.supernet
    optimizer = w_optim.optimizer
    groups = _group_of(optimizer)
    named = [(n, p) for n, p in net.named_parameters() if id(p) in groups]
    if not named:
        raise RuntimeError('second order: the weight optimizer holds none of the supernet parameters')
    names = [n for n, _ in named]
    params = [p for _, p in named]
    alphas = algo.arch_parameters()

    def train_loss() -> torch.Tensor:
        return algo._loss(algo, train_batch)[0]

    # 1. The virtual weight step, exactly as momentum SGD would take it.
    grads = torch.autograd.grad(train_loss(), params)
    w_prime = []
    with torch.no_grad():
        for p, g in zip(params, grads):
            group = groups[id(p)]
            step = g + group.get('weight_decay', 0.) * p
            buf = optimizer.state.get(p, {}).get('momentum_buffer')
            if buf is not None:
                step = step + group.get('momentum', 0.) * buf
            w_prime.append((p - group['lr'] * step).detach().requires_grad_(True))

    # 2. Validation loss at w' (buffers copied so BN statistics are not touched).
    state = {n: b.clone() for n, b in net.named_buffers()}
    state.update(zip(names, w_prime))
    logits = functional_call(net, state, (arch_batch['inputs'], algo.arch()))
    from .algorithm import labels_of
    loss_val = F.cross_entropy(logits, labels_of(arch_batch['data_samples']).to(logits.device))
    out = torch.autograd.grad(loss_val, alphas + w_prime)
    d_alpha, v = out[:len(alphas)], out[len(alphas):]

    # 3. Finite-difference Hessian-vector product at the original w.
    R = r / torch.cat([x.flatten() for x in v]).norm()
    etas = [groups[id(p)]['lr'] for p in params]

    def shift(scale: float) -> None:
        with torch.no_grad():
            for p, vi in zip(params, v):
                p.add_(vi, alpha=float(scale * R))

    shift(1.)
    g_plus = torch.autograd.grad(train_loss(), alphas)
    shift(-2.)
    g_minus = torch.autograd.grad(train_loss(), alphas)
    shift(1.)
    eta = etas[0]
    if any(e != eta for e in etas):
        raise RuntimeError('second order assumes one learning rate for all supernet weights')
    for a, da, gp, gm in zip(alphas, d_alpha, g_plus, g_minus):
        a.grad = da - eta * (gp - gm) / (2 * R)
    return loss_val.detach()
