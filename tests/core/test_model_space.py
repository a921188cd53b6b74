"""One space for any task: ModelSearchSpace around a SearchClassifier is the classification search;
the deprecated DartsClassifierSpace / SinglePathSpace build exactly it (same tensors after the same
steps), warn, and read checkpoints written before the trunk moved under the model's backbone. The
names of before (``model.architecture``, ``space.supernet``) still build and load, with a warning."""
import pytest
import torch

from nas_backbones.core import DifferentiableSearch, ModelSearchSpace
from nas_backbones.core.algorithm import renamed_key, space_config
from nas_backbones.core.optim import SearchOptimWrapperConstructor
from nas_backbones.engine.checkpoints import state_mismatch

SGD = dict(weights=dict(optimizer=dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=3e-4)))
ADAM = dict(arch=dict(optimizer=dict(type='Adam', lr=6e-3, betas=(0.5, 0.999), weight_decay=1e-3)))
NET = dict(C=8, layers=3, stem='cifar', partial_k=2)
TINY = [dict(channels=8, repeats=1, stride=1, searchable=False, kernel=3, expansion=1, residual=False),
        dict(channels=16, repeats=2, stride=2), dict(channels=24, repeats=2, stride=2)]


def batch(seed, size=16):
    g = torch.Generator().manual_seed(seed)
    return {'inputs': torch.randn(4, 3, size, size, generator=g),
            'data_samples': torch.randint(0, 4, (4,), generator=g)}


def searched(space: dict, optim: dict, bilevel: bool, size=16, steps=2):
    torch.manual_seed(0)
    algo = DifferentiableSearch(space=space)
    wrappers = SearchOptimWrapperConstructor(optim)(algo)
    for i in range(steps):
        algo.train_step(dict(weights=batch(i, size), arch=batch(50 + i, size) if bilevel else None),
                        wrappers)
    return algo


def test_darts_alias_is_the_model_space_around_the_search_classifier():
    with pytest.warns(FutureWarning, match="DartsClassifierSpace' is deprecated.*ModelSearchSpace"):
        old = searched(dict(type='DartsClassifierSpace', supernet=dict(type='PCDartsSupernet',
                                                                        num_classes=4, **NET),
                            max_skips=1, beta_decay=dict(weight=1.)), {**SGD, **ADAM}, True)
    new = searched(dict(type='ModelSearchSpace',
                        model=dict(type='SearchClassifier', num_classes=4,
                                   backbone=dict(type='PCDartsSearchBackbone', out_indices=(-1,), **NET)),
                        arch=dict(max_skips=1, beta_decay=dict(weight=1.))), {**SGD, **ADAM}, True)
    a, b = old.state_dict(), new.state_dict()
    assert a.keys() == b.keys()
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert old.derive() == new.derive()
    assert any(k.startswith('space.model.backbone.cells.') for k in a)


def test_singlepath_alias_is_the_model_space_with_the_l2_term():
    with pytest.warns(FutureWarning, match="SinglePathSpace' is deprecated"):
        old = searched(dict(type='SinglePathSpace', weight_decay=1e-2,
                            supernet=dict(num_classes=4, blocks=TINY, stem_channels=8, head_channels=32),
                            runtime=dict(metric='flops', input_size=32), warmup_iters=0), SGD, False, 32)
    space = dict(type='ModelSearchSpace',
                 model=dict(type='SearchClassifier', num_classes=4, label_smoothing=0.1,
                            dropout=0.2, loss_name='loss_cls',
                            backbone=dict(type='SinglePathSearchBackbone', out_indices=(-1,),
                                          initialise=False, blocks=TINY, stem_channels=8,
                                          head_channels=32)),
                 arch=dict(warmup_iters=0, weight_decay=1e-2),
                 cost=dict(metric='flops', input_size=32, num_classes=4))
    new = searched(space, SGD, False, 32)
    a, b = old.state_dict(), new.state_dict()
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert old.space.snapshot() == new.space.snapshot()
    losses = new.space.loss(batch(0, 32)['inputs'], batch(0, 32)['data_samples'])
    assert list(losses) == ['loss_cls', 'acc', 'loss_wd', 'runtime'] and losses['loss_wd'] > 0
    without = searched(dict(space, arch=dict(warmup_iters=0)), SGD, False, 32)  # no L2 term
    assert 'loss_wd' not in without.space.loss(batch(0, 32)['inputs'], batch(0, 32)['data_samples'])
    assert not torch.equal(without.space.arch.thresholds, new.space.arch.thresholds)


def as_written_before(state: dict, moved: bool = True) -> dict:
    """``state`` under the names main wrote before the renames (``architecture.``, ``supernet.``) and,
    without ``moved``, before the trunk moved under the model's backbone."""
    def old(k: str) -> str:
        k = 'architecture.' + k[len('space.'):]
        k = k.replace('architecture.model.', 'architecture.supernet.', 1)
        return k if moved else k.replace('architecture.supernet.backbone.', 'architecture.supernet.', 1)
    return {old(k): v for k, v in state.items()}


def test_a_darts_checkpoint_from_before_the_move_loads_into_the_darts_alias():
    with pytest.warns(FutureWarning):
        algo = searched(dict(type='DartsClassifierSpace', supernet=dict(type='PCDartsSupernet',
                                                                         num_classes=4, **NET)),
                        {**SGD, **ADAM}, True, steps=1)
    state = algo.state_dict()
    before = as_written_before(state, moved=False)
    assert any(k.startswith('architecture.supernet.cells.') for k in before)
    assert any(k.startswith('architecture.supernet.classifier.') for k in before)
    with pytest.warns(FutureWarning):
        fresh = DifferentiableSearch(space=dict(type='DartsClassifierSpace', supernet=dict(
            type='PCDartsSupernet', num_classes=4, **NET)))
    assert state_mismatch(before, fresh) is None  # what --resume checks first
    fresh.load_state_dict(before, strict=True)
    assert all(torch.equal(v, state[k]) for k, v in fresh.state_dict().items())



def test_a_singlepath_checkpoint_from_before_the_move_loads_into_the_singlepath_alias():
    old = dict(type='SinglePathSpace', supernet=dict(num_classes=4, blocks=TINY, stem_channels=8,
                                                      head_channels=32),
               runtime=dict(metric='flops', input_size=32), warmup_iters=0)
    with pytest.warns(FutureWarning, match="SinglePathSpace' is deprecated"):
        algo = searched(old, SGD, False, 32, steps=1)
    state = algo.state_dict()
    before = as_written_before(state, moved=False)
    assert any(k.startswith('architecture.supernet.layers.') for k in before)
    assert any(k.startswith('architecture.supernet.classifier.') for k in before)
    with pytest.warns(FutureWarning, match="SinglePathSpace' is deprecated"):
        fresh = DifferentiableSearch(space=old)
    assert state_mismatch(before, fresh) is None  # what --resume checks first
    fresh.load_state_dict(before, strict=True)
    assert all(torch.equal(v, state[k]) for k, v in fresh.state_dict().items())

SPACE = dict(type='ModelSearchSpace',
             model=dict(type='SearchClassifier', num_classes=4,
                        backbone=dict(type='PCDartsSearchBackbone', out_indices=(-1,), **NET)))


def test_a_checkpoint_with_the_old_names_loads_into_the_new_names():
    """A search checkpoint written before the renames (``architecture.supernet.backbone...``,
    ``architecture.arch...``) resumes: --resume's check and the load map its keys."""
    state = searched(SPACE, {**SGD, **ADAM}, True, steps=1).state_dict()
    before = as_written_before(state)
    assert {k.split('.')[0] for k in before} == {'architecture'}
    assert any(k.startswith('architecture.supernet.backbone.cells.') for k in before)
    assert {renamed_key(k) for k in before} == set(state)
    torch.manual_seed(1)  # other weights, so that loading shows
    fresh = DifferentiableSearch(space=SPACE)
    assert state_mismatch(before, fresh) is None
    assert 'not in the model' in state_mismatch({'architecture.extra': state['space.arch.alphas_normal']},
                                                 fresh)
    fresh.load_state_dict(before, strict=True)
    after = fresh.state_dict()
    assert after.keys() == state.keys() and all(torch.equal(after[k], state[k]) for k in state)


def test_the_old_config_key_and_attributes_warn_and_still_work():
    with pytest.warns(FutureWarning, match='model.architecture is deprecated.*write model.space'):
        old = DifferentiableSearch(architecture=SPACE)
    assert isinstance(old.space, ModelSearchSpace)
    with pytest.warns(FutureWarning, match=r'\.architecture is deprecated: use \.space'):
        assert old.architecture is old.space
    with pytest.warns(FutureWarning, match=r'\.supernet is deprecated: use \.model'):
        assert old.space.supernet is old.space.model
    with pytest.raises(ValueError, match='both space and architecture'):
        DifferentiableSearch(space=SPACE, architecture=SPACE)
    with pytest.raises(TypeError, match='model.space .* is missing'):
        DifferentiableSearch()
    with pytest.warns(FutureWarning, match='model.architecture is deprecated'):
        assert space_config(dict(architecture=SPACE)) is SPACE
    assert space_config(dict(space=SPACE)) is SPACE and space_config(dict(type='x')) is None


def test_a_model_without_a_searchable_backbone_is_named():
    with pytest.raises(TypeError, match='model.space.model.backbone: .* is not a searchable'):
        ModelSearchSpace(model=dict(type='SearchClassifier', num_classes=4,
                                    backbone=dict(type='DartsBackbone', genotype='PC_DARTS_image')))
    with pytest.raises(KeyError, match='model.space.model: a model config with a backbone'):
        ModelSearchSpace(model=dict(type='SearchClassifier', num_classes=4))


def test_compare_checkpoints_maps_the_old_prefixes_and_finds_any_difference(tmp_path):
    from benchmarks import compare_checkpoints as cc
    algo = searched(SPACE, {**SGD, **ADAM}, True, steps=1)
    optim = SearchOptimWrapperConstructor({**SGD, **ADAM})(algo)
    new = {'state_dict': algo.state_dict(), 'optimizer': optim.state_dict()}
    old = {'state_dict': as_written_before(new['state_dict']), 'optimizer': optim.state_dict()}
    torch.save(old, tmp_path / 'old.pth')
    torch.save(new, tmp_path / 'new.pth')
    maps = ['--map', 'architecture.=space.', '--map', 'space.supernet.=space.model.']
    assert cc.main([str(tmp_path / 'old.pth'), str(tmp_path / 'new.pth'), *maps]) == 0
    assert cc.main([str(tmp_path / 'old.pth'), str(tmp_path / 'new.pth')]) == 1  # unmapped keys
    changed = dict(new['state_dict'])
    changed['space.arch.alphas_normal'] = changed['space.arch.alphas_normal'] + 1e-7
    problems = cc.compare(old, dict(new, state_dict=changed), [m.split('=') for m in maps[1::2]])
    assert len(problems) == 1 and problems[0].startswith('state_dict.space.arch.alphas_normal: values differ')
    assert cc.compare(new, dict(new, optimizer={'state': {}, 'param_groups': []})) != []
