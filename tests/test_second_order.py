"""The second-order architecture gradient against an exact autograd computation (pcdarts.md §3.4, §10.2)."""
import torch
import torch.nn.functional as F
from mmengine.optim import OptimWrapper
from torch.func import functional_call

from nas_backbones.search import DartsSearch
from nas_backbones.search.second_order import unrolled_arch_grads


def tiny_search(edge_norm=True, k=1):
    torch.manual_seed(0)
    algo = DartsSearch(supernet=dict(type='PCDartsSupernet', num_classes=3, C=4, layers=3, steps=2,
                                     multiplier=2, stem='cifar', stem_multiplier=1, partial_k=k),
                       edge_norm=edge_norm, unrolled=True).double()
    with torch.no_grad():
        for p in algo.arch.parameters():
            p.normal_(0, 0.5)  # away from uniform so the gradient is not trivially small
    return algo


def batch(seed):
    g = torch.Generator().manual_seed(seed)
    return {'inputs': torch.randn(4, 3, 8, 8, generator=g, dtype=torch.float64),
            'data_samples': torch.randint(0, 3, (4,), generator=g)}


def exact_grad(algo, train, val, lr, mu, wd, bufs):
    """d/dalpha L_val(w - lr*(mu*buf + dL_train/dw + wd*w), alpha), by autograd through the step."""
    net = algo.supernet
    names = [n for n, _ in net.named_parameters()]
    params = [p for _, p in net.named_parameters()]
    alphas = algo.arch_parameters()
    buffers = {n: b.clone() for n, b in net.named_buffers()}
    labels_t = train['data_samples']
    loss_t = F.cross_entropy(functional_call(net, {**buffers, **dict(zip(names, params))},
                                             (train['inputs'], algo.arch())), labels_t)
    g = torch.autograd.grad(loss_t, params, create_graph=True)
    w_prime = [p - lr * (mu * b + gi + wd * p) for p, gi, b in zip(params, g, bufs)]
    loss_v = F.cross_entropy(functional_call(net, {**buffers, **dict(zip(names, w_prime))},
                                             (val['inputs'], algo.arch())), val['data_samples'])
    return torch.autograd.grad(loss_v, alphas)


def test_second_order_matches_autograd_with_momentum_and_weight_decay():
    algo = tiny_search()
    lr, mu, wd = 0.1, 0.9, 3e-2
    opt = OptimWrapper(torch.optim.SGD(algo.supernet.parameters(), lr=lr, momentum=mu, weight_decay=wd))
    bufs = []
    for p in algo.supernet.parameters():  # a non-zero momentum buffer, as after some steps
        b = torch.randn_like(p) * 0.1
        opt.optimizer.state[p]['momentum_buffer'] = b
        bufs.append(b)
    train, val = batch(1), batch(2)
    algo.supernet.train()
    expected = exact_grad(algo, train, val, lr, mu, wd, bufs)
    w_before = [p.detach().clone() for p in algo.supernet.parameters()]
    algo.zero_all_grads()
    # In float64 a small r keeps the finite difference on the linear side of
    # ReLU/max-pool kinks, so the comparison tests the maths, not the step size.
    unrolled_arch_grads(algo, train, val, opt, r=1e-7)
    for a, e in zip(algo.arch_parameters(), expected):
        torch.testing.assert_close(a.grad, e, rtol=1e-4, atol=1e-7)
    # The weights are back where they were (the HVP shifts them and restores them).
    for p, w in zip(algo.supernet.parameters(), w_before):
        torch.testing.assert_close(p.detach(), w, rtol=0, atol=1e-12)


def test_second_order_differs_from_first_order():
    """Guards against a 'second order' that silently computes the first-order gradient."""
    algo = tiny_search()
    opt = OptimWrapper(torch.optim.SGD(algo.supernet.parameters(), lr=0.5, momentum=0.9))
    train, val = batch(3), batch(4)
    algo.zero_all_grads()
    unrolled_arch_grads(algo, train, val, opt)
    second = [a.grad.clone() for a in algo.arch_parameters()]
    algo.zero_all_grads()
    F.cross_entropy(algo(val['inputs']), val['data_samples']).backward()
    first = [a.grad.clone() for a in algo.arch_parameters()]
    assert max(float((s - f).abs().max()) for s, f in zip(second, first)) > 1e-6
