"""Did the search learn anything: the architecture-step count, each family's movement measure, the
"nothing learned" warning in the log and the report, and the gene agreement of several searches."""
import pytest
import torch

from nas_backbones.core.signal import agreement, judge, shared_genes
from nas_backbones.spaces.darts.arch import ArchParameters
from nas_backbones.spaces.darts.ops import DEFAULT_PRIMITIVES
from nas_backbones.spaces.darts.result import Genotype
from nas_backbones.spaces.darts.sample import random_genotype
from nas_backbones.visualization.report import signal_markdown
from tests.conftest import ROOT, run_tiny_search, sp_space


def test_warning_fires_on_a_search_without_architecture_steps(tmp_path):
    history, log, _ = run_tiny_search(tmp_path, epochs=2, warmup=2, arch_lr=6e-3)
    assert [e['arch_steps'] for e in history] == [0, 0]
    assert history[-1]['movement']['distance'] < 0.01  # the init, 1e-3 * randn: uniform
    assert 'the search learned nothing measurable: only 0 architecture step(s)' in log
    assert 'tools/search_select.py' in log  # and it says what to do
    assert 'epoch 2: genotype -> genotype.json, history -> search_history.json; 0 architecture step(s)' in log


def test_warning_fires_when_alpha_stays_at_uniform_and_not_when_it_moved(tmp_path):
    # Enough steps for the count (4 an epoch, the limit set to 4), with a learning rate too small
    # to move alpha.
    history, log, _ = run_tiny_search(tmp_path / 'still', epochs=2, warmup=1, arch_lr=1e-6,
                                      hook=dict(min_arch_steps=4))
    assert [e['arch_steps'] for e in history] == [0, 4]
    assert 'stayed where they started' in log and 'only 4 architecture' not in log
    # A large arch lr moves softmax(alpha) far from uniform in the same 4 steps: no warning.
    history, log, _ = run_tiny_search(tmp_path / 'moved', epochs=2, warmup=1, arch_lr=0.5,
                                      hook=dict(min_arch_steps=4))
    assert history[-1]['arch_steps'] == 4
    assert history[-1]['movement']['distance'] > ArchParameters.UNMOVED
    assert 'search signal: 4 architecture step(s)' in log
    assert 'learned nothing' not in log


def test_too_few_steps_warn_even_when_alpha_moved(tmp_path):
    def far_from_uniform(model):
        with torch.no_grad():
            model.space.arch.alphas_normal[:, 0] = 3.
    history, log, _ = run_tiny_search(tmp_path, epochs=1, warmup=0, arch_lr=6e-3, prepare=far_from_uniform)
    assert history[-1]['movement']['distance'] > ArchParameters.UNMOVED
    assert 'only 4 architecture step(s) (fewer than 100' in log
    assert 'stayed where they started' not in log


def test_darts_movement_is_the_op_weights_distance_from_uniform():
    arch = ArchParameters(steps=4, primitives=DEFAULT_PRIMITIVES, multiplier=4)
    with torch.no_grad():
        arch.alphas_normal.zero_()
        arch.alphas_reduce.zero_()
        arch.betas_normal.zero_()
        arch.betas_reduce.zero_()
    m = arch.movement()
    assert m['distance'] == 0. and m['threshold'] == ArchParameters.UNMOVED
    with torch.no_grad():
        arch.alphas_reduce[3, 2] = 1.  # edge 3: e / (e + 7) against 1/8
        arch.betas_normal[0] = 1.      # node 0 (two inputs): sigmoid(1) against 1/2
    m = arch.movement()
    top = torch.e / (torch.e + 7)
    assert m['distance'] == pytest.approx(top - 1 / 8, rel=1e-5)
    assert m['details']['alpha_reduce_max'] == pytest.approx(top - 1 / 8, rel=1e-5)
    assert m['details']['alpha_normal_max'] == 0.
    edges, ops = arch.alphas_reduce.shape
    assert m['details']['alpha_reduce_mean'] == pytest.approx(
        ((top - 1 / 8) + 7 * (1 / 8 - 1 / (torch.e + 7))) / (edges * ops), rel=1e-5)
    assert m['details']['beta_normal_max'] == pytest.approx(torch.sigmoid(torch.tensor(1.)).item() - 0.5,
                                                            rel=1e-5)
    assert judge(None, m).learned_nothing is False
    assert '(threshold 0.05: moved)' in judge(None, m).summary()
    assert '(below 0.05: unmoved)' in judge(None, dict(m, distance=0.01)).summary()


def test_singlepath_movement_is_the_thresholds_share_of_their_norms():
    torch.manual_seed(0)
    s = sp_space(cost=None, backbone=dict(blocks=[
        dict(channels=8, repeats=1, stride=1, searchable=False, kernel=3, expansion=1, residual=False),
        dict(channels=16, repeats=2, stride=2)]))
    m = s.movement()
    # thresholds start at 0, every indicator on: unmoved; the first layer (stride 2) has no skip
    assert m['distance'] == 0. and m['details']['decisions_off'] == 0
    assert m['details']['decisions'] == 2 + 3
    assert judge(None, m).learned_nothing
    norms = torch.stack([d.norms for d in s.backbone.decisions(s.arch())])
    with torch.no_grad():
        s.arch.thresholds[1, 0] = 0.5 * norms[1, 0]  # half way to dropping the 5x5 ring
    m = s.movement()
    assert m['distance'] == pytest.approx(0.5, rel=1e-5) and m['details']['decisions_off'] == 0
    assert not judge(None, m).learned_nothing
    with torch.no_grad():
        s.arch.thresholds[1, 2] = 2 * norms[1, 2]  # the skip decision flips: the layer is skipped
    m = s.movement()
    assert m['details']['decisions_off'] == 1 and m['distance'] == pytest.approx(2., rel=1e-5)
    assert s.derive().gene_groups()[1] == ('skip',)


def genotype(normal, reduce):
    return Genotype(normal=normal, normal_concat=[2, 3, 4, 5], reduce=reduce, reduce_concat=[2, 3, 4, 5])


def test_shared_genes_are_counted_node_by_node():
    a = genotype([('sep_conv_3x3', 0), ('skip_connect', 1), ('max_pool_3x3', 0), ('sep_conv_3x3', 2),
                  ('dil_conv_3x3', 1), ('sep_conv_5x5', 3), ('avg_pool_3x3', 0), ('skip_connect', 4)],
                 [('max_pool_3x3', 0), ('max_pool_3x3', 1)] * 4)
    # node 0: the same two genes in the other order (2); node 1: one op differs (1); node 2: the
    # gene (dil_conv_3x3, 1) sits in node 3 here, not node 2 (0); node 3: (skip_connect, 4) (1);
    # the reduction cell: one gene of each node (4)
    b = genotype([('skip_connect', 1), ('sep_conv_3x3', 0), ('max_pool_3x3', 0), ('dil_conv_5x5', 2),
                  ('sep_conv_3x3', 0), ('sep_conv_5x5', 2), ('dil_conv_3x3', 1), ('skip_connect', 4)],
                 [('max_pool_3x3', 0), ('avg_pool_3x3', 1)] * 4)
    assert shared_genes(a, b) == (2 + 1 + 0 + 1 + 4, 16)
    assert shared_genes(a, a) == (16, 16)


def test_agreement_against_random_cells_of_the_space():
    a = random_genotype('a')
    out = agreement([a, a, a], names=['x', 'y', 'z'], draws=2000)
    assert [p[:2] for p in out.pairs] == [('x', 'y'), ('x', 'z'), ('y', 'z')]
    assert out.mean == 1. and out.above_chance()
    # Two random nodes with n inputs share 4 / (7 n) genes on average (each input is in both with
    # probability (2/n)^2, then the same of 7 ops): a share of 2 / (7 n), averaged over n = 2..5.
    expected = sum(2 / (7 * n) for n in (2, 3, 4, 5)) / 4
    assert out.chance_mean == pytest.approx(expected, abs=0.01)
    assert 'random results of the same space share' in out.lines()[-1]


def test_agreement_refuses_results_of_different_spaces():
    from nas_backbones.spaces.singlepath.published import load_architecture
    with pytest.raises(ValueError, match='results of different spaces'):
        agreement([random_genotype(0), load_architecture('SPNAS_Pixel1')])
    three_nodes = random_genotype(0, steps=3, multiplier=3)
    with pytest.raises(ValueError, match='a and c: .*not of one space'):
        agreement([random_genotype(0), random_genotype(1), three_nodes], names=['a', 'b', 'c'], draws=1)


def test_singlepath_genes_are_the_searchable_layers_ops():
    from nas_backbones.spaces.singlepath.published import load_architecture
    arch = load_architecture('SPNAS_Pixel1')
    groups = arch.gene_groups()
    assert groups == [(c.op,) for spec, c in arch.layers() if spec.searchable]
    other = arch.random_like('1')
    assert other.layout == arch.layout and len(other.gene_groups()) == len(groups)
    out = agreement([arch, arch.random_like('2')], draws=200)
    # each layer has 4 or 5 ops: random layers agree about a fifth to a quarter of the time
    assert 0.15 < out.chance_mean < 0.3


def test_seed_agreement_tool(tmp_path, capsys):
    import importlib.util
    spec = importlib.util.spec_from_file_location('seed_agreement',
                                                  ROOT / 'tools/analysis/seed_agreement.py')
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    random_genotype(0).save(tmp_path / 'a.json')
    (tmp_path / 'work').mkdir()
    random_genotype(0).save(tmp_path / 'work' / 'genotype.json')
    out = tool.main([str(tmp_path / 'a.json'), str(tmp_path / 'work'), '--draws', '50'])
    assert out.pairs[0][2:] == (16, 16)
    assert '16 of 16 genes shared' in capsys.readouterr().out
    with pytest.raises(SystemExit):
        tool.main([str(tmp_path / 'a.json'), str(tmp_path / 'missing.json')])
    assert 'missing.json: no such result file or work dir' in capsys.readouterr().err


def test_report_section_warns_only_when_nothing_was_learned():
    still = {'epoch': 3, 'arch_steps': 16,
             'movement': dict(distance=0.012, threshold=0.05, measure='largest |softmax(alpha) - uniform|')}
    text = '\n'.join(signal_markdown([dict(still, epoch=2, arch_steps=8), still]))
    assert '**Warning: the search learned nothing measurable: only 16 architecture step(s)' in text
    assert '| 3 | 16 | 0.0120 |' in text
    moved = dict(still, arch_steps=260, movement=dict(still['movement'], distance=0.3))
    text = '\n'.join(signal_markdown([moved]))
    assert 'Warning' not in text and '260 architecture step(s)' in text
    assert signal_markdown([{'epoch': 1}]) == []  # a history from before these were recorded
