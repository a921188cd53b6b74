"""The second-order architecture gradient: DARTS' finite difference as the reference computes it,
and against an exact autograd computation through the virtual step."""
import torch
import torch.nn.functional as F
from mmengine.optim import OptimWrapper
from torch.func import functional_call

from nas_backbones.core.second_order import unrolled_arch_grads
from tests.conftest import darts_search


def tiny_search(edge_norm=True, k=1):
    torch.manual_seed(0)
    algo = darts_search(supernet=dict(type='PCDartsSupernet', num_classes=3, C=4, layers=3, steps=2,
                                     multiplier=2, stem='cifar', stem_multiplier=1, partial_k=k),
                       edge_norm=edge_norm, unrolled=True).double()
    with torch.no_grad():
        for p in algo.space.arch.parameters():
            p.normal_(0, 0.5)  # away from uniform so the gradient is not trivially small
    return algo


def batch(seed):
    g = torch.Generator().manual_seed(seed)
    return {'inputs': torch.randn(4, 3, 8, 8, generator=g, dtype=torch.float64),
            'data_samples': torch.randint(0, 3, (4,), generator=g)}


def second_order(algo, train, val, opt, **kw):
    """What ``DifferentiableSearch`` calls in an unrolled architecture step."""
    named = [('model.' + n, p) for n, p in algo.space.model.named_parameters()]
    return unrolled_arch_grads(algo._functional_loss, named, algo.arch_parameters(), train, val,
                               opt.optimizer, **kw)


def exact_grad(algo, train, val, lr, mu, wd, bufs):
    """d/dalpha L_val(w - lr*(mu*buf + dL_train/dw + wd*w), alpha), by autograd through the step."""
    space = algo.space
    net, bb = space.model, space.backbone
    names = [n for n, _ in net.named_parameters()]
    params = [p for _, p in net.named_parameters()]
    alphas = algo.arch_parameters()
    buffers = {n: b.clone() for n, b in net.named_buffers()}

    def logits(weights, x):  # the search classifier with these weights, fed alpha/beta by the space
        with bb.arch_weights_as(bb.arch_weights(space.arch)):
            return functional_call(net, {**buffers, **dict(zip(names, weights))}, (x,))

    loss_t = F.cross_entropy(logits(params, train['inputs']), train['data_samples'])
    g = torch.autograd.grad(loss_t, params, create_graph=True)
    w_prime = [p - lr * (mu * b + gi + wd * p) for p, gi, b in zip(params, g, bufs)]
    loss_v = F.cross_entropy(logits(w_prime, val['inputs']), val['data_samples'])
    return torch.autograd.grad(loss_v, alphas)


def test_second_order_matches_autograd_with_momentum_and_weight_decay():
    algo = tiny_search()
    lr, mu, wd = 0.1, 0.9, 3e-2
    opt = OptimWrapper(torch.optim.SGD(algo.space.model.parameters(), lr=lr, momentum=mu, weight_decay=wd))
    bufs = []
    for p in algo.space.model.parameters():  # a non-zero momentum buffer, as after some steps
        b = torch.randn_like(p) * 0.1
        opt.optimizer.state[p]['momentum_buffer'] = b
        bufs.append(b)
    train, val = batch(1), batch(2)
    algo.space.model.train()
    expected = exact_grad(algo, train, val, lr, mu, wd, bufs)
    w_before = [p.detach().clone() for p in algo.space.model.parameters()]
    algo.zero_all_grads()
    # In float64 a small r keeps the finite difference on the linear side of
    # ReLU/max-pool kinks, so the comparison tests the maths, not the step size.
    second_order(algo, train, val, opt, r=1e-7)
    for a, e in zip(algo.arch_parameters(), expected):
        torch.testing.assert_close(a.grad, e, rtol=1e-4, atol=1e-7)
    # The weights are back where they were (the HVP shifts them and restores them).
    for p, w in zip(algo.space.model.parameters(), w_before):
        torch.testing.assert_close(p.detach(), w, rtol=0, atol=1e-12)


def test_second_order_differs_from_first_order():
    """Guards against a 'second order' that silently computes the first-order gradient."""
    algo = tiny_search()
    opt = OptimWrapper(torch.optim.SGD(algo.space.model.parameters(), lr=0.5, momentum=0.9))
    train, val = batch(3), batch(4)
    algo.zero_all_grads()
    second_order(algo, train, val, opt)
    second = [a.grad.clone() for a in algo.arch_parameters()]
    algo.zero_all_grads()
    F.cross_entropy(algo(val['inputs']), val['data_samples']).backward()
    first = [a.grad.clone() for a in algo.arch_parameters()]
    assert max(float((s - f).abs().max()) for s, f in zip(second, first)) > 1e-6


def momentum_optimizer(algo, lr=0.1, mu=0.9, wd=3e-2):
    opt = OptimWrapper(torch.optim.SGD(algo.space.model.parameters(), lr=lr, momentum=mu,
                                       weight_decay=wd))
    bufs = []
    g = torch.Generator().manual_seed(5)
    for p in algo.space.model.parameters():
        b = 0.1 * torch.randn(p.shape, generator=g, dtype=p.dtype)
        opt.optimizer.state[p]['momentum_buffer'] = b
        bufs.append(b)
    return opt, bufs


def reference_formula(algo, train, val, lr, mu, wd, bufs, r=1e-2):
    """DARTS' architect.py, written out: dalpha - lr * (g+ - g-) / (2R), R = r / ||v||, at w +- R v."""
    space = algo.space
    net, bb = space.model, space.backbone
    names = [n for n, _ in net.named_parameters()]
    w = [p.detach() for _, p in net.named_parameters()]
    alphas = algo.arch_parameters()

    def loss(batch, weights):
        buffers = {n: b.clone() for n, b in net.named_buffers()}
        with bb.arch_weights_as(bb.arch_weights(space.arch)):  # alpha/beta as the space feeds them
            logits = functional_call(net, {**buffers, **dict(zip(names, weights))}, (batch['inputs'],))
        return F.cross_entropy(logits, batch['data_samples'])

    wt = [x.clone().requires_grad_() for x in w]
    g = torch.autograd.grad(loss(train, wt), wt)
    w_prime = [(x - lr * (mu * b + gi + wd * x)).requires_grad_() for x, gi, b in zip(w, g, bufs)]
    out = torch.autograd.grad(loss(val, w_prime), alphas + w_prime)
    d_alpha, v = out[:len(alphas)], out[len(alphas):]
    R = r / torch.cat([x.flatten() for x in v]).norm()
    g_plus = torch.autograd.grad(loss(train, [x + R * vi for x, vi in zip(w, v)]), alphas)
    g_minus = torch.autograd.grad(loss(train, [x - R * vi for x, vi in zip(w, v)]), alphas)
    return [da - lr * (gp - gm) / (2 * R) for da, gp, gm in zip(d_alpha, g_plus, g_minus)]


def test_default_setting_is_the_reference_finite_difference():
    """r = 1e-2, as the reference: the same approximation, not a more exact one."""
    algo = tiny_search()
    lr, mu, wd = 0.1, 0.9, 3e-2
    opt, bufs = momentum_optimizer(algo, lr, mu, wd)
    train, val = batch(1), batch(2)
    algo.space.model.eval()  # BN statistics fixed: both sides see the same network
    want = reference_formula(algo, train, val, lr, mu, wd, bufs)
    algo.zero_all_grads()
    second_order(algo, train, val, opt)
    for a, e in zip(algo.arch_parameters(), want):
        torch.testing.assert_close(a.grad, e, rtol=1e-9, atol=1e-12)


def test_exact_hvp_matches_autograd_through_the_virtual_step():
    algo = tiny_search()
    lr, mu, wd = 0.1, 0.9, 3e-2
    opt, bufs = momentum_optimizer(algo, lr, mu, wd)
    train, val = batch(1), batch(2)
    algo.space.model.eval()
    expected = exact_grad(algo, train, val, lr, mu, wd, bufs)
    algo.zero_all_grads()
    second_order(algo, train, val, opt, hvp='exact')
    for a, e in zip(algo.arch_parameters(), expected):
        torch.testing.assert_close(a.grad, e, rtol=1e-9, atol=1e-12)
    # ... where the default r = 1e-2 differs measurably (it is an approximation)
    algo.zero_all_grads()
    second_order(algo, train, val, opt)
    assert any(not torch.allclose(a.grad, e, rtol=1e-9, atol=1e-12)
               for a, e in zip(algo.arch_parameters(), expected))


def test_unknown_hvp_is_named():
    import pytest
    with pytest.raises(ValueError, match="hvp must be one of .*got 'taylor'"):
        darts_search(supernet=dict(type='PCDartsSupernet', num_classes=3, C=4, layers=3),
                     unrolled=True, hvp='taylor')
