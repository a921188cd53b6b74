"""The fast mixed op / search cell / supernet compute what the paper's equations do.

``impl='reference'`` is PC-DARTS written as the papers describe it (every op
on the sliced input, Python sums, concat and shuffle per edge, one edge at a
time). The fast path shares work between edges, folds the op weights into
the BatchNorms, shuffles once per node and runs the ops in channels-last on
CPU; with the same weights, both must give the same outputs, the same
gradients for the input, every weight, alpha and beta, and the same
BatchNorm running statistics, in both memory layouts and unfused ('plain').
"""
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from nas_backbones.spaces.darts import DEFAULT_PRIMITIVES, ArchParameters, PCDartsSupernet
from nas_backbones.spaces.darts.layout import CellSpec
from nas_backbones.spaces.darts.search_cell import SearchCell
from nas_backbones.spaces.darts.search_op import PartialMixedOp, bn_scaled, shuffle_cat
from tests.conftest import darts_search

EXTRA_PRIMITIVES = DEFAULT_PRIMITIVES + ('sep_conv_7x7', 'conv_7x1_1x7')


POLICIES = {'nchw': dict(channels_last=False, fused=True),
            'channels_last': dict(channels_last=True, fused=True),
            'plain': dict(channels_last=False, fused=False)}


@pytest.fixture(params=list(POLICIES))
def layout(request):
    """The fast path's policy (memory layout; fused or plain), forced whatever the device."""
    return POLICIES[request.param]


def naive_channel_shuffle(x: torch.Tensor, groups: int) -> torch.Tensor:
    """PC-DARTS' channel_shuffle as its code writes it: view, transpose, contiguous, view."""
    b, c, h, w = x.size()
    return torch.transpose(x.view(b, groups, c // groups, h, w), 1, 2).contiguous().view(b, -1, h, w)


def assert_same(got, want, what):
    """Equal within rounding (float32 or float64), relative to the size of the values compared."""
    rtol = 1e-4 if want.dtype == torch.float32 else 1e-9
    scale = want.abs().max().item()
    err = (got - want).abs().max().item()
    assert err <= rtol * max(scale, 1e-3), f'{what}: max difference {err:.3g} (values up to {scale:.3g})'


def assert_grads_same(opt_params, naive_params, names, loss_fn):
    g1 = torch.autograd.grad(loss_fn(0), opt_params, allow_unused=True)
    g2 = torch.autograd.grad(loss_fn(1), naive_params, allow_unused=True)
    for name, a, b in zip(names, g1, g2):
        a = torch.zeros(1) if a is None else a
        b = torch.zeros(1) if b is None else b
        assert_same(a, b, f'gradient of {name}')


def assert_buffers_same(a: nn.Module, b: nn.Module):
    for (name, x), y in zip(a.named_buffers(), b.buffers()):
        assert_same(x.float(), y.float(), f'buffer {name}')


@pytest.mark.parametrize('k', [1, 2, 4])
@pytest.mark.parametrize('stride', [1, 2])
@pytest.mark.parametrize('size', [(8, 8), (7, 9)])
def test_mixed_op_matches_naive(k, stride, size, layout):
    torch.manual_seed(0)
    C = 8
    opt = PartialMixedOp(C, stride, DEFAULT_PRIMITIVES, k, **layout)
    naive = PartialMixedOp(C, stride, DEFAULT_PRIMITIVES, k, impl='reference')
    naive.load_state_dict(opt.state_dict())
    x = torch.randn(3, C, *size, requires_grad=True)
    alpha = torch.randn(len(DEFAULT_PRIMITIVES), requires_grad=True)
    outs = [m(x, torch.softmax(alpha, 0)) for m in (opt, naive)]
    assert outs[0].shape == outs[1].shape
    assert_same(outs[0], outs[1], 'output')
    proj = torch.randn_like(outs[1])
    assert_grads_same([x, alpha, *opt.parameters()], [x, alpha, *naive.parameters()],
                      ['x', 'alpha'] + [n for n, _ in opt.named_parameters()],
                      lambda i: (outs[i] * proj).sum())
    assert_buffers_same(opt, naive)


def make_cells(spec, k, primitives=DEFAULT_PRIMITIVES, layout=None):
    torch.manual_seed(0)
    opt = SearchCell(spec, 4, 4, primitives, k, **(layout or {}))
    naive = SearchCell(spec, 4, 4, primitives, k, impl='reference')
    naive.load_state_dict(opt.state_dict())
    return opt, naive


@pytest.mark.parametrize('k', [1, 2, 4])
@pytest.mark.parametrize('reduction,reduction_prev', [(False, False), (True, False), (False, True)])
@pytest.mark.parametrize('edge_norm', [True, False])
def test_cell_matches_naive(k, reduction, reduction_prev, edge_norm, layout):
    spec = CellSpec(0, C_prev_prev=12, C_prev=12, C=8, reduction=reduction,
                    reduction_prev=reduction_prev, stage=1)
    opt, naive = make_cells(spec, k, layout=layout)
    # odd sizes: ceil-mode pools and the padded FactorizedReduce
    s0 = torch.randn(2, 12, *((11, 13) if reduction_prev else (7, 9)), requires_grad=True)
    s1 = torch.randn(2, 12, *((6, 7) if reduction_prev else (7, 9)), requires_grad=True)
    arch = ArchParameters(4, DEFAULT_PRIMITIVES, 4, edge_norm=edge_norm)
    alphas = list(arch.parameters())

    def forward(cell):
        w, ew = arch()[reduction]
        return cell(s0, s1, w, ew)

    outs = [forward(opt), forward(naive)]
    assert_same(outs[0], outs[1], 'cell output')
    proj = torch.randn_like(outs[1])
    names = ['s0', 's1'] + [n for n, _ in arch.named_parameters()] + [n for n, _ in opt.named_parameters()]
    assert_grads_same([s0, s1, *alphas, *opt.parameters()], [s0, s1, *alphas, *naive.parameters()],
                      names, lambda i: (outs[i] * proj).sum())
    assert_buffers_same(opt, naive)


def test_cell_with_other_ops_matches_naive(layout):
    """Ops outside the default space (7x7 sep conv, 1x7/7x1 conv) take the same shared-input path."""
    spec = CellSpec(0, 8, 8, 8, reduction=True, reduction_prev=False, stage=2)
    opt, naive = make_cells(spec, 2, EXTRA_PRIMITIVES, layout)
    s0, s1 = torch.randn(2, 8, 9, 9), torch.randn(2, 8, 9, 9)
    alpha = torch.randn(14, len(EXTRA_PRIMITIVES), requires_grad=True)
    outs = [c(s0, s1, torch.softmax(alpha, -1)) for c in (opt, naive)]
    assert_same(outs[0], outs[1], 'cell output')
    proj = torch.randn_like(outs[1])
    assert_grads_same([alpha, *opt.parameters()], [alpha, *naive.parameters()],
                      ['alpha'] + [n for n, _ in opt.named_parameters()],
                      lambda i: (outs[i] * proj).sum())


def test_replaced_module_falls_back_to_calling_it():
    """A closing norm layer that is not a plain BatchNorm2d (e.g. SyncBatchNorm) is called, not folded."""

    class MyBN(nn.BatchNorm2d):
        def forward(self, x):
            return super().forward(x) + 1.

    spec = CellSpec(0, 8, 8, 8, reduction=False, reduction_prev=False, stage=1)
    opt, naive = make_cells(spec, 2)
    for cell in (opt, naive):
        for mixed in cell._ops:
            sep = mixed._ops[-3]  # sep_conv_5x5 (after 'none' is dropped)
            sep[1][3] = MyBN(4, affine=False)
    s = torch.randn(2, 8, 6, 6)
    w = torch.softmax(torch.randn(14, 8), -1)
    assert_same(opt(s, s, w), naive(s, s, w), 'cell output')


SUPERNETS = [('imagenet', 1, False, (35, 43)), ('imagenet', 2, True, (64, 64)),
             ('imagenet', 4, True, (41, 33)), ('cifar', 1, False, (15, 17)),
             ('cifar', 2, False, (16, 16)), ('cifar', 4, True, (13, 11))]


@pytest.mark.parametrize('stem,k,edge_norm,size', SUPERNETS)
@pytest.mark.parametrize('recompute', [False, True], ids=['keep', 'recompute'])
def test_supernet_matches_naive(stem, k, edge_norm, size, layout, recompute):
    """In float64, so that 5 cells of float32 rounding do not hide a real difference."""
    torch.manual_seed(0)
    net = dict(num_classes=5, C=8, layers=5, stem=stem, partial_k=k)
    algo = darts_search(supernet=dict(type='PCDartsSupernet', recompute=recompute,
                                      **layout, **net), edge_norm=edge_norm).double()
    naive = PCDartsSupernet(**net, impl='reference').double()
    # the search classifier's trunk is its backbone; the classifier keeps its name
    naive.load_state_dict({k.removeprefix('backbone.'): v
                           for k, v in algo.space.model.state_dict().items()})
    x = torch.randn(3, 3, *size, dtype=torch.float64, requires_grad=True)
    labels = torch.tensor([0, 3, 4])
    logits = [algo.space.tensor(x), naive(x, algo.space.arch())]
    assert_same(logits[0], logits[1], 'logits')
    alphas = algo.arch_parameters()
    names = ['x'] + [n for n, _ in algo.space.arch.named_parameters()] + \
        [n for n, _ in algo.space.model.named_parameters()]
    assert_grads_same([x, *alphas, *algo.space.model.parameters()], [x, *alphas, *naive.parameters()],
                      names, lambda i: F.cross_entropy(logits[i], labels))
    assert_buffers_same(algo.space.model, naive)


def test_shuffle_cat_is_cat_then_shuffle():
    part = torch.randn(2, 3, 4, 5, requires_grad=True)
    bypass = torch.randn(2, 9, 4, 5, requires_grad=True)
    for p in (part, part.contiguous(memory_format=torch.channels_last)):
        got = shuffle_cat(p, bypass, 4)
        want = naive_channel_shuffle(torch.cat([p, bypass], 1), 4)
        assert torch.equal(got, want)
        g = torch.randn_like(want)
        assert all(torch.equal(a, b) for a, b in zip(torch.autograd.grad(got, [part, bypass], g),
                                                     torch.autograd.grad(want, [part, bypass], g)))


@pytest.mark.parametrize('channels_last', [False, True])
def test_bn_scaled_is_scale_times_bn(channels_last):
    """Also guards the CPU channels-last BatchNorm backward, which misreads an expanded weight."""
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    x = torch.randn(4, 16, 5, 7, dtype=torch.float64).contiguous(memory_format=fmt).requires_grad_()
    scale = torch.tensor(0.37, dtype=torch.float64, requires_grad=True)
    bn1, bn2 = (nn.BatchNorm2d(16, affine=False).double() for _ in range(2))
    got, want = bn_scaled(bn1, x, scale), scale * bn2(x)
    assert_same(got, want, 'output')
    g = torch.randn_like(want)
    for a, b, n in zip(torch.autograd.grad(got, [x, scale], g), torch.autograd.grad(want, [x, scale], g),
                       ['x', 'scale']):
        assert_same(a, b, f'gradient of {n}')
    assert_buffers_same(bn1, bn2)
    bn1.eval(), bn2.eval()
    assert_same(bn_scaled(bn1, x, scale), scale * bn2(x), 'eval output')


def test_train_step_matches_naive():
    """A whole bilevel step (arch step, then weight step) moves both supernets the same way."""
    from nas_backbones.core.optim import SearchOptimWrapperConstructor
    optim = dict(weights=dict(optimizer=dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=3e-4),
                              clip_grad=dict(max_norm=5.)),
                 arch=dict(optimizer=dict(type='Adam', lr=6e-3, betas=(0.5, 0.999), weight_decay=1e-3)))
    net = dict(num_classes=4, C=8, layers=3, stem='cifar', partial_k=2)
    algos = []
    for impl in ('project', 'naive'):
        torch.manual_seed(0)
        algo = darts_search(supernet=dict(type='PCDartsSupernet', **net,
                                          impl='reference' if impl == 'naive' else 'fast'))
        algos.append((algo, SearchOptimWrapperConstructor(optim)(algo)))
    g = torch.Generator().manual_seed(1)
    data = {s: {'inputs': torch.randn(4, 3, 12, 12, generator=g),
                'data_samples': torch.randint(0, 4, (4,), generator=g)} for s in ('weights', 'arch')}
    for algo, opt in algos:
        algo.train_step(data, opt)
    (a, _), (b, _) = algos
    for (name, p), q in zip(a.named_parameters(), b.parameters()):
        assert_same(p.detach(), q.detach(), name)


def test_device_policy():
    """One decision per device: channels-last on CPU, NCHW elsewhere, fused everywhere; both forceable."""
    from nas_backbones.spaces.darts.search_op import FastPolicy, fast_policy
    assert fast_policy(torch.device('cpu')) == FastPolicy(channels_last=True, fused=True)
    assert fast_policy(torch.device('cuda', 0)) == FastPolicy(channels_last=False, fused=True)
    assert fast_policy(torch.device('cuda'), channels_last=True, fused=False) == \
        FastPolicy(channels_last=True, fused=False)
    assert fast_policy(torch.device('cpu'), channels_last=False) == FastPolicy(False, True)


@pytest.mark.parametrize('cls', ['PCDartsSupernet', 'PCDartsSearchBackbone'])
def test_policy_and_init_cfg_reach_where_they_belong(cls):
    """``channels_last`` / ``fused`` reach every mixed op; ``init_cfg`` stays the module's."""
    import nas_backbones.spaces.darts as darts
    init = dict(type='Kaiming', layer='Conv2d')
    net = getattr(darts, cls)(C=8, layers=3, channels_last=True, fused=False, init_cfg=init)
    mixed = [m for m in net.modules() if isinstance(m, PartialMixedOp)]
    assert mixed and all(m.channels_last is True and m.fused is False for m in mixed)
    assert net.init_cfg == init
    default = getattr(darts, cls)(C=8, layers=3)
    assert all(m.channels_last is None and m.fused is None
               for m in default.modules() if isinstance(m, PartialMixedOp))


def test_channels_last_batch_norm_has_the_nchw_kernels_float32_precision():
    """batch_norm_cl (what the fast path's channels-last BatchNorms run on the CPU) against float64:
    outputs, gradients and running statistics within NCHW-kernel rounding, on channels whose mean
    is large against their spread (torch's own channels-last kernel: 1.7e-5 in the output here)."""
    from nas_backbones.spaces.darts.precise_bn import batch_norm_cl
    torch.manual_seed(0)
    x64 = (torch.randn(2, 16, 32, 32) + 30.).double()  # float32 values: no rounding of the input
    g64 = torch.randn_like(x64)
    w64 = torch.rand(16, dtype=torch.float64) + 0.5
    ref_bn = nn.BatchNorm2d(16, affine=False).double()
    xr, wr = x64.clone().requires_grad_(), w64.clone().requires_grad_()
    want = F.batch_norm(xr, ref_bn.running_mean, ref_bn.running_var, wr, None, True, 0.1, 1e-5)
    want_gx, want_gw = torch.autograd.grad(want, [xr, wr], g64)
    bn = nn.BatchNorm2d(16, affine=False)
    x = x64.float().contiguous(memory_format=torch.channels_last).requires_grad_()
    w = w64.float().requires_grad_()
    got = batch_norm_cl(bn, x, w, 0.1)
    gx, gw = torch.autograd.grad(got, [x, w], g64.float().contiguous(memory_format=torch.channels_last))
    assert got.is_contiguous(memory_format=torch.channels_last)
    assert gx.is_contiguous(memory_format=torch.channels_last)
    for name, a, b in (('output', got, want), ('input gradient', gx, want_gx), ('weight gradient', gw, want_gw),
                       ('running mean', bn.running_mean, ref_bn.running_mean),
                       ('running var', bn.running_var, ref_bn.running_var)):
        err = ((a.double() - b).norm() / b.norm()).item()
        assert err < 3e-6, f'{name}: relative error {err:.2e}'


def test_fast_supernet_float32_gradients_are_as_close_to_float64_as_the_reference_paths():
    """DARTS (K=1), CIFAR stem, 32x32, batch 2, random weights, away from non-smooth points: no
    max-pool (whose ties would make the gradient jump) and, checked here, no ReLU input within
    1e-7 of zero relative to its tensor (float32 rounding could move it across). There, the float32
    gradients of the fast path (CPU policy and NCHW) are as close to float64 as the reference
    path's: a lost bit of precision (an op weight folded into a BatchNorm, a kernel that
    accumulates loosely) shows up as a larger error. Measured: 2.0e-6 (both policies) against the
    reference path's 2.0e-6; with torch's own channels-last BatchNorm 1.0e-5 here."""
    primitives = tuple(p for p in DEFAULT_PRIMITIVES if p != 'max_pool_3x3')
    net = dict(num_classes=5, C=16, layers=3, stem='cifar', partial_k=1, primitives=primitives)
    torch.manual_seed(1)  # a seed whose case keeps away from the ReLU kinks (checked below)
    algo = darts_search(supernet=dict(type='PCDartsSupernet', **net), edge_norm=False)
    arch = algo.space.arch
    x, labels = torch.randn(2, 3, 32, 32), torch.tensor([1, 3])
    # the search's trunk and classifier as one PCDartsSupernet (forward(x, weights)), fast and reference
    trained = {k.removeprefix('backbone.'): v for k, v in algo.space.model.state_dict().items()}
    fast, reference = PCDartsSupernet(**net), PCDartsSupernet(**net, impl='reference')
    fast.load_state_dict(trained)
    reference.load_state_dict(trained)

    def grads(model, dtype, **policy):
        import copy
        m, a = copy.deepcopy(model).to(dtype), copy.deepcopy(arch).to(dtype)
        for mod in m.modules():
            for k, v in policy.items():
                if hasattr(mod, k):
                    setattr(mod, k, v)
        loss = F.cross_entropy(m(x.to(dtype), a()), labels)
        return torch.autograd.grad(loss, list(a.parameters()) + list(m.parameters()))

    gaps = []
    hooks = [m.register_forward_pre_hook(lambda _, i: gaps.append((i[0].abs().min() / i[0].abs().max()).item()))
             for m in reference.modules() if isinstance(m, nn.ReLU)]
    exact = grads(reference, torch.float64)
    for h in hooks:
        h.remove()
    assert gaps and min(gaps) > 1e-7, 'the case must stay away from ReLU kinks'

    def worst(got):
        return max(((a.double() - b).norm() / b.norm()).item() for a, b in zip(got, exact) if b.norm() > 0)

    ref_err = worst(grads(reference, torch.float32))
    for policy in (dict(channels_last=True), dict(channels_last=False)):
        err = worst(grads(fast, torch.float32, **policy))
        assert err < 1.5 * ref_err + 1e-7, f'{policy}: float32 error {err:.2e}, reference path {ref_err:.2e}'
