"""The differentiable FLOPs cost of hardware-aware search."""
import math

import pytest
import torch

from nas_backbones.search import DartsSearch
from nas_backbones.search.cost import op_macs


def make(edge_norm=True):
    torch.manual_seed(0)
    return DartsSearch(supernet=dict(type='PCDartsSupernet', num_classes=4, C=8, layers=3),
                       edge_norm=edge_norm, cost=dict(weight=0.5, input_size=64))


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
    arch, cost = algo.arch, algo.cost
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
    for reduction, macs in ((False, cost.macs_normal), (True, cost.macs_reduce)):
        start = 0
        genes = genotype.genes(reduction)
        for i in range(arch.steps):
            for op, j in genes[2 * i:2 * i + 2]:
                derived += macs[start + j, arch.primitives.index(op)].item()
            start += 2 + i
    expected = cost.expected_macs(arch).item()
    if edge_norm:
        assert expected == pytest.approx(derived, rel=1e-3)
    else:  # without beta every incoming edge counts 2/n of a node
        assert expected > 0


def test_cost_gradient_pushes_towards_cheap_ops():
    algo = make()
    algo.cost(algo.arch).backward()
    g = algo.arch.alphas_normal.grad
    prims = algo.arch.primitives
    # Raising a separable conv's alpha raises the cost; raising a pool's lowers it.
    assert (g[:, prims.index('sep_conv_5x5')] > 0).all()
    assert (g[:, prims.index('max_pool_3x3')] < 0).all()


def test_cost_is_normalised_to_one_at_uniform_weights():
    algo = make()
    with torch.no_grad():
        for p in algo.arch.parameters():
            p.zero_()
    assert algo.cost(algo.arch).item() == pytest.approx(0.5)
    assert math.isfinite(algo.cost.normalizer) and algo.cost.normalizer > 0


def test_search_step_with_cost_logs_it():
    from tests.test_search_step import OPTIM, batch
    from nas_backbones.engine.search_optim import SearchOptimWrapperConstructor
    algo = make()
    log = algo.train_step({'weights': batch(1), 'arch': batch(2)}, SearchOptimWrapperConstructor(OPTIM)(algo))
    assert 'cost' in log and log['cost'] > 0
