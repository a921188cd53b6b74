"""The detection search space: a PC-DARTS trunk as an MMDetection backbone, searched on the detector's loss."""
import math

import pytest
import torch
from mmengine.optim import OptimWrapper
from torch.func import functional_call

import nas_backbones  # noqa: F401
from nas_backbones.core.optim import SearchOptimWrapperConstructor
from nas_backbones.core.second_order import unrolled_arch_grads
from nas_backbones.spaces.darts import ArchParameters, PCDartsSearchBackbone
from tests.conftest import det_batch, detector_search, tiny_ssd

OPTIM = dict(weights=dict(optimizer=dict(type='SGD', lr=0.05, momentum=0.9, weight_decay=3e-4)),
             arch=dict(optimizer=dict(type='Adam', lr=6e-3, betas=(0.5, 0.999), weight_decay=1e-3)))


def backbone(seed=0, **kw):
    torch.manual_seed(seed)
    args = dict(C=4, layers=4, partial_k=2, out_indices=(0, 1, 2, 3))
    args.update(kw)
    return PCDartsSearchBackbone(**args)


def arch_of(net, seed=1):
    torch.manual_seed(seed)
    arch = net.build_arch()
    with torch.no_grad():
        for p in arch.parameters():
            p.normal_(0, 0.5)  # away from uniform: every op and edge weight differs
    return arch


@pytest.mark.parametrize('impl', ['fast', 'reference'])
@pytest.mark.parametrize('size', [(64, 64), (67, 61)])
def test_stages_channels_and_strides_at_detection_sizes(impl, size):
    net = backbone(impl=impl).train()
    arch = arch_of(net)
    x = torch.randn(2, 3, *size)
    with net.arch_weights_as(net.arch_weights(arch)):
        outs = net(x)
    assert net.strides == [4, 8, 16, 32] and net.out_channels == [12, 16, 32, 64]
    for out, stride, channels in zip(outs, net.strides, net.out_channels):
        # every stride-2 step rounds up on odd sizes
        want = [math.ceil(s / stride) for s in size]
        assert tuple(out.shape) == (2, channels, *want)


def test_fast_and_reference_trunks_agree():
    fast, ref = backbone(impl='fast'), backbone(impl='reference')
    ref.load_state_dict(fast.state_dict())
    arch = arch_of(fast)
    x = torch.randn(2, 3, 40, 40)
    with fast.arch_weights_as(fast.arch_weights(arch)), ref.arch_weights_as(ref.arch_weights(arch)):
        for a, b in zip(fast(x), ref(x)):
            torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)


def test_outside_a_search_space_the_backbone_says_how_to_use_it():
    with pytest.raises(RuntimeError, match='DetectorSearchSpace.*DartsBackbone'):
        backbone()(torch.randn(1, 3, 32, 32))


@pytest.mark.parametrize('memory', [dict(recompute=True), dict(with_cp=True)])
def test_recomputation_keeps_outputs_gradients_and_statistics(memory):
    plain, saving = backbone(), backbone(**memory)
    saving.load_state_dict(plain.state_dict())
    x = torch.randn(2, 3, 48, 48)
    grads, stats = [], []
    for net in (plain, saving):
        arch = arch_of(net)
        with net.arch_weights_as(net.arch_weights(arch)):
            outs = net(x)
        sum((o * torch.linspace(-1, 1, o.numel()).view_as(o)).sum() for o in outs).backward()
        grads.append([p.grad for p in (*net.parameters(), *arch.parameters())])
        stats.append([b.clone() for b in net.buffers()])
    for a, b in zip(*grads):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-6)
    for a, b in zip(*stats):  # recomputation does not update the running statistics twice
        torch.testing.assert_close(a, b)


def test_space_keeps_the_architecture_out_of_the_detector_and_its_optimizer():
    algo = detector_search(tiny_ssd())
    space = algo.space
    assert isinstance(space.arch, ArchParameters)
    arch_ids = {id(p) for p in space.arch.parameters()}
    assert len(arch_ids) == 4 and not arch_ids & {id(p) for p in space.model.parameters()}
    optim = SearchOptimWrapperConstructor(OPTIM)(algo)
    in_weights = {id(p) for g in optim['weights'].optimizer.param_groups for p in g['params']}
    in_arch = {id(p) for g in optim['arch'].optimizer.param_groups for p in g['params']}
    assert in_weights == {id(p) for p in space.model.parameters()} and in_arch == arch_ids
    assert not any(k.startswith('space.model.') and 'alpha' in k for k in algo.state_dict())


def test_loss_mode_is_the_detectors_loss_and_reaches_alpha_and_beta():
    algo = detector_search(tiny_ssd())
    losses = algo(**det_batch(2), mode='loss')
    assert {'loss_cls', 'loss_bbox'} <= set(losses)
    loss, _ = algo.parse_losses(losses)
    loss.backward()
    for name, p in algo.space.arch.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name
    assert algo.space.backbone._arch_weights is None  # fed for the forward only


def test_predict_runs_the_detector_with_the_architecture_weights():
    algo = detector_search(tiny_ssd()).eval()
    batch = det_batch(2)
    with torch.no_grad():
        out = algo(**batch, mode='predict')
    assert len(out) == 2 and all('bboxes' in r.pred_instances for r in out)


def test_derivation_snapshot_and_cost_come_from_the_backbone():
    algo = detector_search(tiny_ssd(), arch=dict(edge_norm=False),
                           cost=dict(weight=0.5, input_size=64))
    space = algo.space
    assert space.arch.betas_normal is None
    genotype = space.derive()
    assert genotype.filename == 'genotype.json' and len(genotype.normal) == 8
    snap = space.snapshot()
    assert snap['genotype'] == genotype.to_dict() and len(snap['alpha_normal']) == 14
    # the backbone's cells' multiply-adds under alpha, relative to uniform alpha, times the weight:
    # cells of parameter-free ops cost less than uniform ones, cells of 5x5 separable convs more,
    # and the gradient at uniform alpha points from the dear ops to the cheap ones
    arch, primitives = space.arch, space.arch.primitives
    cost = space.cost()
    cost.backward()
    for alphas in (arch.alphas_normal, arch.alphas_reduce):
        grad = alphas.grad.mean(0)
        assert grad[primitives.index('sep_conv_5x5')] > 0 > grad[primitives.index('max_pool_3x3')]
    at = {}
    for op in ('max_pool_3x3', 'sep_conv_5x5'):
        with torch.no_grad():
            for alphas in (arch.alphas_normal, arch.alphas_reduce):
                alphas.zero_()
                alphas[:, primitives.index(op)] = 30.
            at[op] = space.cost().item()
    assert at['max_pool_3x3'] < 0.1 * 0.5 and at['sep_conv_5x5'] > 0.5 * 1.5


def test_max_skips_caps_the_skips_of_the_derived_normal_cell():
    algo = detector_search(tiny_ssd(max_skips=1))
    arch = algo.space.arch
    skip = arch.primitives.index('skip_connect')
    with torch.no_grad():
        arch.alphas_normal[:, skip] = 5.  # every edge prefers skip_connect
    assert [op for op, _ in algo.space.derive().normal].count('skip_connect') == 1
    assert algo.space.snapshot()['genotype'] == algo.space.derive().to_dict()
    with pytest.raises(ValueError, match='max_skips'):
        PCDartsSearchBackbone(max_skips=-1)


BAD = [
    (dict(data_preprocessor=dict(type='DetDataPreprocessor')), ValueError,
     'detector.data_preprocessor.*model.data_preprocessor'),
    (dict(backbone=dict(type='DartsBackbone', genotype='PC_DARTS_image', C=8, layers=3)),
     TypeError, 'detector.backbone: DartsBackbone is not a searchable backbone'),
]


@pytest.mark.parametrize('change, error, match', BAD)
def test_unusable_detector_configs_are_named(change, error, match):
    with pytest.raises(error, match=match):
        detector_search({**tiny_ssd(), **change})


def test_second_order_through_a_detector_matches_autograd_through_the_virtual_step():
    """DARTS' unrolled gradient (exact Hessian-vector product) on SSD's loss equals autograd
    differentiating L_val(w - lr * (dL_train/dw + wd * w), alpha) in alpha: functional_call reaches
    every detector weight, and the backbone takes the architecture weights it is fed."""
    torch.manual_seed(0)
    algo = detector_search(tiny_ssd(), unrolled=True, hvp='exact').double()
    space = algo.space
    with torch.no_grad():
        for p in space.arch.parameters():
            p.normal_(0, 0.5)
    train, val = det_batch(2, seed=1, dtype=torch.float64), det_batch(2, seed=2, dtype=torch.float64)
    lr, wd = 0.05, 3e-2
    opt = OptimWrapper(torch.optim.SGD(space.model.parameters(), lr=lr, weight_decay=wd))
    named = [('model.' + n, p) for n, p in space.model.named_parameters()]
    unrolled_arch_grads(algo._functional_loss, named, algo.arch_parameters(), train, val,
                        opt.optimizer, hvp='exact')
    got = [p.grad.clone() for p in space.arch.parameters()]

    names, params = [n for n, _ in named], [p for _, p in named]
    buffers = {n: b.clone() for n, b in space.named_buffers()}

    def loss(batch, weights):
        out = functional_call(space, {**buffers, **dict(zip(names, weights))},
                              (batch['inputs'], batch['data_samples']), {'mode': 'loss'})
        return algo.parse_losses(out)[0]

    g = torch.autograd.grad(loss(train, params), params, create_graph=True)
    w_prime = [p - lr * (gi + wd * p) for p, gi in zip(params, g)]
    want = torch.autograd.grad(loss(val, w_prime), list(space.arch.parameters()))
    for a, b in zip(got, want):
        torch.testing.assert_close(a, b, rtol=1e-6, atol=1e-9)
    first = torch.autograd.grad(loss(val, params), list(space.arch.parameters()))
    assert any(not torch.allclose(a, b, rtol=1e-3) for a, b in zip(got, first))  # not first order


def test_unrolled_train_step_runs_on_a_detector():
    torch.manual_seed(0)
    algo = detector_search(tiny_ssd(), unrolled=True)
    optim = SearchOptimWrapperConstructor(OPTIM)(algo)
    before = [p.detach().clone() for p in algo.space.arch.parameters()]
    log = algo.train_step(dict(weights=det_batch(2, seed=1), arch=det_batch(2, seed=2)), optim)
    assert torch.isfinite(log['arch_loss']) and {'loss_cls', 'loss_bbox'} <= set(log)
    assert all(not torch.equal(a, p) for a, p in zip(before, algo.space.arch.parameters()))
