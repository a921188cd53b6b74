"""Knobs for a detection search's architecture signal, all off by default: the architecture gradient
averaged over several batches, a cost weight normalised by the search's length, and warm-starting
the detection supernet's trunk from a classification search's checkpoint."""
import pytest
import torch
from mmengine.logging import MessageHub
from mmengine.optim import OptimWrapperDict

from nas_backbones.core.optim import SearchOptimWrapperConstructor
from tests.conftest import darts_search, detector_search, run_tiny_search, tiny_ssd

OPTIM = dict(weights=dict(optimizer=dict(type='SGD', lr=0.1, momentum=0.9)),
             arch=dict(optimizer=dict(type='SGD', lr=0.1)))
NET = dict(type='PCDartsSupernet', num_classes=4, C=8, layers=3, stem='cifar', partial_k=2)


def make(**kwargs):
    torch.manual_seed(0)
    algo = darts_search(supernet=NET, **kwargs)
    return algo, SearchOptimWrapperConstructor(OPTIM)(algo)


def batch(seed):
    g = torch.Generator().manual_seed(seed)
    return {'inputs': torch.randn(4, 3, 16, 16, generator=g),
            'data_samples': torch.randint(0, 4, (4,), generator=g)}


def arch_grads(algo, b):
    loss, _ = algo.loss_of(algo, b)
    return torch.autograd.grad(loss, algo.arch_parameters())


def test_arch_gradient_is_the_mean_over_the_arch_batches_and_weights_stay_untouched():
    algo, optim = make()
    assert isinstance(optim, OptimWrapperDict)
    ref, _ = make()
    ref.load_state_dict(algo.state_dict())
    expected = [(a + b) / 2 for a, b in zip(arch_grads(ref, batch(2)), arch_grads(ref, batch(3)))]
    weights_before = [p.detach().clone() for p in algo.weight_parameters()]
    seen = {}
    opt = optim['arch'].optimizer
    step = opt.step

    def spy(*a, **k):  # what the architecture optimizer steps on, and the weights at that moment
        seen['grads'] = [p.grad.clone() for p in algo.arch_parameters()]
        seen['weight_grads'] = [p.grad for p in algo.weight_parameters()]
        seen['weights'] = [p.detach().clone() for p in algo.weight_parameters()]
        return step(*a, **k)
    opt.step = spy
    log = algo.train_step({'weights': batch(1), 'arch': [batch(2), batch(3)]}, optim)
    for got, want in zip(seen['grads'], expected):
        torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-7)
    assert all(g is None for g in seen['weight_grads'])  # no weight gradient in the arch phase
    assert all(torch.equal(a, b) for a, b in zip(seen['weights'], weights_before))
    single = [arch_grads(ref, batch(2))[0]]
    assert not torch.allclose(seen['grads'][0], single[0])  # not just the first batch's
    assert 'arch_loss' in log


def test_arch_batches_with_a_cost_term_add_it_once():
    cost = dict(weight=0.5, input_size=16)
    algo, optim = make(cost=cost)
    ref, _ = make(cost=cost)
    ref.load_state_dict(algo.state_dict())
    task = [(a + b) / 2 for a, b in zip(arch_grads(ref, batch(2)), arch_grads(ref, batch(3)))]
    cost_grads = torch.autograd.grad(ref.space.cost(), ref.arch_parameters(), allow_unused=True)
    seen = {}
    opt = optim['arch'].optimizer
    step = opt.step
    opt.step = lambda *a, **k: (seen.setdefault('g', [p.grad.clone() for p in algo.arch_parameters()]),
                                step(*a, **k))[1]
    algo.train_step({'weights': batch(1), 'arch': [batch(2), batch(3)]}, optim)
    for got, t, c in zip(seen['g'], task, cost_grads):
        torch.testing.assert_close(got, t + (0 if c is None else c), rtol=1e-5, atol=1e-7)


def test_second_order_refuses_several_arch_batches():
    algo, optim = make(unrolled=True)
    with pytest.raises(ValueError, match='arch_batches=2: .*first order only'):
        algo.train_step({'weights': batch(1), 'arch': [batch(2), batch(3)]}, optim)


def test_search_loop_draws_arch_batches_per_step(tmp_path):
    history, _, runner = run_tiny_search(tmp_path, epochs=2, warmup=1, arch_batches=2)
    assert history[-1]['arch_steps'] == 4  # one step per weight batch after the warm-up
    # 8 steps' worth of batches from the 4-batch architecture split: two passes, the second done
    assert runner.message_hub.get_info('arch_loader') == dict(epoch=1, consumed=4)
    assert runner.message_hub.get_info('arch_steps_planned') == 4
    with pytest.raises(ValueError, match='arch_batches must be an integer >= 1, got 0'):
        run_tiny_search(tmp_path / 'bad', epochs=1, warmup=0, arch_batches=0)


def test_cost_weight_normalised_by_the_search_length():
    from nas_backbones.spaces.darts.cost import ResourceCost
    algo, _ = make()
    space = algo.space
    plain = ResourceCost(space.backbone, weight=0.1, input_size=16)
    scaled = ResourceCost(space.backbone, weight=0.1, input_size=16, reference_steps=18)
    hub = MessageHub.get_current_instance()
    hub.update_info('arch_steps_planned', 36)
    assert scaled.current_weight() == pytest.approx(0.05)
    torch.testing.assert_close(scaled(space.arch), plain(space.arch) / 2)
    hub.update_info('arch_steps_planned', 9)
    torch.testing.assert_close(scaled(space.arch), plain(space.arch) * 2)
    hub.update_info('arch_steps_planned', None)
    with pytest.raises(RuntimeError, match='SearchLoop states when it starts'):
        scaled(space.arch)
    with pytest.raises(ValueError, match='reference_steps must be None or an integer >= 1'):
        ResourceCost(space.backbone, weight=0.1, input_size=16, reference_steps=0)


# ------------------------------------------------------------------------------ warm start
def classification_checkpoint(path, C=4, layers=3):
    """A classification search's checkpoint of the trunk tiny_ssd's backbone has; alpha set to 0.7."""
    torch.manual_seed(1)
    algo = darts_search(supernet=dict(type='PCDartsSupernet', num_classes=5, C=C, layers=layers,
                                      partial_k=2))
    algo.train()
    with torch.no_grad():
        algo.space.arch.alphas_normal.fill_(0.7)
        algo(torch.randn(2, 3, 64, 64), torch.tensor([0, 1]), mode='loss')  # BN statistics move
    torch.save({'state_dict': algo.state_dict(), 'meta': {}}, path)
    return algo


def test_warm_started_trunk_has_the_classification_search_weights_and_not_its_alpha(tmp_path):
    ckpt = tmp_path / 'search.pth'
    cls = classification_checkpoint(ckpt)
    det = detector_search(tiny_ssd(warm_start=dict(checkpoint=str(ckpt), prefix='space.model.')))
    det.init_weights()
    trunk = det.space.backbone.state_dict()
    source = cls.space.backbone.state_dict()  # the trunk: the classifier's backbone
    assert trunk and all(torch.equal(v, source[k]) for k, v in trunk.items())
    assert any('running_mean' in k for k in trunk)  # BatchNorm statistics travel too
    assert not torch.equal(det.space.arch.alphas_normal,
                           cls.space.arch.alphas_normal)  # alpha is the detection search's own
    torch.manual_seed(0)
    scratch = detector_search(tiny_ssd())
    scratch.init_weights()
    assert not all(torch.equal(v, source[k])
                   for k, v in scratch.space.backbone.state_dict().items())


def test_warm_start_names_what_does_not_fit(tmp_path):
    ckpt = tmp_path / 'search.pth'
    classification_checkpoint(ckpt)

    def init(prefix='space.model.', **bb):
        det = detector_search(tiny_ssd(warm_start=dict(checkpoint=str(ckpt), prefix=prefix), **bb))
        det.init_weights()
    with pytest.raises(KeyError, match="no key of .*search.pth starts with prefix 'backbone.'"):
        init('backbone.')
    with pytest.raises(ValueError, match=r"of another shape: cells\.0\..*\(.*in the checkpoint"):
        init(C=8)
    with pytest.raises(ValueError, match=r'missing: cells\.3\.'):
        init(layers=4)
    with pytest.raises(ValueError, match="prefix: expected the key prefix .* ending with '.'"):
        init('space.model')
    with pytest.raises(ValueError, match='warm_start: expected dict\\(checkpoint=PATH'):
        detector_search(tiny_ssd(warm_start=dict(checkpoint=str(ckpt))))
