"""The architecture file: derived from the hard indicators, validated (errors name block, layer and
field), read back; the published Single-Path NAS network and its 4.42M parameters."""
import copy
import json

import pytest
import torch

from nas_backbones.core import ModelSearchSpace
from nas_backbones.spaces.singlepath import (
    PUBLISHED,
    Architecture,
    ArchitectureError,
    SinglePathClassifier,
    load_architecture,
)


def test_published_pixel1_network_has_the_published_parameter_count():
    arch = PUBLISHED['SPNAS_Pixel1']
    assert arch.to_text() == ('k3e1 | k3e3 k3e3 k3e3 skip | k5e6 k3e3 k3e3 k3e3 | k5e6 k3e3 k3e3 k3e3 '
                              '| k5e6 k5e3 k5e3 k5e3 | k5e6 k5e6 k5e6 k5e6 | k3e6')
    model = SinglePathClassifier(arch='SPNAS_Pixel1', num_classes=1000)
    n = sum(p.numel() for p in model.parameters())
    assert n == 4_421_616
    assert abs(n - 4.42e6) / 4.42e6 < 0.005


def test_round_trip_through_the_file(tmp_path):
    arch = PUBLISHED['SPNAS_Pixel1']
    arch.save(tmp_path / Architecture.filename)
    text = (tmp_path / 'architecture.json').read_text()
    assert text.count('\n') < 40  # one line per layer: readable
    back = load_architecture(str(tmp_path / 'architecture.json'))
    assert back == arch and back.to_dict() == json.loads(text)


def test_derive_reads_the_hard_indicators():
    # the reference's 22-layer layout at width 0.25, in the classification space as configs write it
    space = ModelSearchSpace(model=dict(type='SearchClassifier', num_classes=10, backbone=dict(
        type='SinglePathSearchBackbone', out_indices=(-1,), width_mult=0.25)))
    assert space.derive().ops()[1:-1] == ['k5e6'] * 20  # thresholds 0: the full supernet
    with torch.no_grad():
        t = space.arch.thresholds
        t[0] = torch.tensor([1e3, 1e3, -1e3])   # layer 1 (stride 2, no shortcut): k3e3
        t[1] = torch.tensor([-1e3, 1e3, 1e3])   # layer 2: skip
        t[5] = torch.tensor([1e3, -1e3, -1e3])  # layer 6: k3e6
        t[4] = torch.tensor([-1e3, 1e3, 1e3])   # layer 5 is the first of its block: no skip, k5e3
    ops = space.derive().ops()
    assert ops[1:7] == ['k3e3', 'skip', 'k5e6', 'k5e6', 'k5e3', 'k3e6']
    assert ops[0] == 'k3e1' and ops[-1] == 'k3e6'


def bad(d, path, value):
    d = copy.deepcopy(d)
    *parents, last = path
    node = d
    for k in parents:
        node = node[k]
    if value is KeyError:
        del node[last]
    else:
        node[last] = value
    return d


GOOD = PUBLISHED['SPNAS_Pixel1'].to_dict()


@pytest.mark.parametrize('path, value, message', [
    (('blocks', 1, 'layers', 0, 'kernel'), 4,
     r'blocks\[1\]\.layers\[0\] \(layer 1 .*\): kernel: 4 is not one of \[3, 5\]'),
    (('blocks', 2, 'layers', 2, 'expansion'), 4,
     r'blocks\[2\]\.layers\[2\] \(layer 7 .*\): expansion: 4 is not one of \[3, 6\]'),
    (('blocks', 2, 'layers', 0), {'skip': True},
     r'blocks\[2\]\.layers\[0\] .*skip: this layer has no identity shortcut \(stride 2'),
    (('blocks', 6, 'layers'), [{'kernel': 3, 'expansion': 6}, {'kernel': 5, 'expansion': 6}],
     r'blocks\[6\]\.layers\[1\] \(layer 22 .*\): kernel: 5, but the layers of a fixed block share one kernel \(3'),
    (('blocks', 3, 'layers', 1, 'kernel'), '3', r'layers\[1\] \(layer 10\): kernel: expected a positive integer'),
    (('blocks', 3, 'layers', 1, 'expansion'), KeyError, r'layers\[1\] \(layer 10\): expansion: missing'),
    (('blocks', 3, 'layers', 1, 'skip'), 'yes', r'skip: expected true or false'),
    (('blocks', 3, 'layers', 1, 'dilation'), 2, r"unknown field\(s\) \['dilation'\]"),
    (('blocks', 1, 'layers', 3, 'kernel'), 3, r'a skipped layer has no kernel'),
    (('blocks', 4, 'stride'), 3, r'blocks\[4\]\.stride: expected 1 or 2'),
    (('blocks', 4, 'channels'), 0, r'blocks\[4\]\.channels: expected a positive integer'),
    (('blocks', 4, 'layers'), [], r'blocks\[4\]: layers: expected a non-empty list'),
    (('width_mult',), -1, r'width_mult: expected a positive number'),
    (('format',), 'other/2', r'"format" is .other/2.'),
])
def test_bad_files_name_the_layer_and_field(tmp_path, path, value, message):
    f = tmp_path / 'architecture.json'
    f.write_text(json.dumps(bad(GOOD, path, value)))
    with pytest.raises(ArchitectureError, match=message) as e:
        Architecture.load(f)
    assert str(f) in str(e.value)


def test_not_json_and_unknown_names_are_named(tmp_path):
    f = tmp_path / 'architecture.json'
    f.write_text('{"blocks": [')
    with pytest.raises(ArchitectureError, match='not valid JSON'):
        Architecture.load(f)
    with pytest.raises(ArchitectureError, match="neither a published name .*SPNAS_Pixel1"):
        load_architecture('SPNAS_Pixel2')


def test_width_rounding_is_mmdetections_make_divisible():
    from mmdet.models.utils import make_divisible

    from nas_backbones.spaces.singlepath.layout import round_channels
    for c in (16, 24, 32, 40, 80, 96, 192, 320, 1280):
        for w in (0.1, 0.25, 0.35, 0.5, 0.75, 1.0, 1.3, 1.4, 2.0):
            assert round_channels(c, w) == make_divisible(c * w, 8), (c, w)
