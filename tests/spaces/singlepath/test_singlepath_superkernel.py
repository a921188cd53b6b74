"""The superkernel layer: forced to each of the five choices it computes the stand-alone MBConv of
that choice with the same weights; the nested decisions and their gradients follow the reference."""
import pytest
import torch
import torch.nn.functional as F

from nas_backbones.spaces.singlepath import MBConv, SuperKernelMBConv
from nas_backbones.spaces.singlepath.supernet import SinglePathSupernet

ON, OFF = -1e3, 1e3
# (t5x5, t100c, t50c) that force each choice, whatever the weights
CHOICES = {
    'k3e3': (OFF, OFF, ON), 'k3e6': (OFF, ON, ON), 'k5e3': (ON, OFF, ON), 'k5e6': (ON, ON, ON),
    'skip': (ON, ON, OFF),
}


def randomize(module, seed=0):
    """Random weights and BN statistics everywhere (BN biases not 0: the hard case)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, t in module.state_dict().items():
            if t.dtype.is_floating_point:
                if name.endswith('running_var'):
                    t.copy_(torch.rand(t.shape, generator=g) + 0.5)
                else:
                    t.copy_(torch.randn(t.shape, generator=g) * 0.5)


def standalone(layer: SuperKernelMBConv, k: int, e: int) -> MBConv:
    """The MBConv of choice k/e with the superkernel's weights, sliced here by hand."""
    m = MBConv(layer.in_channels, layer.out_channels, k, e, layer.stride, layer.residual)
    mid, off = layer.in_channels * e, (5 - k) // 2
    src = layer.state_dict()
    dst = {}
    for name, t in src.items():
        if name.startswith('expand.') or name.startswith('depthwise.'):
            if name.endswith('conv.weight') and name.startswith('depthwise.'):
                t = t[:mid, :, off:off + k, off:off + k]
            elif t.dim() > 0:
                t = t[:mid]
        elif name == 'project.conv.weight':
            t = t[:, :mid]
        dst[name] = t.clone()
    m.load_state_dict(dst)
    return m


@pytest.mark.parametrize('residual', [True, False])
@pytest.mark.parametrize('mode', ['train', 'eval'])
@pytest.mark.parametrize('choice', list(CHOICES))
def test_forced_choice_equals_the_standalone_mbconv(choice, mode, residual):
    if choice == 'skip' and not residual:
        pytest.skip('only layers with a shortcut can be skipped')
    cin, cout, stride = (8, 8, 1) if residual else (8, 12, 2)
    layer = SuperKernelMBConv(cin, cout, stride, residual)
    randomize(layer)
    x = torch.randn(4, cin, 11, 9)  # odd sizes on purpose
    t = torch.tensor(CHOICES[choice])
    d, _ = layer.decisions(t)
    if choice == 'skip':
        assert float(d.d50c.detach()) == 0 and layer.choice_of(d)['skip']
        layer.train(mode == 'train')
        assert torch.equal(layer(x, t), x)
        return
    k, e = int(choice[1]), int(choice[3])
    assert layer.choice_of(d) == dict(kernel=k, expansion=e, skip=False)
    ref = standalone(layer, k, e)
    exported = layer.to_mbconv(k, e)
    for net in (layer, ref, exported):
        net.train(mode == 'train')
    out = layer(x, t)
    torch.testing.assert_close(out, ref(x), rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(exported(x), ref(x), rtol=0, atol=0)
    assert out.shape == (4, cout, 11 if stride == 1 else 6, 9 if stride == 1 else 5)


def test_nested_decisions_use_the_reference_norms():
    layer = SuperKernelMBConv(4, 4, 1, residual=True)
    randomize(layer, seed=1)
    W = layer.depthwise.conv.weight.detach()
    inner = torch.zeros(5, 5)
    inner[1:4, 1:4] = 1
    C = W.size(0)
    ring_norm = (W * (1 - inner)).pow(2).sum().sqrt()
    # just above the ring's norm: the kernel becomes 3x3, and the channel norms are the 3x3's
    t5 = ring_norm.item() + 1e-3
    n100 = W[C // 2:, :, 1:4, 1:4].pow(2).sum().sqrt().item()
    n50 = W[:C // 2, :, 1:4, 1:4].pow(2).sum().sqrt().item()
    d, kernel = layer.decisions(torch.tensor([t5, n100 - 1e-3, n50 + 1e-3]))
    assert d.norms.tolist() == pytest.approx([ring_norm.item(), n100, n50], rel=1e-5)
    assert (float(d.d5x5), float(d.d100c), float(d.d50c)) == (0., 1., 0.)
    assert torch.count_nonzero(kernel) == 0  # skip: the whole kernel is off
    d, kernel = layer.decisions(torch.tensor([t5, n100 - 1e-3, n50 - 1e-3]))
    expected = W * inner
    torch.testing.assert_close(kernel, expected)


def reference_forward(layer: SuperKernelMBConv, x, t):
    """The reference's layer: only the depthwise kernel is masked, nothing after it."""
    _, kernel = layer.decisions(t)
    y = layer.expand(x)
    y = layer.depthwise.act(layer.depthwise.bn(F.conv2d(y, kernel, None, layer.stride, 2,
                                                        groups=y.size(1))))
    y = layer.project(y)
    return x + y if layer.residual else y


@pytest.mark.parametrize('choice', ['k3e3', 'k5e3', 'skip'])
def test_gradients_are_the_references_while_bn_biases_are_zero(choice):
    """Our forward-only output masks change no gradient where the reference's zeros hold."""
    torch.manual_seed(0)
    layer = SuperKernelMBConv(6, 6, 1, residual=True).train()
    randomize(layer, seed=2)
    for bn in (layer.depthwise.bn, layer.project.bn):
        torch.nn.init.zeros_(bn.bias)
    # near the boundaries, so the indicators' sigmoid slopes are not tiny
    margin = {'k3e3': (0.1, 0.1, -0.1), 'k5e3': (-0.1, 0.1, -0.1), 'skip': (-0.1, -0.1, 0.1)}[choice]
    t5 = layer.decisions(torch.zeros(3))[0].norms[0] + margin[0]
    norms = layer.decisions(torch.tensor([t5, ON, ON]))[0].norms  # the channel norms under d5x5
    t0 = torch.tensor([t5, norms[1] + margin[1], norms[2] + margin[2]])
    x = torch.randn(3, 6, 7, 7)
    w = torch.randn(3, 6, 7, 7)
    grads = []
    for fwd in (lambda t: layer(x, t), lambda t: reference_forward(layer, x, t)):
        t = t0.clone().requires_grad_(True)
        layer.zero_grad()
        (fwd(t) * w).sum().backward()
        grads.append([t.grad.clone()] + [p.grad.clone() for p in layer.parameters()])
    # The thresholds learn, except on a skip: its depthwise output is 0 at a ReLU, where
    # neither implementation passes a gradient (with BN biases at 0).
    assert (grads[0][0].abs().sum() > 0) == (choice != 'skip')
    for a, b in zip(*grads):
        torch.testing.assert_close(a, b)


def test_supernet_starts_as_the_full_k5e6_network_and_takes_its_thresholds_as_input():
    net = SinglePathSupernet(num_classes=5, width_mult=0.5).eval()
    assert net.num_searchable == 20
    assert sum(layer.residual for layer in net.superkernels()) == 15
    # at width 0.25, 80 and 96 both round to 24: the first layer of block 4 gains a shortcut
    assert sum(s.residual for s in SinglePathSupernet(width_mult=0.25).layout.searchable) == 16
    t = torch.zeros(20, 3)
    for d in net.decisions(t):
        assert (float(d.d5x5), float(d.d100c), float(d.d50c)) == (1., 1., 1.)
    x = torch.randn(2, 3, 33, 47)
    assert net(x, t).shape == (2, 5)
    with pytest.raises(ValueError, match=r'thresholds must have shape \(20, 3\)'):
        net(x, torch.zeros(19, 3))
