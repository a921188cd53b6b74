"""Random genotypes of the DARTS space (the chance baseline) and tools/sample_genotypes.py."""
import importlib.util
import itertools
import random
from collections import Counter
from pathlib import Path

import pytest
import torch

from nas_backbones.spaces.darts import DEFAULT_PRIMITIVES, Genotype, GenotypeError, load_genotype
from nas_backbones.spaces.darts.sample import random_genotype, random_genotypes
from tests.conftest import ROOT

OPS7 = [p for p in DEFAULT_PRIMITIVES if p != 'none']


def load_tool():
    spec = importlib.util.spec_from_file_location('sample_genotypes_tool',
                                                  ROOT / 'tools/sample_genotypes.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def nodes(genes):
    return [genes[i:i + 2] for i in range(0, len(genes), 2)]


def test_a_seed_gives_one_genotype_whatever_the_global_random_state():
    random.seed(1)
    torch.manual_seed(1)
    a = random_genotype(7)
    random.seed(2)
    torch.manual_seed(2)
    random.random()
    assert random_genotype(7) == a
    assert random_genotype('7') == a  # the seed is text under the hood
    assert len({random_genotype(s) for s in range(20)}) == 20


def test_genes_are_valid_derivation_shaped_cells():
    for g in random_genotypes(3, 50):
        assert isinstance(g, Genotype)
        assert g.primitives == tuple(DEFAULT_PRIMITIVES)
        assert g.normal_concat == g.reduce_concat == (2, 3, 4, 5)
        for genes in (g.normal, g.reduce):
            assert len(genes) == 8
            for i, ((op_a, a), (op_b, b)) in enumerate(nodes(genes)):
                assert a != b, f'node {i} takes input {a} twice'
                assert 0 <= a < i + 2 and 0 <= b < i + 2
                assert op_a != 'none' and op_b != 'none'


def test_ops_and_input_pairs_are_uniform():
    genos = random_genotypes(0, 2000)
    genes = [gene for g in genos for gene in g.normal + g.reduce]
    freq = Counter(op for op, _ in genes)
    assert set(freq) == set(OPS7)
    n = len(genes)  # 32000: one op's share has a standard deviation of 0.002
    for op in OPS7:
        assert abs(freq[op] / n - 1 / 7) < 0.01, (op, freq[op] / n)
    for i in range(4):  # node i: every pair of its i + 2 inputs equally likely
        pairs = Counter(tuple(sorted(j for _, j in nodes(g.normal)[i])) for g in genos)
        expected = set(itertools.combinations(range(i + 2), 2))
        assert set(pairs) == expected
        share = 1 / len(expected)
        assert all(abs(c / len(genos) - share) < 0.05 for c in pairs.values()), (i, pairs)
    # the two cells are drawn independently
    assert sum(g.normal == g.reduce for g in genos) == 0


def test_more_genotypes_never_change_the_first_ones():
    ten = random_genotypes(5, 10)
    assert random_genotypes(5, 3) == ten[:3]
    assert random_genotypes(5, 4, start=6) == ten[6:]
    assert random_genotypes(6, 3) != ten[:3]
    assert random_genotypes(5, 0) == []


def test_steps_multiplier_and_primitives():
    g = random_genotype(1, steps=5, multiplier=3)
    assert len(g.normal) == len(g.reduce) == 10
    assert g.normal_concat == (4, 5, 6)
    prims = ('none', 'skip_connect', 'sep_conv_3x3')
    ops = {op for g in random_genotypes(2, 30, primitives=prims) for op, _ in g.normal + g.reduce}
    assert ops == {'skip_connect', 'sep_conv_3x3'}


@pytest.mark.parametrize('kwargs, msg', [
    (dict(primitives=('none',)), "primitives: no op other than none in ['none']"),
    (dict(primitives=('none', 'conv_9x9')), "primitives: unknown op(s) ['conv_9x9']"),
    (dict(steps=0), 'steps: expected an integer >= 1, got 0'),
    (dict(multiplier=5), 'multiplier: expected an integer in 1..steps=4, got 5'),
])
def test_bad_arguments_are_named(kwargs, msg):
    with pytest.raises(GenotypeError) as e:
        random_genotype(0, **kwargs)
    assert msg in str(e.value)
    with pytest.raises(TypeError, match='seed: expected'):
        random_genotype(1.5)


def test_a_random_genotype_builds_and_runs_a_network():
    from nas_backbones.spaces.darts import GenotypeClassifier
    net = GenotypeClassifier(genotype=random_genotype(11), C=8, layers=5, num_classes=3,
                             auxiliary=False).eval()
    with torch.no_grad():
        assert net(torch.randn(2, 3, 64, 64)).shape == (2, 3)


def test_tool_writes_loadable_files(tmp_path, capsys):
    tool = load_tool()
    out = tmp_path / 'random'
    paths = tool.main(['--seed', '4', '--num', '3', '--out', str(out)])
    assert [Path(p).name for p in paths] == ['random_s4_000.json', 'random_s4_001.json',
                                             'random_s4_002.json']
    assert capsys.readouterr().out.split() == paths
    assert [load_genotype(p) for p in paths] == random_genotypes(4, 3)
    more = tool.main(['--seed', '4', '--num', '2', '--start', '3', '--out', str(out)])
    assert [load_genotype(p) for p in more] == random_genotypes(4, 5)[3:]
    assert not [p for p in out.iterdir() if p.name.startswith('.')]  # atomic writes, nothing left


def test_tool_errors_name_the_fault(tmp_path, capsys):
    tool = load_tool()
    with pytest.raises(SystemExit):
        tool.main(['--num', '0', '--out', str(tmp_path)])
    assert '--num must be >= 1, got 0' in capsys.readouterr().err
    with pytest.raises(SystemExit):
        tool.main(['--out', str(tmp_path), '--primitives', 'none', 'conv_9x9'])
    assert "unknown op(s) ['conv_9x9']" in capsys.readouterr().err
    a_file = tmp_path / 'f'
    a_file.write_text('x')
    with pytest.raises(SystemExit):
        tool.main(['--out', str(a_file)])
    assert f'--out {a_file} exists and is not a folder' in capsys.readouterr().err
