"""The learned latency predictor: fit, file, checks, and as a differentiable search cost (metric='predictor')."""
import json
import random

import pytest
import torch

from nas_backbones.core.predictor import (
    LatencyPredictor,
    PredictorError,
    fit_with_holdout,
    measure_latency,
    relative_errors,
)
from nas_backbones.spaces.darts import node_softmax
from nas_backbones.spaces.darts.encoding import DartsEncoding, network_of, sample_networks
from nas_backbones.spaces.darts.sample import random_genotype
from nas_backbones.spaces.darts.topology import node_edge_ranges
from tests.conftest import darts_search

STAGE_CELLS = [1, 0, 0]  # the 3-cell supernet below: reductions at cells 1 and 2


@pytest.fixture(scope='module')
def measured_predictor(tmp_path_factory):
    """A predictor fitted on really measured tiny networks (C=4, 3 cells, 16x16), saved to a file."""
    enc = DartsEncoding()
    samples = sample_networks(16, 0, [4], [16], [[n] for n in STAGE_CELLS])
    X = torch.stack([enc.of_network(s['genotypes'], 4, 16, STAGE_CELLS) for s in samples])
    y = torch.tensor([measure_latency(network_of(s, num_classes=4), (3, 16, 16), repeats=5) for s in samples])
    model = LatencyPredictor.fit(X, y, steps=300, encoding=enc.spec(),
                                 meta=dict(macro=dict(C=4, input_size=16, stage_cells=STAGE_CELLS),
                                           macro_range={'C': [4, 4], 'input_size': [16, 16]}))
    path = tmp_path_factory.mktemp('predictor') / 'predictor.json'
    model.save(path)
    torch.save(dict(X=X, y=y), path.with_name('samples.pt'))  # what it was fitted on
    return path


def search(predictor, weight=1.0, **cost):
    torch.manual_seed(0)
    return darts_search(supernet=dict(type='PCDartsSupernet', num_classes=4, C=4, layers=3),
                        cost=dict(weight=weight, metric='predictor', predictor=str(predictor), **cost))


def test_one_hot_weights_encode_as_the_genotype():
    enc = DartsEncoding()
    g = random_genotype(random.Random(3))
    one_hot = []
    for r in (False, True):  # alpha and beta that pick exactly the genotype's genes
        a = torch.full((enc.edges, 8), -100.)
        b = torch.full((enc.edges,), -100.)
        for i, (start, _) in enumerate(node_edge_ranges(4)):
            for op, j in g.genes(r)[2 * i:2 * i + 2]:
                a[start + j, enc.primitives.index(op)] = 100.
                b[start + j] = 100.
        one_hot.append(enc.soft_block(torch.softmax(a, -1), node_softmax(b, 4)))
    hard = [enc.hard_block(g, False), enc.hard_block(g, True)]
    for soft, h in zip(one_hot, hard):
        assert torch.allclose(soft, h, atol=1e-5) and h.sum() == 8  # two genes per node
    feats = enc.of_network([g] * 3, 16, 64, [2, 1, 1])
    assert feats.shape == (enc.size,) and feats[-5:].tolist() == [16., 64., 2., 1., 1.]
    O = len(enc.primitives)
    sums = feats[:-5].view(3, 2, 2, O)  # stage, cell kind, edge class (reads a cell input or not), op
    assert sums[0, 1].sum() == 0  # stage 1 has no reduction cell
    assert torch.equal(sums[0, 0], 2 * sums[1, 0]) and torch.equal(sums[1], sums[2])  # 2 normal cells
    for kind, r in enumerate((False, True)):
        inputs = torch.zeros(O)
        for op, j in g.genes(r):
            inputs[enc.primitives.index(op)] += j < 2
        assert torch.equal(sums[1, kind, 0], inputs) and sums[1, kind].sum() == 8
    per_edge = DartsEncoding(per_edge=True)
    wide = per_edge.of_network([g] * 3, 16, 64, [2, 1, 1])
    assert wide.shape == (per_edge.size,) and torch.equal(wide[-feats.numel():], feats)
    assert torch.equal(wide[2 * per_edge.block:3 * per_edge.block].view(enc.edges, O), hard[0])


def test_fit_learns_a_latency_that_is_not_a_sum_of_op_costs():
    """Per-op costs by stage, cell kind and edge, a per-call overhead and a saturating term: held out,
    the fit is within 8% and three times as close as the best constant."""
    enc = DartsEncoding()
    g = torch.Generator().manual_seed(0)
    samples = sample_networks(160, 1, [8], [32], [[1], [1], [1]])
    X = torch.stack([enc.of_network(s['genotypes'], s['C'], s['input_size'], s['stage_cells'])
                     for s in samples])
    counts = X[:, :4 * enc.stages * 8]  # the per-op sums per stage, cell kind and edge class
    # ms per op: convolutions dear, pools and skips cheap; by stage and edge class within +-30%
    per_op = torch.tensor([0., .05, .05, .02, 1., 2., .6, 1.2]) * 1e-3
    linear = (counts * per_op.repeat(4 * enc.stages) * (0.7 + 0.6 * torch.rand(counts.size(1), generator=g))).sum(1)
    y = 2e-3 + linear + 0.02 * torch.tanh(linear / 0.05)
    model, figures, held = fit_with_holdout(X, y, holdout=0.25, seed=0)
    assert figures['holdout']['n'] == len(held) == 40
    train = torch.ones(160, dtype=torch.bool)
    train[held] = False
    constant = relative_errors(torch.full((40,), float(y[train].median())), y[held])['mean']
    assert figures['holdout']['mean'] < 0.08 and figures['holdout']['mean'] < constant / 3


def test_file_round_trip_keeps_predictions_and_metadata(measured_predictor, tmp_path):
    model = LatencyPredictor.load(measured_predictor, encoding=DartsEncoding().spec())
    data = json.loads(measured_predictor.read_text())
    assert data['format'] == 'nas_backbones.latency_predictor/1' and data['macro']['C'] == 4
    x = torch.randn(3, model.in_features)
    again = tmp_path / 'again.json'
    model.save(again)
    assert torch.equal(LatencyPredictor.load(again)(x), model(x))
    # the file predicts seconds at the scale it was fitted on (its normalisation survives the
    # round trip): on the networks it was fitted on within 10% of their measurements
    samples = torch.load(measured_predictor.with_name('samples.pt'))
    ratio = LatencyPredictor.load(again)(samples['X']) / samples['y']
    assert ((ratio - 1).abs() < 0.1).all(), ratio


@pytest.mark.parametrize('change, match', [
    (lambda d: 'not json', r'not valid JSON'),
    (lambda d: d.update(format='other/1'), r'"format" is \'other/1\''),
    (lambda d: d.pop('layers'), r"missing field\(s\) \['layers'\]"),
    (lambda d: d['layers'][0].update(weight=[[0.]]), r'"layers\[0\]\.weight": shape \[1, 1\], expected \[64, 101\]'),
    (lambda d: d['layers'][2]['bias'].__setitem__(0, float('nan')), r'"layers\[2\]\.bias": values must be finite'),
    (lambda d: d['layers'].pop(), r'"layers" must list 3 layers'),
    (lambda d: d['normalization'].update(y_std=0.), r'standard deviations must be > 0'),
    (lambda d: d.update(hidden='64'), r'"hidden" must be a list of positive widths'),
    (lambda d: d['encoding'].update(primitives=['none', 'skip_connect']), r'"encoding\.primitives" is'),
    (lambda d: d['encoding'].update(version=1), r'"encoding\.version" is 1'),
])
def test_bad_predictor_files_are_named(measured_predictor, tmp_path, change, match):
    data = json.loads(measured_predictor.read_text())
    out = change(data)
    bad = tmp_path / 'bad.json'
    bad.write_text(out if isinstance(out, str) else json.dumps(data))
    with pytest.raises(PredictorError, match=match) as e:
        search(bad)
    assert str(bad) in str(e.value)


def test_predictor_cost_checks_its_network(measured_predictor, tmp_path):
    with pytest.raises(PredictorError, match=r'C=48 is outside what the latency predictor was measured on'):
        search(measured_predictor, macro=dict(C=48, input_size=16, stage_cells=STAGE_CELLS))
    data = json.loads(measured_predictor.read_text())
    data['macro'] = None
    nomacro = tmp_path / 'nomacro.json'
    nomacro.write_text(json.dumps(data))
    with pytest.raises(PredictorError, match=r'needs \[.C., .input_size., .stage_cells.\]'):
        search(nomacro)
    with pytest.raises(ValueError, match=r"metric='predictor' takes a predictor file"):
        darts_search(supernet=dict(type='PCDartsSupernet', num_classes=4, C=4, layers=3),
                     cost=dict(metric='predictor'))
    with pytest.raises(FileNotFoundError, match='latency predictor file not found'):
        search(tmp_path / 'missing.json')


def test_predictor_cost_at_another_input_size_is_checked_against_its_range(measured_predictor):
    """The cost's input_size used to be ignored: a predictor measured at 16 px predicted 16 px networks."""
    with pytest.raises(PredictorError, match=r'input_size=224 is outside what the latency predictor was '
                                             r'measured on \(input_size in \[16, 16\]\)'):
        search(measured_predictor, input_size=224)
    assert search(measured_predictor, input_size=16).space.resource_cost.macro['input_size'] == 16
    with pytest.raises(PredictorError, match=r'input_size=16, but macro.input_size=32: give one of them'):
        search(measured_predictor, input_size=16, macro=dict(C=4, input_size=32, stage_cells=STAGE_CELLS))


def test_predictor_gradient_reaches_alpha_and_beta(measured_predictor):
    algo = search(measured_predictor)
    space = algo.space
    space.resource_cost(space.arch).backward()
    for name, p in space.arch.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name
    assert all(p.grad is None for p in space.resource_cost.predictor.parameters())  # not trained here


def test_cost_at_a_genotype_is_its_networks_predicted_latency(measured_predictor):
    """alpha/beta that pick exactly a genotype's genes cost what the predictor says of that
    genotype's network: two genotypes' costs stand in the ratio of their networks' predictions."""
    algo = search(measured_predictor, weight=0.7)
    arch, model, enc = algo.space.arch, LatencyPredictor.load(measured_predictor), DartsEncoding()
    costs, predicted = [], []
    for seed in (3, 4):
        g = random_genotype(random.Random(seed))
        with torch.no_grad():
            for r, alphas, betas in ((False, arch.alphas_normal, arch.betas_normal),
                                     (True, arch.alphas_reduce, arch.betas_reduce)):
                alphas.fill_(-100.)
                betas.fill_(-100.)
                for i, (start, _) in enumerate(node_edge_ranges(4)):
                    for op, j in g.genes(r)[2 * i:2 * i + 2]:
                        alphas[start + j, arch.primitives.index(op)] = 100.
                        betas[start + j] = 100.
            costs.append(algo.space.resource_cost(arch).item())
            predicted.append(model(enc.of_network([g] * 3, 4, 16, STAGE_CELLS)).item())
    assert costs[0] / costs[1] == pytest.approx(predicted[0] / predicted[1], rel=1e-4)
    assert costs[0] != pytest.approx(costs[1], rel=1e-3), 'two genotypes must differ here'


def test_short_search_with_a_latency_weight_lowers_predicted_latency(measured_predictor):
    from nas_backbones.core.optim import SearchOptimWrapperConstructor
    from tests.conftest import SEARCH_OPTIM, image_batch
    predicted = {}
    for weight in (0., 1.):
        algo = search(measured_predictor, weight=weight)
        optim = SearchOptimWrapperConstructor(SEARCH_OPTIM)(algo)
        cost = algo.space.resource_cost
        start = cost.expected(algo.space.arch).item()
        for step in range(4):
            algo.train_step({'weights': image_batch(2 * step), 'arch': image_batch(2 * step + 1)}, optim)
        predicted[weight] = cost.expected(algo.space.arch).item()
    assert predicted[1.] < start and predicted[1.] < predicted[0.]
