"""The differentiable cost of hardware-aware search: FLOPs, and latency from a lookup table."""
import json
import math

import pytest
import torch

from nas_backbones.core.latency import LATENCY_TABLE_FORMAT
from nas_backbones.spaces.darts.cost import op_latency, op_macs
from tests.conftest import darts_search


def make(edge_norm=True, **cost):
    torch.manual_seed(0)
    return darts_search(supernet=dict(type='PCDartsSupernet', num_classes=4, C=8, layers=3),
                       edge_norm=edge_norm, cost=dict(weight=0.5, input_size=64, **cost))


def test_op_macs_of_a_separable_conv():
    # two blocks of depthwise 3x3 + pointwise 1x1 on 8 channels at 10x10, stride 1, plus
    # mmengine's count for their two BNs (2 per element), the convention of tools/analysis
    convs = 2 * (8 * 9 + 8 * 8) * 100
    assert op_macs('sep_conv_3x3', 8, 1, (10, 10)) == convs + 2 * 2 * 8 * 100
    assert op_macs('max_pool_3x3', 8, 2, (10, 10)) == 0
    assert op_macs('none', 8, 1, (10, 10)) == 0


@pytest.mark.parametrize('edge_norm', [True, False])
def test_expected_cost_at_one_hot_weights_is_the_derived_cells_cost(edge_norm):
    algo = make(edge_norm)
    arch, cost = algo.space.arch, algo.space.resource_cost
    with torch.no_grad():  # sharpen alpha/beta so that the derived cells carry all the weight
        for a in (arch.alphas_normal, arch.alphas_reduce):
            a.fill_(-100.)  # one op per edge, never 'none' (derivation never picks it)
            a[torch.arange(a.size(0)), torch.randint(1, a.size(1), (a.size(0),))] = 100.
        if edge_norm:  # two edges per node at beta 1/2 each, the others at ~0
            for b in (arch.betas_normal, arch.betas_reduce):
                b.fill_(-30.)
                start = 0
                for i in range(arch.steps):
                    b[start + torch.randperm(2 + i)[:2]] = 30.
                    start += 2 + i
    genotype = arch.genotype()
    derived = 0.
    for reduction, macs in ((False, cost.cost_normal), (True, cost.cost_reduce)):
        start = 0
        genes = genotype.genes(reduction)
        for i in range(arch.steps):
            for op, j in genes[2 * i:2 * i + 2]:
                derived += macs[start + j, arch.primitives.index(op)].item()
            start += 2 + i
    expected = cost.expected(arch).item()
    if edge_norm:
        assert expected == pytest.approx(derived, rel=1e-3)
    else:  # without beta every incoming edge counts 2/n of a node
        assert expected > 0


def test_cost_gradient_pushes_towards_cheap_ops():
    algo = make()
    algo.space.resource_cost(algo.space.arch).backward()
    g = algo.space.arch.alphas_normal.grad
    prims = algo.space.arch.primitives
    # Raising a separable conv's alpha raises the cost; raising a pool's lowers it.
    assert (g[:, prims.index('sep_conv_5x5')] > 0).all()
    assert (g[:, prims.index('max_pool_3x3')] < 0).all()


def test_cost_is_normalised_to_one_at_uniform_weights():
    algo = make()
    with torch.no_grad():
        for p in algo.space.arch.parameters():
            p.zero_()
    assert algo.space.resource_cost(algo.space.arch).item() == pytest.approx(0.5)
    assert math.isfinite(algo.space.resource_cost.normalizer) and algo.space.resource_cost.normalizer > 0


def test_search_step_with_cost_logs_it():
    from nas_backbones.core.optim import SearchOptimWrapperConstructor
    from tests.conftest import SEARCH_OPTIM, image_batch
    algo = make()
    log = algo.train_step({'weights': image_batch(1), 'arch': image_batch(2)},
                          SearchOptimWrapperConstructor(SEARCH_OPTIM)(algo))
    assert 'cost' in log and log['cost'] > 0


# ------------------------------------------------------------------ latency

def test_op_latency_is_measured_and_conv_costs_more_than_identity():
    assert op_latency('none', 8, 1, (16, 16)) == 0.
    conv = op_latency('sep_conv_5x5', 16, 1, (32, 32), repeats=5)
    skip = op_latency('skip_connect', 16, 1, (32, 32), repeats=5)
    assert conv > 0 and skip >= 0 and conv > skip


def test_latency_table_is_written_then_reused_as_given(tmp_path):
    table = tmp_path / 'latency.json'
    first = make(metric='latency', latency_table=str(table)).space.resource_cost
    data = json.loads(table.read_text())
    assert data['format'] == LATENCY_TABLE_FORMAT and data['device'] == 'cpu' and data['batch'] == 1
    assert data['entries'] and all(v >= 0 for v in data['entries'].values())
    assert first.cost_normal.shape == (14, 8) and first.cost_normal.sum() > 0
    # A table from elsewhere (e.g. the deployment device) is used as it is: nothing is measured
    # again, and its numbers, not this machine's, decide. Make the convs expensive, the rest free:
    for key in data['entries']:
        data['entries'][key] = 1e-3 if 'conv' in key.split('|')[0] else 0.
    table.write_text(json.dumps(data))
    algo = make(metric='latency', latency_table=str(table))
    prims = algo.space.arch.primitives
    costs = algo.space.resource_cost.cost_normal
    assert torch.all(costs[:, prims.index('max_pool_3x3')] == 0)
    assert torch.all(costs[:, prims.index('sep_conv_3x3')] > 0)
    assert json.loads(table.read_text()) == data  # not rewritten
    algo.space.resource_cost(algo.space.arch).backward()
    g = algo.space.arch.alphas_normal.grad
    assert (g[:, prims.index('dil_conv_5x5')] > 0).all() and (g[:, prims.index('skip_connect')] < 0).all()


@pytest.mark.parametrize('change,message', [
    (lambda d: d.update(format='x'), '"format" is \'x\''),
    (lambda d: d.update(batch=8), 'batch=8'),
    (lambda d: d.update(device='cuda'), "device='cuda'"),
    (lambda d: d.update(entries=[1, 2]), '"entries" must be an object'),
    (lambda d: d['entries'].update({'sep_conv_3x3|C=8|stride=1|8x8': 'fast'}), "not 'sep_conv_3x3|C=8"),
    (lambda d: d.clear() or d.update(a=1), '"format" is None'),
])
def test_bad_latency_tables_are_named(tmp_path, change, message):
    table = tmp_path / 'latency.json'
    make(metric='latency', latency_table=str(table))
    data = json.loads(table.read_text())
    change(data)
    table.write_text(json.dumps(data))
    with pytest.raises(ValueError, match='latency table') as e:
        make(metric='latency', latency_table=str(table))
    assert message in str(e.value) and str(table) in str(e.value)


def test_a_table_for_another_device_must_be_complete(tmp_path):
    table = tmp_path / 'phone.json'
    table.write_text(json.dumps(dict(format=LATENCY_TABLE_FORMAT, device='phone', batch=1,
                                     entries={'sep_conv_3x3|C=8|stride=1|8x8': 1e-3})))
    with pytest.raises(KeyError, match="has no entry .* and device 'phone' cannot be measured here"):
        make(metric='latency', device='phone', latency_table=str(table))


def test_unknown_metric_is_named():
    with pytest.raises(ValueError, match="cost metric must be one of .* got 'energy'"):
        make(metric='energy')


def test_unreadable_latency_table_is_named(tmp_path):
    table = tmp_path / 'latency.json'
    table.write_text('{"format": ')
    with pytest.raises(ValueError, match=f'latency table {table}: not valid JSON'):
        make(metric='latency', latency_table=str(table))


def test_latency_table_tool_measures_then_completes(tmp_path):
    import subprocess
    import sys

    from tests.conftest import ROOT
    out = tmp_path / 'lat.json'
    cmd = [sys.executable, 'tools/analysis/latency_table.py', 'configs/search/pcdarts_imagenet_latency.py',
           '--out', str(out), '--input-size', '64', '--threads', '1',
           '--cfg-options', 'model.space.model.backbone.C=8', 'model.space.model.backbone.layers=3']
    first = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert first.returncode == 0, first.stderr[-2000:]
    entries = json.loads(out.read_text())['entries']
    assert f'{len(entries)} ops ({len(entries)} measured now) on cpu' in first.stdout
    assert 'sep_conv_3x3|C=8|stride=1|8x8' in entries
    second = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert f'{len(entries)} ops (0 measured now)' in second.stdout


def test_latency_table_is_measured_by_the_family_of_the_config_space(tmp_path):
    """The tool dispatches on the space type through the families' registrations, as the predictor's does."""
    from mmengine.config import Config

    from nas_backbones.core.latency import LATENCY_TABLE_TASKS, measure_latency_table
    from nas_backbones.spaces.darts.cost import latency_table as darts_table
    from nas_backbones.spaces.singlepath.cost import latency_table as singlepath_table
    assert LATENCY_TABLE_TASKS['PCDartsSearchBackbone'] is darts_table
    assert LATENCY_TABLE_TASKS['DartsClassifierSpace'] is darts_table  # the deprecated layout
    assert LATENCY_TABLE_TASKS['SinglePathSearchBackbone'] is singlepath_table
    assert LATENCY_TABLE_TASKS['SinglePathSpace'] is singlepath_table
    cfg = Config(dict(model=dict(space=dict(type='DetectorSearchSpace', detector=dict(backbone=dict(type='ResNet'))))))
    with pytest.raises(ValueError, match=r"search.py: the latency table knows no searchable backbone 'ResNet' "
                                         r"\(model.space's\); known: \['DartsClassifierSpace', "):
        measure_latency_table(cfg, str(tmp_path / 'lat.json'), source='search.py')
    with pytest.raises(ValueError, match=r'search.py: no searchable backbone found'):
        measure_latency_table(Config(dict(model=dict(type='SSD'))), str(tmp_path / 'lat.json'), source='search.py')
    assert not (tmp_path / 'lat.json').exists()
