"""Where the reductions fall and which genotype each stage uses (the network-level search's macro choices)."""
import pytest
import torch

from nas_backbones.spaces.darts import PUBLISHED, DartsBackbone, GenotypeClassifier, cell_plan
from nas_backbones.spaces.darts.layout import reduction_indices


def dart_plan(C, layers, stem_channels, stem, mult):
    """DARTS' NetworkImageNet / NetworkCIFAR loop, written out as the reference has it."""
    out, C_pp, C_p, C_curr, red_prev, stage = [], stem_channels, stem_channels, C, stem == 'imagenet', 1
    for i in range(layers):
        red = i in (layers // 3, 2 * layers // 3)
        if red:
            C_curr, stage = 2 * C_curr, stage + 1
        out.append((i, C_pp, C_p, C_curr, red, red_prev, stage))
        C_pp, C_p, red_prev = C_p, mult * C_curr, red
    return out


@pytest.mark.parametrize('stem', ['imagenet', 'cifar'])
def test_default_plan_is_darts_and_explicit_default_positions_give_the_same(stem):
    for layers in range(3, 21):
        plan = cell_plan(16, layers, 48, stem, 4, 4)
        assert [tuple(vars(s).values()) for s in plan] == dart_plan(16, layers, 48, stem, 4)
        assert plan == cell_plan(16, layers, 48, stem, 4, 4, reductions=reduction_indices(layers))
        assert plan == cell_plan(16, layers, 48, stem, [4, 4, 4], [4, 4, 4])


def test_explicit_reductions_place_the_width_doublings():
    plan = cell_plan(8, 6, 8, 'imagenet', 4, 4, reductions=[1, 3])
    assert [s.reduction for s in plan] == [False, True, False, True, False, False]
    assert [s.C for s in plan] == [8, 16, 16, 32, 32, 32]
    assert [s.stage for s in plan] == [1, 2, 2, 3, 3, 3]
    one = cell_plan(8, 4, 8, 'cifar', 4, 4, reductions=[2])  # one reduction: two stages
    assert [s.C for s in one] == [8, 8, 16, 16] and one[-1].stage == 2


@pytest.mark.parametrize('reductions, match', [
    ([0, 2], r'reductions: 0 is not a cell index in 1\.\.5'),
    ([2, 6], r'reductions: 6 is not a cell index'),
    ([3, 2], 'distinct and increasing'),
    ([2, 2], 'distinct and increasing'),
    ('12', 'expected a list of cell indices'),
])
def test_bad_reductions_are_named(reductions, match):
    with pytest.raises(ValueError, match=match):
        cell_plan(8, 6, 8, 'imagenet', 4, 4, reductions=reductions)


def test_per_stage_multipliers_need_one_value_per_stage():
    with pytest.raises(ValueError, match=r'normal_multiplier: one value per stage of cells \(3\)'):
        cell_plan(8, 6, 8, 'imagenet', [4, 4], 4)


def test_backbone_with_a_genotype_per_stage_and_moved_reductions():
    # NASNet concatenates 5 states in its normal cells and 3 in its reduction cells.
    stages = ['PC_DARTS_image', 'DARTS_V2', 'NASNet']
    net = DartsBackbone(genotype=stages, C=8, layers=6, reductions=[2, 3]).eval()
    assert net.genotype is None and net.genotypes == tuple(PUBLISHED[g] for g in stages)
    assert [net.plan[i].stage for i in range(6)] == [1, 1, 2, 3, 3, 3]
    # stage 2 ends at its reduction cell (DARTS_V2, 4 states of 16); stage 3 at a NASNet normal cell
    assert net.out_channels == [8, 4 * 8, 4 * 16, 5 * 32]
    # each cell is built from its stage's genes (DARTS_V2's reduction cell is all pools and skips)
    for i, (g, red) in zip((1, 2, 3, 5), (('PC_DARTS_image', False), ('DARTS_V2', True),
                                           ('NASNet', True), ('NASNet', False))):
        assert net.cells[i]._indices == [j for _, j in PUBLISHED[g].genes(red)]
    assert not any(p.dim() == 4 and p.shape[-1] > 1 for op in net.cells[2]._ops for p in op.parameters())
    assert net.cells[3].multiplier == 3 and net.cells[4].multiplier == 5
    outs = net(torch.randn(1, 3, 64, 64))
    assert [o.shape[1] for o in outs] == net.out_channels[1:]
    assert [o.shape[-1] for o in outs] == [8, 4, 2]


def test_classifier_puts_the_auxiliary_head_on_the_last_reduction():
    default = GenotypeClassifier(genotype='PC_DARTS_image', C=8, layers=8, num_classes=3)
    assert default.aux_cell == 2 * 8 // 3 == default.backbone.reductions[-1]
    moved = GenotypeClassifier(genotype='DARTS_V2', C=8, layers=7, reductions=[1, 5], num_classes=3)
    assert moved.aux_cell == 5
    from mmengine.structures import BaseDataElement
    samples = [BaseDataElement(gt_label=torch.tensor([i])) for i in range(2)]
    losses = moved.train()(torch.randn(2, 3, 64, 64), samples, mode='loss')
    assert set(losses) == {'loss_cls', 'loss_aux'} and torch.isfinite(losses['loss_aux'])


def test_backbone_names_a_genotype_list_of_the_wrong_length():
    with pytest.raises(ValueError, match=r'2 reductions make 3 stages, got 2 genotypes'):
        DartsBackbone(genotype=['DARTS_V2', 'DARTS_V2'], C=8, layers=6)
