"""Genotypes: file formats, safe parsing, errors that name the fault, and the published cells built into networks."""
import json

import pytest
import torch

from nas_backbones.spaces.darts import PUBLISHED, Genotype, GenotypeClassifier, GenotypeError, load_genotype

# Copied from the reference genotypes.py , independently of spaces/darts/published.py.
REFERENCE_TEXT = {
    'DARTS_V1': "Genotype(normal=[('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('skip_connect', 0), ('sep_conv_3x3', 1), ('skip_connect', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('skip_connect', 2)], normal_concat=[2, 3, 4, 5], reduce=[('max_pool_3x3', 0), ('max_pool_3x3', 1), ('skip_connect', 2), ('max_pool_3x3', 0), ('max_pool_3x3', 0), ('skip_connect', 2), ('skip_connect', 2), ('avg_pool_3x3', 0)], reduce_concat=[2, 3, 4, 5])",  # noqa: E501
    'DARTS_V2': "Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 1), ('skip_connect', 0), ('skip_connect', 0), ('dil_conv_3x3', 2)], normal_concat=[2, 3, 4, 5], reduce=[('max_pool_3x3', 0), ('max_pool_3x3', 1), ('skip_connect', 2), ('max_pool_3x3', 1), ('max_pool_3x3', 0), ('skip_connect', 2), ('skip_connect', 2), ('max_pool_3x3', 1)], reduce_concat=[2, 3, 4, 5])",  # noqa: E501
    'PC_DARTS_cifar': "Genotype(normal=[('sep_conv_3x3', 1), ('skip_connect', 0), ('sep_conv_3x3', 0), ('dil_conv_3x3', 1), ('sep_conv_5x5', 0), ('sep_conv_3x3', 1), ('avg_pool_3x3', 0), ('dil_conv_3x3', 1)], normal_concat=range(2, 6), reduce=[('sep_conv_5x5', 1), ('max_pool_3x3', 0), ('sep_conv_5x5', 1), ('sep_conv_5x5', 2), ('sep_conv_3x3', 0), ('sep_conv_3x3', 3), ('sep_conv_3x3', 1), ('sep_conv_3x3', 2)], reduce_concat=range(2, 6))",  # noqa: E501
    'PC_DARTS_image': "Genotype(normal=[('skip_connect', 1), ('sep_conv_3x3', 0), ('sep_conv_3x3', 0), ('skip_connect', 1), ('sep_conv_3x3', 1), ('sep_conv_3x3', 3), ('sep_conv_3x3', 1), ('dil_conv_5x5', 4)], normal_concat=range(2, 6), reduce=[('sep_conv_3x3', 0), ('skip_connect', 1), ('dil_conv_5x5', 2), ('max_pool_3x3', 1), ('sep_conv_3x3', 2), ('sep_conv_3x3', 1), ('sep_conv_5x5', 0), ('sep_conv_3x3', 3)], reduce_concat=range(2, 6))",  # noqa: E501
}
ALL_PUBLISHED = ('DARTS_V1', 'DARTS_V2', 'PC_DARTS_cifar', 'PC_DARTS_image', 'NASNet', 'AmoebaNet')


def good_dict():
    return PUBLISHED['PC_DARTS_image'].to_dict()


# ------------------------------------------------------------------ formats
@pytest.mark.parametrize('name', ALL_PUBLISHED)
def test_json_round_trip_in_memory_and_on_disk(name, tmp_path):
    g = PUBLISHED[name]
    assert Genotype.from_text(g.to_json()) == g
    path = tmp_path / f'{name}.json'
    g.save(path)
    assert Genotype.load(path) == g
    assert load_genotype(str(path)) == g
    assert json.loads(path.read_text())['normal'] == [list(x) for x in g.normal]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith('.')]  # no temp file left


@pytest.mark.parametrize('name', sorted(REFERENCE_TEXT))
def test_reference_repr_parses_to_the_published_genotype(name):
    g = Genotype.from_text(REFERENCE_TEXT[name])
    assert g == PUBLISHED[name]
    assert g.normal_concat == (2, 3, 4, 5)  # range(2, 6) for the PC-DARTS ones
    # What the library prints parses back (lists instead of range).
    assert Genotype.from_text(str(g)) == g


def test_aliases_follow_the_reference_repos():
    assert PUBLISHED['DARTS'] == PUBLISHED['DARTS_V2']
    assert PUBLISHED['PCDARTS'] == PUBLISHED['PC_DARTS_cifar']


def test_repr_with_tuples_lists_and_range_forms():
    text = ("Genotype(normal=[['sep_conv_3x3', 0], ('skip_connect', 1)], normal_concat=range(2, 3),"
            " reduce=(('max_pool_3x3', 0), ('max_pool_3x3', 1)), reduce_concat=[2])")
    g = Genotype.from_text(text)
    assert g.normal == (('sep_conv_3x3', 0), ('skip_connect', 1))
    assert g.normal_concat == (2,) and g.reduce_concat == (2,)


def test_repr_is_parsed_never_evaluated(tmp_path):
    marker = tmp_path / 'pwned'
    evil = (f"Genotype(normal=__import__('os').system('touch {marker}'), normal_concat=[2], "
            "reduce=[('max_pool_3x3', 0), ('max_pool_3x3', 1)], reduce_concat=[2])")
    with pytest.raises(GenotypeError, match="field 'normal'.*only literals"):
        Genotype.from_text(evil)
    assert not marker.exists()
    for text in ("__import__('os').system('true')",
                 "Genotype(normal=(lambda: 1)(), normal_concat=[2], reduce=[], reduce_concat=[2])",
                 "Genotype(normal=[].__class__, normal_concat=[2], reduce=[], reduce_concat=[2])"):
        with pytest.raises(GenotypeError):
            Genotype.from_text(text)


# ------------------------------------------------------------------ bad inputs
def _with(**changes):
    d = good_dict()
    for k, v in changes.items():
        if v is None:
            d.pop(k)
        else:
            d[k] = v
    return d


def _normal_with(i, gene):
    genes = [list(g) for g in good_dict()['normal']]
    genes[i] = gene
    return genes


BAD = [
    # (id, dict, fragments the message must contain)
    ('unknown op', _with(normal=_normal_with(3, ['conv_9x9', 1])), ['normal[3]', "'conv_9x9'"]),
    ('index beyond node', _with(normal=_normal_with(4, ['sep_conv_3x3', 4])),
     ['normal[4]', 'input index 4', 'node 2']),
    ('negative index', _with(normal=_normal_with(0, ['sep_conv_3x3', -1])),
     ['normal[0]', 'input index -1']),
    ('odd gene count', _with(reduce=good_dict()['reduce'][:7]), ['reduce', '7 genes']),
    ('concat out of range', _with(normal_concat=[2, 3, 4, 6]), ['normal_concat', 'index 6']),
    ('duplicate concat', _with(reduce_concat=[2, 3, 3, 5]), ['reduce_concat', 'duplicate']),
    ('empty concat', _with(reduce_concat=[]), ['reduce_concat']),
    ('index as string', _with(normal=_normal_with(1, ['sep_conv_3x3', '1'])),
     ['normal[1]', "'1'", 'integer']),
    ('op not a string', _with(normal=_normal_with(2, [3, 1])), ['normal[2]', 'op must be a string']),
    ('gene not a pair', _with(normal=_normal_with(5, ['sep_conv_3x3'])), ['normal[5]', 'pair']),
    ('genes not a list', _with(normal='sep_conv_3x3'), ['normal', "'sep_conv_3x3'"]),
    ('concat of floats', _with(normal_concat=[2, 3.0]), ['normal_concat', '3.0']),
    ('bool index', _with(normal=_normal_with(0, ['sep_conv_3x3', True])), ['normal[0]', 'True']),
    ('none as a gene', _with(normal=_normal_with(6, ['none', 1])), ['normal[6]', "'none'"]),
    ('missing field', _with(reduce_concat=None), ['missing', 'reduce_concat']),
    ('unknown field', _with(extra_field=[1]), ['unknown field', 'extra_field']),
    ('unknown format', _with(format='darts/9'), ['format', "'darts/9'"]),
    ('no genes', _with(normal=[]), ['normal', 'at least one node']),
    ('unknown primitive', _with(primitives=['none', 'warp_3x3']), ['primitives[1]', "'warp_3x3'"]),
    ('op outside primitives', _with(primitives=['none', 'skip_connect']),
     ['normal[1]', "'sep_conv_3x3'"]),
]


@pytest.mark.parametrize('bad,fragments', [(d, f) for _, d, f in BAD], ids=[i for i, _, _ in BAD])
def test_bad_genotype_is_rejected_naming_field_and_value(bad, fragments, tmp_path):
    with pytest.raises(GenotypeError) as info:
        Genotype.from_dict(bad)
    for frag in fragments:
        assert frag in str(info.value)
    # Through a file, the message also names the file.
    path = tmp_path / 'bad.json'
    path.write_text(json.dumps(bad))
    with pytest.raises(GenotypeError) as info:
        Genotype.load(path)
    assert str(path) in str(info.value)
    for frag in fragments:
        assert frag in str(info.value)


@pytest.mark.parametrize('text,fragments', [
    ('{"normal": [', ['my.json', 'not valid JSON']),
    ('[1, 2]', ['my.json', 'expected Genotype(']),
    ('normal: [1', ['my.json', 'not JSON and not a Genotype']),
    ('Genotype([("sep_conv_3x3", 0)])', ['keyword arguments only']),
    ('Geno(normal=[])', ['expected Genotype(']),
    ('Genotype(normal=[], normal_concat=range("a"), reduce=[], reduce_concat=[2])',
     ["'normal_concat'", 'range() takes 1 to 3 integers']),
    ('Genotype(**{"normal": []})', ['**kwargs']),
    ('"just a string"', ['expected Genotype(']),
])
def test_bad_text_is_rejected(text, fragments):
    with pytest.raises(GenotypeError) as info:
        Genotype.from_text(text, source='my.json')
    for frag in fragments:
        assert frag in str(info.value)


def test_from_dict_rejects_non_objects_and_load_names_missing_paths(tmp_path):
    with pytest.raises(GenotypeError, match='expected a JSON object, got list'):
        Genotype.from_dict([1, 2])
    with pytest.raises(FileNotFoundError, match='nope.json'):
        Genotype.load(tmp_path / 'nope.json')
    with pytest.raises(GenotypeError, match="'PC_DARTS_imag'.*neither a published name"):
        load_genotype('PC_DARTS_imag')
    with pytest.raises(GenotypeError, match='expected a name, a path'):
        load_genotype(42)


# ------------------------------------------------------------------ networks
@pytest.mark.parametrize('name', ALL_PUBLISHED)
def test_every_published_genotype_builds_a_classifier_that_runs(name):
    torch.manual_seed(0)
    model = GenotypeClassifier(genotype=name, C=8, layers=5, num_classes=7)
    x = torch.randn(2, 3, 64, 64)
    model.train()
    losses = model(x, _samples([1, 6]), mode='loss')
    assert set(losses) == {'loss_cls', 'loss_aux'}
    sum(losses.values()).backward()
    model.eval()
    with torch.no_grad():
        logits = model(x, mode='tensor')
    assert logits.shape == (2, 7) and torch.isfinite(logits).all()
    # The cell output width follows the genotype's concat (3 states for NASNet's reduce).
    g = PUBLISHED[name]
    assert model.backbone.out_channels[-1] == len(g.normal_concat) * 8 * 4


def _samples(labels):
    from mmengine.structures import BaseDataElement
    return [BaseDataElement(gt_label=torch.tensor([v])) for v in labels]


def _params(model):
    return sum(p.numel() for n, p in model.named_parameters() if not n.startswith('aux_head'))


@pytest.mark.parametrize('name,millions', [('DARTS_V2', 4.7), ('PC_DARTS_image', 5.3)])
def test_imagenet_parameter_counts_match_the_papers(name, millions):
    # NetworkImageNet(C=48, layers=14, 1000 classes), auxiliary head excluded as the reference counts.
    model = GenotypeClassifier(genotype=name, C=48, layers=14, num_classes=1000)
    assert abs(_params(model) - millions * 1e6) <= 0.05e6


@pytest.mark.parametrize('name,millions', [('DARTS_V2', 3.3), ('PC_DARTS_cifar', 3.6)])
def test_cifar_parameter_counts_match_the_papers(name, millions):
    # NetworkCIFAR(C=36, layers=20, 10 classes); the READMEs give 3.3M and 3.6M.
    model = GenotypeClassifier(genotype=name, C=36, layers=20, stem='cifar', num_classes=10,
                               label_smoothing=0.)
    assert abs(_params(model) - millions * 1e6) <= 0.05e6


def test_huge_range_in_a_genotype_text_is_refused_before_it_is_built():
    text = ("Genotype(normal=[('skip_connect', 0), ('skip_connect', 1)], normal_concat=range(0, 1000000000000), "
            "reduce=[('skip_connect', 0), ('skip_connect', 1)], reduce_concat=[2])")
    with pytest.raises(GenotypeError, match="field 'normal_concat': range\\(\\) of 1000000000000 items"):
        Genotype.from_text(text)
