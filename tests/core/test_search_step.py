"""The bilevel train_step: separate optimizers, gradients cleared between phases."""
import pytest
import torch
from mmengine.optim import OptimWrapperDict

from nas_backbones.core.optim import SearchOptimWrapperConstructor
from tests.conftest import SEARCH_OPTIM, darts_search, image_batch


def make(unrolled=False, cost=None):
    torch.manual_seed(0)
    algo = darts_search(supernet=dict(type='PCDartsSupernet', num_classes=4, C=8, layers=3,
                                     stem='cifar', partial_k=2), unrolled=unrolled, cost=cost)
    return algo, SearchOptimWrapperConstructor(SEARCH_OPTIM)(algo)


def test_constructor_gives_disjoint_optimizers():
    algo, optim = make()
    assert isinstance(optim, OptimWrapperDict)
    w = {id(p) for g in optim['weights'].optimizer.param_groups for p in g['params']}
    a = {id(p) for g in optim['arch'].optimizer.param_groups for p in g['params']}
    assert a == {id(p) for p in algo.arch_parameters()}
    assert w == {id(p) for p in algo.weight_parameters()}
    assert isinstance(optim['arch'].optimizer, torch.optim.Adam)
    assert optim['arch'].optimizer.defaults['betas'] == (0.5, 0.999)


def test_constructor_names_missing_wrapper():
    with pytest.raises(KeyError, match="needs a 'weights' entry"):
        SearchOptimWrapperConstructor(dict(arch=SEARCH_OPTIM['arch']))


def test_one_level_search_steps_weights_and_architecture_together():
    """No 'arch' wrapper (Single-Path NAS' recipe): one optimizer, one loss with the cost term."""
    algo, _ = make(cost=dict(weight=0.5, input_size=16))
    optim = SearchOptimWrapperConstructor(dict(weights=SEARCH_OPTIM['weights']))(algo)
    params = {id(p) for g in optim['weights'].optimizer.param_groups for p in g['params']}
    assert params == {id(p) for p in algo.parameters()}
    before = [p.detach().clone() for p in algo.arch_parameters()]
    w_before = [p.detach().clone() for p in algo.weight_parameters()]
    log = algo.train_step({'weights': image_batch(1), 'arch': None}, optim)
    assert 'cost' in log and 'arch_loss' not in log
    assert all(not torch.equal(a, b) for a, b in zip(algo.arch_parameters(), before))
    assert any(not torch.equal(a, b) for a, b in zip(algo.weight_parameters(), w_before))
    # the cost's gradient reached alpha in that one step: without it alpha moves differently
    algo2, _ = make()
    optim2 = SearchOptimWrapperConstructor(dict(weights=SEARCH_OPTIM['weights']))(algo2)
    algo2.train_step({'weights': image_batch(1), 'arch': None}, optim2)
    assert not torch.equal(algo.arch_parameters()[0], algo2.arch_parameters()[0])
    with pytest.raises(ValueError, match="no 'arch' entry \\(one-level search\\)"):
        algo.train_step({'weights': image_batch(1), 'arch': image_batch(2)}, optim)


def spy_grads(optim_wrapper):
    """Record the gradients an optimizer steps on."""
    opt = optim_wrapper.optimizer
    seen, step = [], opt.step

    def wrapped(*a, **k):
        seen.append([p.grad.clone() for g in opt.param_groups for p in g['params']])
        return step(*a, **k)
    opt.step = wrapped
    return seen


def test_each_phase_steps_on_its_own_clean_gradients():
    algo, optim = make()
    ref, _ = make()
    ref.load_state_dict(algo.state_dict())
    a_batch, w_batch = image_batch(1), image_batch(2)
    # The gradients each phase should see, computed on a clean copy.
    ref.zero_all_grads()
    ref.loss_of(ref, ref.data_preprocessor(a_batch, True))[0].backward()
    clean_arch = [p.grad.clone() for p in ref.arch_parameters()]

    seen_arch, seen_w = spy_grads(optim['arch']), spy_grads(optim['weights'])
    for p in algo.parameters():  # stale gradients, as a previous iteration might leave
        p.grad = torch.ones_like(p)
    algo.train_step({'weights': w_batch, 'arch': a_batch}, optim)
    for got, want in zip(seen_arch[0], clean_arch):
        torch.testing.assert_close(got, want)
    # The weight step's gradients are checked exactly by the next test.
    assert len(seen_w) == 1 and len(seen_w[0]) == len(algo.weight_parameters())
    assert all(p.grad is None for p in algo.parameters()), 'gradients left behind after the step'


def test_weight_step_equals_a_clean_sgd_step():
    """Stale arch-phase gradients must not leak into the weight update."""
    algo, optim = make()
    ref, ref_optim = make()
    ref.load_state_dict(algo.state_dict())
    a_batch, w_batch = image_batch(1), image_batch(2)
    algo.train_step({'weights': w_batch, 'arch': a_batch}, optim)
    # Reference: the same arch update, then a weight step computed from scratch.
    ref.zero_all_grads()
    ref_optim['arch'].update_params(ref.loss_of(ref, ref.data_preprocessor(a_batch, True))[0])
    ref.zero_all_grads()
    ref_optim['weights'].update_params(ref.loss_of(ref, ref.data_preprocessor(w_batch, True))[0])
    for (n, p), q in zip(algo.named_parameters(), ref.parameters()):
        torch.testing.assert_close(p, q, msg=n)


def test_no_arch_batch_means_alpha_stays_frozen():
    algo, optim = make()
    before = [p.detach().clone() for p in algo.arch_parameters()]
    w_before = [p.detach().clone() for p in algo.weight_parameters()]
    log = algo.train_step({'weights': image_batch(1), 'arch': None}, optim)
    assert 'arch_loss' not in log
    for p, b in zip(algo.arch_parameters(), before):
        assert torch.equal(p, b)
    assert any(not torch.equal(p, b) for p, b in zip(algo.weight_parameters(), w_before))


def test_arch_step_moves_alpha_and_beta():
    algo, optim = make()
    before = [p.detach().clone() for p in algo.arch_parameters()]
    log = algo.train_step({'weights': image_batch(1), 'arch': image_batch(2)}, optim)
    assert 'arch_loss' in log
    for p, b in zip(algo.arch_parameters(), before):
        assert not torch.equal(p, b)
