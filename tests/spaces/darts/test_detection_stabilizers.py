"""The DARTS stabilisers and P-DARTS' skip cap in a detection search: the detector space takes them
from the family's architecture parameters, as the classifier space does (spaces/darts/arch.py)."""
import pytest
import torch
from mmengine.logging import MessageHub

from nas_backbones.core.optim import SearchOptimWrapperConstructor
from nas_backbones.spaces.darts import DEFAULT_PRIMITIVES
from nas_backbones.spaces.darts.stabilizers import beta_decay_loss
from tests.conftest import det_batch, detector_search, tiny_ssd

SKIP = DEFAULT_PRIMITIVES.index('skip_connect')
OPTIM = dict(weights=dict(optimizer=dict(type='SGD', lr=0.05, momentum=0.9)),
             arch=dict(optimizer=dict(type='Adam', lr=6e-3, betas=(0.5, 0.999))))


def make(arch=None, cost=None, **backbone):
    torch.manual_seed(0)
    algo = detector_search(tiny_ssd(**backbone), arch=arch, cost=cost)
    return algo, SearchOptimWrapperConstructor(OPTIM)(algo)


def progress(epoch, max_epochs=4):
    """The search at ``epoch`` of ``max_epochs``, in this module's own message hub (made current)."""
    hub = MessageHub.get_instance('test_detection_stabilizers')
    hub.update_info('epoch', epoch)
    hub.update_info('max_epochs', max_epochs)


def skips(genes):
    return sum(op == 'skip_connect' for op, _ in genes)


def test_beta_decay_and_max_skips_search_and_derive_within_the_cap():
    algo, optim = make(arch=dict(beta_decay=dict(weight=2.)), max_skips=1)
    space = algo.space
    with torch.no_grad():
        space.arch.alphas_normal[:, SKIP] += 1.  # skip leads everywhere: the collapse the cap stops
    assert skips(space.arch.genotype().normal) > 1
    progress(2)
    alphas = [space.arch.alphas_normal, space.arch.alphas_reduce]
    assert space.cost().item() == pytest.approx(beta_decay_loss(alphas, 2. * 2 / 4).item())
    a0 = space.arch.alphas_normal.detach().clone()
    for i in range(2):
        log = algo.train_step(dict(weights=det_batch(2, seed=i), arch=det_batch(2, seed=10 + i)), optim)
        assert torch.isfinite(log['cost']) and torch.isfinite(log['arch_loss'])
    assert not torch.equal(space.arch.alphas_normal, a0)
    assert skips(space.derive().normal) == 1
    assert space.snapshot()['genotype'] == space.derive().to_dict()


def test_beta_decay_changes_the_architecture_step_of_a_detector():
    grads = []
    for arch in (None, dict(beta_decay=dict(weight=5.))):
        algo, optim = make(arch=arch)
        progress(3)
        algo._arch_step(algo, det_batch(2), det_batch(2, seed=1), optim['weights'], optim['arch'], {})
        grads.append(algo.space.arch.alphas_normal.detach().clone())
    assert not torch.equal(*grads)


def test_perturbation_is_only_inside_the_weight_step():
    algo, _ = make(arch=dict(perturb=dict(epsilon=0.03)))
    space = algo.space
    bb, clean = space.backbone, space.arch()
    with space.weight_step():
        noisy, _ = bb.arch_weights(space.arch)
    for r, (w, _) in clean.items():
        assert not torch.equal(noisy[r][0], w)
        assert (noisy[r][0] - w).abs().max() <= 0.03 + 1e-7
        assert not noisy[r][0].requires_grad  # the weight step does not train alpha
    outside, _ = bb.arch_weights(space.arch)
    assert all(torch.equal(outside[r][0], clean[r][0]) for r in clean)


def test_aux_skip_weight_reaches_the_cells_and_needs_cells_built_for_it():
    with pytest.raises(ValueError, match=r'set aux_skip=True on the searchable backbone \(model.space.detector'):
        make(arch=dict(aux_skip=dict(start=1.)))
    algo, _ = make(arch=dict(aux_skip=dict(start=1.)), aux_skip=True)
    space = algo.space.eval()
    x = det_batch(1)['inputs']
    feats = []
    for epoch in (0, 4):  # weight 1 at the start, 0 at the end of the search
        progress(epoch)
        assert space.backbone.arch_weights(space.arch)[1] == 1. - epoch / 4
        with torch.no_grad():
            feats.append(space.tensor(x))
    assert not torch.equal(feats[0][0][0], feats[1][0][0])


def test_fair_darts_runs_on_sigmoid_weights_with_its_zero_one_loss():
    algo, _ = make(arch=dict(fair_darts=dict(zero_one=10.)))
    space = algo.space
    assert space.arch.relaxation == 'sigmoid'
    w, _ = space.backbone.arch_weights(space.arch)[0][False]
    assert torch.allclose(w, space.arch.alphas_normal.sigmoid())
    assert space.cost() is not None and space.cost().requires_grad


def test_max_skips_is_given_once_and_validated_in_one_place():
    with pytest.raises(ValueError, match='max_skips: given in both'):
        make(arch=dict(max_skips=1), max_skips=2)
    for where in (dict(arch=dict(max_skips=-1)), dict(max_skips=-1)):
        with pytest.raises(ValueError, match='max_skips must be None or an integer >= 0, got -1'):
            make(**where)
    algo, _ = make(arch=dict(max_skips=0))
    assert algo.space.arch.max_skips == 0 and skips(algo.derive().normal) == 0
