"""The partial-channel mixed op, search cell and supernet against the reference formulas."""
import pytest
import torch
import torch.nn as nn

from nas_backbones.spaces.darts import DEFAULT_PRIMITIVES, PCDartsSupernet
from nas_backbones.spaces.darts.search_op import PartialMixedOp, channel_shuffle
from tests.conftest import darts_search


def reference_shuffle(x, groups):
    b, c, h, w = x.data.size()
    x = x.view(b, groups, c // groups, h, w)
    x = torch.transpose(x, 1, 2).contiguous()
    return x.view(b, -1, h, w)


def reference_mixed(mixed, x, weights, k):
    """model_search.MixedOp.forward, 'none' included as x*0."""
    xtemp, xtemp2 = x[:, :x.shape[1] // k], x[:, x.shape[1] // k:]
    ops = iter(mixed._ops)
    terms = []
    for w, name in zip(weights, DEFAULT_PRIMITIVES):
        if name == 'none':
            y = xtemp[:, :, ::mixed.stride, ::mixed.stride] * 0
        else:
            y = next(ops)(xtemp)
        terms.append(w * y)
    temp1 = sum(terms)
    if k == 1:
        return temp1
    if temp1.shape[2] == x.shape[2]:
        ans = torch.cat([temp1, xtemp2], dim=1)
    else:
        ans = torch.cat([temp1, nn.MaxPool2d(2, 2)(xtemp2)], dim=1)
    return reference_shuffle(ans, k)


@pytest.mark.parametrize('k', [1, 2, 4])
@pytest.mark.parametrize('stride', [1, 2])
def test_mixed_op_matches_reference(k, stride):
    torch.manual_seed(0)
    mixed = PartialMixedOp(8, stride, DEFAULT_PRIMITIVES, k)
    x = torch.randn(2, 8, 8, 8, requires_grad=True)
    w = torch.softmax(torch.randn(8, requires_grad=True), 0)
    out = mixed(x, w)
    ref = reference_mixed(mixed, x, w, k)
    torch.testing.assert_close(out, ref)
    # Gradients too: skipping 'none' must not change them.
    g1 = torch.autograd.grad(out.square().sum(), [x])[0]
    g2 = torch.autograd.grad(ref.square().sum(), [x])[0]
    torch.testing.assert_close(g1, g2)


def test_partial_channels_only_first_slice_goes_through_ops():
    mixed = PartialMixedOp(8, 1, DEFAULT_PRIMITIVES, 4)
    assert all(m.num_features == 2 for m in mixed.modules() if isinstance(m, nn.BatchNorm2d))
    x = torch.randn(1, 8, 6, 6)
    out = mixed(x, torch.full((8,), 1 / 8))
    # Output channel 4*j + g holds concat channel 2*g + j: g=0 is the op output,
    # g=1..3 the untouched bypass channels x[:, 2:].
    bypass = x[:, 2:].view(1, 3, 2, 6, 6).transpose(1, 2)
    torch.testing.assert_close(out.view(1, 2, 4, 6, 6)[:, :, 1:], bypass)


def test_channel_shuffle_is_reference():
    x = torch.arange(2 * 12 * 2 * 2, dtype=torch.float32).view(2, 12, 2, 2)
    for g in (2, 3, 4):
        torch.testing.assert_close(channel_shuffle(x, g), reference_shuffle(x, g))


def test_search_ops_have_no_affine_bn_and_pools_have_bn():
    mixed = PartialMixedOp(4, 1, DEFAULT_PRIMITIVES, 1)
    assert all(not m.affine for m in mixed.modules() if isinstance(m, nn.BatchNorm2d))
    pools = [op for op in mixed._ops if isinstance(op, nn.Sequential)
             and isinstance(op[0], (nn.MaxPool2d, nn.AvgPool2d))]
    assert len(pools) == 2 and all(isinstance(p[1], nn.BatchNorm2d) for p in pools)


def test_k_must_divide_channels():
    with pytest.raises(ValueError, match='K=3 must divide the channels C=8'):
        PartialMixedOp(8, 1, DEFAULT_PRIMITIVES, 3)
    with pytest.raises(ValueError, match='partial_k=3 does not divide'):
        PCDartsSupernet(C=16, partial_k=3)


def test_unknown_op_in_search_space():
    with pytest.raises(ValueError, match="unknown op.*'conv_9x9'"):
        PCDartsSupernet(primitives=('none', 'conv_9x9'))


def test_imagenet_supernet_matches_reference_size_and_shapes():
    net = PCDartsSupernet(num_classes=1000)
    assert sum(p.numel() for p in net.parameters()) == 956512  # PC-DARTS #15
    assert [c.reduction for c in net.cells] == [False, False, True, False, False, True, False, False]
    assert net.cells[0].preprocess0.__class__.__name__ == 'FactorizedReduce'


@pytest.mark.parametrize('size', [(64, 64), (65, 63), (33, 47)])
def test_supernet_takes_odd_sizes(size):
    algo = darts_search(supernet=dict(type='PCDartsSupernet', num_classes=5, C=8, layers=5))
    assert algo(torch.randn(2, 3, *size)).shape == (2, 5)


def test_supernet_rejects_bad_input():
    algo = darts_search(supernet=dict(type='PCDartsSupernet', num_classes=5, C=8, layers=3))
    with pytest.raises(ValueError, match=r'expected a \(N, 3, H, W\).*\(2, 1, 32, 32\)'):
        algo(torch.randn(2, 1, 32, 32))


def test_darts_is_k1_without_edge_norm():
    algo = darts_search(supernet=dict(type='PCDartsSupernet', num_classes=5, C=8, layers=3,
                                     stem='cifar', partial_k=1), edge_norm=False)
    assert algo.space.arch.betas_normal is None and algo.space.arch.edge_weights(False) is None
    assert algo(torch.randn(2, 3, 16, 16)).shape == (2, 5)
    assert {n for n, _ in algo.space.arch.named_parameters()} == {'alphas_normal', 'alphas_reduce'}


def test_arch_parameters_are_separate_from_weights():
    algo = darts_search(supernet=dict(type='PCDartsSupernet', num_classes=5, C=8, layers=3))
    w_ids = {id(p) for p in algo.weight_parameters()}
    a = algo.arch_parameters()
    assert len(a) == 4 and not any(id(p) in w_ids for p in a)
    assert a[0].shape == (14, 8) and a[2].shape == (14,)
    assert set(algo.state_dict()) >= {'space.arch.alphas_normal', 'space.arch.betas_reduce'}
