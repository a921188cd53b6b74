"""One space for any task: ModelSearchSpace around a SearchClassifier is the classification search;
the deprecated DartsClassifierSpace / SinglePathSpace build exactly it (same tensors after the same
steps), warn, and read checkpoints written before the trunk moved under the model's backbone."""
import pytest
import torch

from nas_backbones.core import DifferentiableSearch, ModelSearchSpace
from nas_backbones.core.optim import SearchOptimWrapperConstructor

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
    algo = DifferentiableSearch(architecture=space)
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
    assert any(k.startswith('architecture.supernet.backbone.cells.') for k in a)


def test_singlepath_alias_is_the_model_space_with_the_l2_term():
    with pytest.warns(FutureWarning, match="SinglePathSpace' is deprecated"):
        old = searched(dict(type='SinglePathSpace', weight_decay=0.,
                            supernet=dict(num_classes=4, blocks=TINY, stem_channels=8, head_channels=32),
                            runtime=dict(metric='flops', input_size=32), warmup_iters=0), SGD, False, 32)
    new = searched(dict(type='ModelSearchSpace',
                        model=dict(type='SearchClassifier', num_classes=4, label_smoothing=0.1,
                                   dropout=0.2, loss_name='loss_cls',
                                   backbone=dict(type='SinglePathSearchBackbone', out_indices=(-1,),
                                                 initialise=False, blocks=TINY, stem_channels=8,
                                                 head_channels=32)),
                        arch=dict(warmup_iters=0),
                        cost=dict(metric='flops', input_size=32, num_classes=4)), SGD, False, 32)
    a, b = old.state_dict(), new.state_dict()
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert old.architecture.snapshot() == new.architecture.snapshot()


def test_a_checkpoint_from_before_the_move_loads_into_the_alias():
    with pytest.warns(FutureWarning):
        algo = searched(dict(type='DartsClassifierSpace', supernet=dict(type='PCDartsSupernet',
                                                                         num_classes=4, **NET)),
                        {**SGD, **ADAM}, True, steps=1)
    state = algo.state_dict()
    before = {(k.replace('architecture.supernet.', 'architecture.supernet.', 1)
               if k.startswith('architecture.supernet.classifier.')
               else k.replace('architecture.supernet.backbone.', 'architecture.supernet.', 1)): v
              for k, v in state.items()}  # the names main wrote
    assert any(k.startswith('architecture.supernet.cells.') for k in before)
    with pytest.warns(FutureWarning):
        fresh = DifferentiableSearch(architecture=dict(type='DartsClassifierSpace', supernet=dict(
            type='PCDartsSupernet', num_classes=4, **NET)))
    fresh.load_state_dict(before, strict=True)
    assert all(torch.equal(v, state[k]) for k, v in fresh.state_dict().items())


def test_a_model_without_a_searchable_backbone_is_named():
    with pytest.raises(TypeError, match='model.architecture.model.backbone: .* is not a searchable'):
        ModelSearchSpace(model=dict(type='SearchClassifier', num_classes=4,
                                    backbone=dict(type='DartsBackbone', genotype='PC_DARTS_image')))
    with pytest.raises(KeyError, match='model.architecture.model: a model config with a backbone'):
        ModelSearchSpace(model=dict(type='SearchClassifier', num_classes=4))
