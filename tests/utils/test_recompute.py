"""Recomputed layers (``nas_backbones.utils.recompute``): less kept for backward, the same maths."""
import torch
import torch.nn as nn
from torch.func import functional_call

from nas_backbones.core.optim import SearchOptimWrapperConstructor
from nas_backbones.utils.recompute import recomputed
from tests.conftest import darts_search


def stem() -> nn.Sequential:
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(3, 6, 3, 2, 1, bias=False), nn.BatchNorm2d(6), nn.ReLU(inplace=True),
                         nn.Conv2d(6, 8, 3, 2, 1, bias=False), nn.BatchNorm2d(8))


def saved_storages(fn, sizes: bool = False):
    """Storages autograd keeps for backward while ``fn()`` runs (``sizes``: {storage: bytes},
    parameters excluded), and the output."""
    seen = {}

    def pack(t):
        if not (sizes and isinstance(t, nn.Parameter)):
            seen[t.untyped_storage().data_ptr()] = t.untyped_storage().nbytes()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        out = fn()
    return (seen if sizes else set(seen)), out


def test_keeps_only_the_input_and_computes_the_same():
    plain, recomp = stem(), stem()
    x = torch.randn(4, 3, 17, 15, requires_grad=True)
    kept_plain, y1 = saved_storages(lambda: plain(x))
    kept, y2 = saved_storages(lambda: recomputed(recomp, recomp, x))
    params = {p.untyped_storage().data_ptr() for p in recomp.parameters()}
    assert kept - params == {x.untyped_storage().data_ptr()}
    assert len(kept_plain - {p.untyped_storage().data_ptr() for p in plain.parameters()}) >= 4
    torch.testing.assert_close(y2, y1)
    g = torch.randn_like(y1)
    gx1, *gp1 = torch.autograd.grad(y1, [x, *plain.parameters()], g)
    gx2, *gp2 = torch.autograd.grad(y2, [x, *recomp.parameters()], g)
    torch.testing.assert_close(gx2, gx1)
    for a, b in zip(gp2, gp1):
        torch.testing.assert_close(a, b)
    # the recomputation in backward did not update the running statistics a second time
    for a, b in zip(recomp.buffers(), plain.buffers()):
        torch.testing.assert_close(a, b)
    assert int(recomp[1].num_batches_tracked) == 1


def test_recomputes_with_the_parameters_of_an_enclosing_functional_call():
    """The second-order virtual step runs the network on w' through functional_call."""
    plain, recomp = stem(), stem()
    other = {n: (p + 0.1 * torch.randn_like(p)).requires_grad_() for n, p in plain.named_parameters()}
    x = torch.randn(2, 3, 16, 16)
    y1 = functional_call(plain, other, (x,))
    wrapped = nn.Module()
    wrapped.net = recomp
    wrapped.forward = lambda inp: recomputed(recomp, recomp, inp)
    y2 = functional_call(wrapped, {f'net.{n}': t for n, t in other.items()}, (x,))
    torch.testing.assert_close(y2, y1)
    g = torch.randn_like(y1)
    grads1 = torch.autograd.grad(y1, list(other.values()), g)
    grads2 = torch.autograd.grad(y2, list(other.values()), g)
    for a, b in zip(grads2, grads1):
        torch.testing.assert_close(a, b)


def test_plain_call_outside_training():
    net = stem().eval()
    x = torch.randn(1, 3, 8, 8, requires_grad=True)
    kept, _ = saved_storages(lambda: recomputed(net, net, x))
    assert len(kept) > 1  # eval: no recomputation, an ordinary forward


def test_second_order_step_is_the_same_with_recompute():
    optim = dict(weights=dict(optimizer=dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=3e-4)),
                 arch=dict(optimizer=dict(type='Adam', lr=6e-3, betas=(0.5, 0.999), weight_decay=1e-3)))
    g = torch.Generator().manual_seed(1)
    data = {s: {'inputs': torch.randn(4, 3, 12, 12, generator=g),
                'data_samples': torch.randint(0, 4, (4,), generator=g)} for s in ('weights', 'arch')}
    algos = []
    for recompute in (False, True):
        torch.manual_seed(0)
        algo = darts_search(supernet=dict(type='PCDartsSupernet', num_classes=4, C=8, layers=3,
                                         stem='imagenet', partial_k=2, recompute=recompute),
                           unrolled=True).double()
        opt = SearchOptimWrapperConstructor(optim)(algo)
        algo.train_step({s: dict(d, inputs=d['inputs'].double()) for s, d in data.items()}, opt)
        algos.append(algo)
    a, b = algos
    for (name, p), q in zip(a.state_dict().items(), b.state_dict().values()):
        torch.testing.assert_close(q, p, msg=name)
    assert not torch.equal(a.space.arch.alphas_normal, torch.zeros_like(a.space.arch.alphas_normal))


def test_backbone_with_cp_is_the_same_network():
    """DartsBackbone(with_cp=True): same features, gradients, drop-path masks and BN statistics."""
    from nas_backbones.spaces.darts import DartsBackbone
    nets = []
    for with_cp in (False, True):
        torch.manual_seed(0)
        nets.append(DartsBackbone('PC_DARTS_image', C=8, layers=5, out_indices=(1, 2, 3),
                                  drop_path_prob=0.3, with_cp=with_cp).double())
    x = torch.randn(2, 3, 67, 61, dtype=torch.float64)
    outs, kept = [], []
    for net in nets:
        torch.manual_seed(1)  # the same drop-path masks
        storages, out = saved_storages(lambda: net(x), sizes=True)
        outs.append(out)
        kept.append(sum(storages.values()))
    assert kept[1] < 0.5 * kept[0]  # only the cells' inputs are kept
    for a, b in zip(*outs):
        torch.testing.assert_close(b, a)
    proj = [torch.randn_like(o) for o in outs[0]]
    grads = [torch.autograd.grad(sum((o * p).sum() for o, p in zip(out, proj)), list(net.parameters()))
             for out, net in zip(outs, nets)]
    for (name, _), a, b in zip(nets[0].named_parameters(), *grads):
        torch.testing.assert_close(b, a, msg=name)
    for (name, a), b in zip(nets[0].named_buffers(), nets[1].buffers()):
        torch.testing.assert_close(b, a, msg=name)
