"""The latency predictor for the Single-Path space: encoding (soft = hard at 0/1 decisions, the runtime
formula's weighting), the tool on a Single-Path config, the predictor as the runtime model (gradient to
the thresholds, refusals), and a short search with it."""
import json

import pytest
import torch
from mmengine.config import Config

from nas_backbones.core.predictor import LatencyPredictor, PredictorError
from nas_backbones.spaces.darts.encoding import DartsEncoding
from nas_backbones.spaces.singlepath import (
    RuntimeModel,
    SinglePathEncoding,
    make_layout,
    random_architecture,
    random_architectures,
)
from nas_backbones.spaces.singlepath.encoding import OPS
from tests.conftest import SP_TINY_BLOCKS, load_tool, sp_runtime, sp_space, sp_train_briefly

NUM_CLASSES = 5  # sp_space()'s classifier, counted in R
LAYOUT = make_layout(SP_TINY_BLOCKS, stem_channels=8, head_channels=32)


def space(**runtime):
    """sp_space() with the runtime model ``runtime`` (5 classes counted in R), or none."""
    torch.manual_seed(0)
    return sp_space(cost=dict(runtime, num_classes=NUM_CLASSES) if runtime else None)


def decisions_of(arch):
    """The 0/1 (d5x5, d100c, d50c) rows of an architecture's searchable layers."""
    return torch.tensor([[float(c.kernel == 5), float(c.expansion == 6), float(not c.skip)]
                         for spec, c in arch.layers() if spec.searchable])


@pytest.fixture(scope='module')
def tool_run(tmp_path_factory):
    """tools/analysis/latency_predictor.py on a tiny Single-Path search config (32 networks, 32 px)."""
    tmp = tmp_path_factory.mktemp('sp_predictor')
    cfg = Config(dict(model=dict(type='DifferentiableSearch', space=dict(
        type='ModelSearchSpace',
        model=dict(type='SearchClassifier', num_classes=NUM_CLASSES,
                   backbone=dict(type='SinglePathSearchBackbone', out_indices=(-1,), blocks=SP_TINY_BLOCKS,
                                 stem_channels=8, head_channels=32)),
        cost=dict(metric='flops', input_size=32, num_classes=NUM_CLASSES)))))
    cfg.dump(str(tmp / 'search.py'))
    out = tmp / 'predictor.json'
    load_tool('tools/analysis/latency_predictor.py').main(
        [str(tmp / 'search.py'), '--out', str(out), '--n', '32', '--repeats', '5', '--clock', 'cpu',
         '--steps', '300'])
    return tmp, out


def test_soft_encoding_of_hard_decisions_is_the_hard_encoding():
    enc = SinglePathEncoding(LAYOUT)
    s = space()
    seen = set()
    for seed in range(6):  # thresholds around the norms: every op turns up
        g = torch.Generator().manual_seed(seed)
        norms = torch.stack([d.norms for d in s.backbone.decisions(s.arch())])
        with torch.no_grad():
            s.arch.thresholds.copy_(norms * 2 * torch.rand(norms.shape, generator=g))
        arch = s.derive()
        seen.update(arch.ops())
        assert torch.equal(enc.of_decisions(s.backbone.decision_tensor(s.arch())), enc.of_architecture(arch))
    assert set(OPS) <= seen
    for a in random_architectures(LAYOUT, 20, seed=1):
        hard = enc.of_architecture(a)
        assert torch.equal(enc.of_decisions(decisions_of(a)), hard)
        assert hard.view(-1, len(OPS)).sum(1).eq(1).all()
    assert random_architectures(LAYOUT, 5, 3) == random_architectures(LAYOUT, 5, 3)
    assert random_architecture(LAYOUT, 3) != random_architecture(LAYOUT, 4)


def test_runtime_formula_is_the_encoding_weighted_by_the_variants_costs():
    """The soft encoding weights the variants as the runtime loss does: R = const + enc . cost."""
    rm = RuntimeModel(LAYOUT, 32, metric='flops', num_classes=5)
    enc = SinglePathEncoding(LAYOUT)
    k3e3, k3e6, k5e3, k5e6 = rm.costs.unbind(1)
    per_op = torch.stack([k3e6 / k5e6 * k5e3, k3e6, k5e3, k5e6, torch.zeros_like(k5e6)], 1)
    for seed in range(3):
        d = torch.rand(enc.layers, 3, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
        d[~torch.tensor([s.residual for s in LAYOUT.searchable]), 2] = 1.  # no shortcut: d50c = 1
        assert float(rm(d)) == pytest.approx(rm.const + float(enc.of_decisions(d) @ per_op.flatten()), rel=1e-9)


def test_tool_fits_and_saves_a_single_path_predictor(tool_run):
    tmp, out = tool_run
    data = json.loads(out.read_text())
    assert data['encoding'] == SinglePathEncoding(LAYOUT).spec() and data['in_features'] == 25
    assert data['measured'] == 32 and data['macro'] == dict(input_size=32) and data['num_classes'] == 5
    assert data['clock'] == 'cpu' and data['device_description']['device'] == 'cpu'
    assert data['accuracy']['holdout']['n'] == 8 and data['accuracy']['train']['n'] == 24
    assert 0 < data['measured_seconds']['min'] <= data['measured_seconds']['max']
    with pytest.raises(PredictorError, match=r"option\(s\) \['C'\] do not apply to a SinglePathSearchBackbone config"):
        load_tool('tools/analysis/latency_predictor.py').main(
            [str(tmp / 'search.py'), '--out', str(tmp / 'x.json'), '--n', '4', '--C', '8'])


def test_predictor_runtime_is_differentiable_in_the_thresholds(tool_run):
    _, path = tool_run
    s = space(metric='predictor', predictor=str(path))
    s.arch.warmup_override = False
    model = s.resource_cost.runtime.predictor
    enc = SinglePathEncoding(LAYOUT)
    with torch.no_grad():  # the hard architecture's prediction, in ms
        assert sp_runtime(s).item() == pytest.approx(
            1e3 * model(enc.of_architecture(s.derive())).item(), rel=1e-5)
    s.cost().backward()
    g = s.arch.thresholds.grad
    assert g is not None and (g[:, :2] != 0).all()  # every layer's kernel and expansion threshold
    residual = torch.tensor([spec.residual for spec in LAYOUT.searchable])
    assert (g[residual, 2] != 0).all() and (g[~residual, 2] == 0).all()  # skip only with a shortcut
    assert all(p.grad is None for p in model.parameters())
    names = [n for n, _ in s.named_parameters()] + list(s.state_dict())
    assert not any('mlp' in n or 'predictor' in n for n in names)  # neither searched nor checkpointed
    assert 'layer_runtimes' not in s.snapshot() and s.snapshot()['runtime_unit'] == 'ms'


def test_other_predictors_are_refused_naming_file_and_field(tool_run, tmp_path):
    _, path = tool_run
    darts = tmp_path / 'darts.json'
    enc = DartsEncoding()
    LatencyPredictor(enc.size, encoding=enc.spec(), meta=dict(macro=dict(input_size=32))).save(darts)
    with pytest.raises(PredictorError, match=r'"encoding\.space" is \'darts\', this search needs \'singlepath\'') as e:
        space(metric='predictor', predictor=str(darts))
    assert str(darts) in str(e.value)
    data = json.loads(path.read_text())
    for change, match in ((lambda d: d['encoding']['layout'].update(width_mult=2.0), r'"encoding\.layout" is'),
                          (lambda d: d['encoding'].update(version=0), r'"encoding\.version" is 0'),
                          (lambda d: d['encoding'].update(ops=list(OPS[:4])), r'"encoding\.ops" is'),
                          (lambda d: d['layers'][0].update(weight=[[0.]]), r'"layers\[0\]\.weight": shape')):
        bad = json.loads(json.dumps(data))
        change(bad)
        (tmp_path / 'bad.json').write_text(json.dumps(bad))
        with pytest.raises(PredictorError, match=match) as e:
            space(metric='predictor', predictor=str(tmp_path / 'bad.json'))
        assert str(tmp_path / 'bad.json') in str(e.value)
    with pytest.raises(PredictorError, match=rf'latency predictor {path}\): input_size=64 is outside'):
        space(metric='predictor', predictor=str(path), input_size=64)
    with pytest.raises(PredictorError, match=r'"encoding\.layout" is'):  # a supernet of another width
        sp_space(backbone=dict(width_mult=2.0),
                 cost=dict(metric='predictor', predictor=str(path), num_classes=NUM_CLASSES))
    with pytest.raises(ValueError, match=r"metric='predictor' takes a predictor file"):
        space(metric='predictor')
    with pytest.raises(FileNotFoundError, match='latency predictor file not found'):
        space(metric='predictor', predictor=str(tmp_path / 'missing.json'))


@pytest.fixture(scope='module')
def flops_predictor(tmp_path_factory):
    """A predictor fitted on the runtime model's multiply-adds of 64 random architectures (as if seconds):
    a target without timing noise, so the search below does not depend on a loaded machine."""
    rm = RuntimeModel(LAYOUT, 32, metric='flops', num_classes=5)
    enc = SinglePathEncoding(LAYOUT)
    archs = random_architectures(LAYOUT, 64, seed=2)
    X = torch.stack([enc.of_architecture(a) for a in archs])
    y = torch.tensor([float(rm(decisions_of(a).double())) * 1e-6 for a in archs])
    model = LatencyPredictor.fit(X, y, steps=300, encoding=enc.spec(),
                                 meta=dict(macro=dict(input_size=32), macro_range={'input_size': [32, 32]}))
    path = tmp_path_factory.mktemp('sp_flops') / 'predictor.json'
    model.save(path)
    return path


def short_search(path, runtime_lambda, steps=20):
    torch.manual_seed(0)
    s = sp_space(cost=dict(metric='predictor', predictor=str(path), num_classes=NUM_CLASSES,
                           runtime_lambda=runtime_lambda))
    start = sp_runtime(s).item()
    sp_train_briefly(s, steps)
    return start, sp_runtime(s).item()


def test_short_search_with_a_predictor_latency_weight_lowers_predicted_latency(flops_predictor):
    path = flops_predictor
    start, plain = short_search(path, 0.)
    _, weighted = short_search(path, 0.02)
    assert weighted < start and weighted < plain
