"""The runtime model: the reference's formula on a hand-made table, its gradients, and the costs
it is fed (FLOPs counted, latencies kept in the project's latency-table JSON)."""
import json
import re

import pytest
import torch

from nas_backbones.spaces.singlepath import MBConv, make_layout
from nas_backbones.spaces.singlepath.cost import RuntimeModel, expected_runtime, layer_runtimes, module_macs

# (k3e3, k3e6, k5e3, k5e6) per layer, ms
TABLE = torch.tensor([[1., 2., 3., 4.],
                      [10., 20., 30., 40.],
                      [5., 6., 7., 8.]], dtype=torch.float64)
CONST = 5.


def test_formula_equals_a_hand_computation():
    d = torch.tensor([[1., 0., 1.],    # k5e3: R = k5e3 * (r + (1 - r)) = 3
                      [0., 1., 1.],    # k3e6: R = k5e6 * r = 40 * 20/40 = 20
                      [1., 1., 0.]],   # skip: 0
                     dtype=torch.float64)
    assert layer_runtimes(d, TABLE).tolist() == [3., 20., 0.]
    assert expected_runtime(d, TABLE, CONST).item() == 5. + 3. + 20.
    # k3e3 is the reference's estimate r * R(k5e3), not the table's k3e3
    k3e3 = torch.tensor([[0., 0., 1.]], dtype=torch.float64)
    assert layer_runtimes(k3e3, TABLE[:1]).item() == pytest.approx(3. * 2. / 4.)


def test_gradient_with_respect_to_each_indicator_is_the_hand_derivative():
    d = torch.tensor([[1., 0., 1.], [0., 1., 1.], [1., 1., 1.]], dtype=torch.float64,
                     requires_grad=True)
    expected_runtime(d, TABLE, CONST).backward()
    g = d.grad.tolist()
    # layer 0 (r = 0.5): dR/dd5 = (k5e3 + d100 (k5e6 - k5e3)) (1 - r) = 3 * 0.5
    #                    dR/dd100 = (k5e6 - k5e3) (r + (1 - r) d5) = 1 * 1;  dR/dd50 = R_0 = 3
    assert g[0] == pytest.approx([1.5, 1., 3.])
    # layer 1 (r = 0.5, d5 = 0): dR/dd5 = 40 * 0.5 = 20; dR/dd100 = 10 * 0.5 = 5; dR/dd50 = 20
    assert g[1] == pytest.approx([20., 5., 20.])
    # layer 2 (r = 0.75, all on): dR/dd5 = 8 * 0.25 = 2; dR/dd100 = 1; dR/dd50 = 8
    assert g[2] == pytest.approx([2., 1., 8.])


def test_formula_checks_shapes():
    with pytest.raises(ValueError, match='costs must be'):
        layer_runtimes(torch.ones(2, 3), TABLE)
    with pytest.raises(ValueError, match='decisions must be'):
        layer_runtimes(torch.ones(3, 2), TABLE)


TINY = [dict(channels=8, repeats=1, stride=1, searchable=False, kernel=3, expansion=1, residual=False),
        dict(channels=16, repeats=2, stride=2),
        dict(channels=24, repeats=2, stride=2)]


def test_flops_costs_are_the_standalone_variants_multiply_adds():
    layout = make_layout(TINY, stem_channels=8, head_channels=32)
    model = RuntimeModel(layout, input_size=32, metric='flops', num_classes=10)
    assert model.unit == 'M MACs' and model.costs.shape == (4, 4)
    # layer 1 (the first searchable: 8 -> 16, stride 2 at 16x16 after the stem)
    spec = layout.layers[1]
    for col, (k, e) in enumerate([(3, 3), (3, 6), (5, 3), (5, 6)]):
        m = MBConv(spec.in_channels, spec.out_channels, k, e, spec.stride, spec.residual)
        assert model.costs[0, col].item() == pytest.approx(module_macs(m, (8, 16, 16)) / 1e6)
    # more kernel, more expansion: more multiply-adds
    c = model.costs
    assert (c[:, 0] < c[:, 1]).all() and (c[:, 2] < c[:, 3]).all() and (c[:, 0] < c[:, 2]).all()
    full = model(torch.ones(4, 3, dtype=torch.float32))
    assert full.item() == pytest.approx(model.const + c[:, 3].sum().item(), rel=1e-6)  # all k5e6
    assert model.const > 0


def test_latency_table_is_written_once_and_read_back(tmp_path):
    path = tmp_path / 'lat.json'
    layout = make_layout(TINY, stem_channels=8, head_channels=32)
    first = RuntimeModel(layout, input_size=16, metric='latency', latency_table=str(path),
                         num_classes=10)
    data = json.loads(path.read_text())
    assert data['format'] == 'nas_backbones.latency/1' and data['unit'] == 'seconds'
    # 4 searchable layers x 4 variants + stem + 1 fixed layer + head
    assert first.measured == len(data['entries']) == 19
    assert all(k.startswith('singlepath.') for k in data['entries'])
    # a table from the deployment device is taken as it is: nothing measured, its numbers used
    data['entries'] = {k: 1e-3 for k in data['entries']}
    data['device'] = 'pixel1'
    path.write_text(json.dumps(data))
    second = RuntimeModel(layout, input_size=16, metric='latency', latency_table=str(path),
                          device='pixel1', num_classes=10)
    assert second.measured == 0 and second.unit == 'ms'
    assert second.costs.tolist() == [[1.] * 4] * 4 and second.const == pytest.approx(3.)
    # a missing entry on a device this machine cannot time is named
    missing = next(k for k in data['entries'] if k.startswith('singlepath.stem'))
    del data['entries'][missing]
    path.write_text(json.dumps(data))
    with pytest.raises(KeyError, match='has no entry ' + re.escape(repr(missing))):
        RuntimeModel(layout, input_size=16, metric='latency', latency_table=str(path),
                     device='pixel1', num_classes=10)


def test_bad_settings_are_named():
    layout = make_layout(TINY)
    with pytest.raises(ValueError, match="metric must be one of"):
        RuntimeModel(layout, metric='energy')
    with pytest.raises(ValueError, match='input_size'):
        RuntimeModel(layout, input_size=(3, 4, 5))


def test_latency_table_tool_measures_a_singlepath_config_then_reuses_it(tmp_path):
    import subprocess
    import sys

    from tests.conftest import ROOT
    out = tmp_path / 'lat.json'
    cmd = [sys.executable, 'tools/analysis/latency_table.py', 'configs/search/spnas_imagenet.py',
           '--out', str(out), '--input-size', '32', '--threads', '1',
           '--cfg-options', 'model.space.model.backbone.width_mult=0.25']
    first = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert first.returncode == 0, first.stderr[-3000:]
    entries = json.loads(out.read_text())['entries']
    assert 'measured now' in first.stdout and f'{len(entries)} entries ({len(entries)} measured now)' in first.stdout
    assert all(k.startswith('singlepath.') for k in entries)
    again = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert f'{len(entries)} entries (0 measured now)' in again.stdout
    assert json.loads(out.read_text())['entries'] == entries


def test_a_table_where_k5e6_is_not_the_dearest_is_flagged(tmp_path):
    import logging

    from mmengine.logging import MMLogger
    layout = make_layout(TINY, stem_channels=8, head_channels=32)
    path = tmp_path / 'lat.json'
    RuntimeModel(layout, input_size=16, metric='latency', latency_table=str(path), num_classes=10)
    data = json.loads(path.read_text())
    data['entries'] = {k: (2e-3 if '|k=3|e=3|' in k else 1e-3) for k in data['entries']}
    data['device'] = 'phone'
    path.write_text(json.dumps(data))

    class Keep(logging.Handler):
        def __init__(self):
            super().__init__()
            self.messages = []

        def emit(self, record):
            self.messages.append(record.getMessage())

    logger, keep = MMLogger.get_current_instance(), Keep()
    logger.addHandler(keep)
    try:
        RuntimeModel(layout, input_size=16, metric='latency', latency_table=str(path),
                     device='phone', num_classes=10)
    finally:
        logger.removeHandler(keep)
    assert any('k5e6 is not the dearest variant in 4 layer(s): layer 1 (k3e3 0.002' in m
               for m in keep.messages), keep.messages


def _searchable_choices(architecture):
    import dataclasses
    return [dataclasses.asdict(c) for spec, c in architecture.layers() if spec.searchable]


def test_the_shipped_pixel1_table_gives_spnas_pixel1_the_reference_runtime():
    from nas_backbones.spaces.singlepath import PUBLISHED
    model = RuntimeModel(make_layout(), metric='latency', latency_table='pixel1')
    assert model.unit == 'ms' and model.measured == 0
    assert model.const == pytest.approx(19.5999)  # the reference's constant for the fixed parts
    # layer 1 (the first searchable, 16 -> 24 at 112x112) holds the reference's own numbers
    assert model.costs[0].tolist() == pytest.approx([4.4905, 9.2015, 5.9248, 11.5892])
    # The reference's formula over its table, with its constant, gives SPNAS_Pixel1 80.593 ms
    # (the phone measured 79.48 ms); the converted table keeps one mean for identical layers.
    r = model.of_choices(_searchable_choices(PUBLISHED['SPNAS_Pixel1']))
    assert r == pytest.approx(80.593, abs=0.1)
    # the ImageNet recipe optimises this R by default
    from mmengine.config import Config

    from tests.conftest import ROOT
    cost = Config.fromfile(str(ROOT / 'configs/search/spnas_imagenet.py')).model.space.cost
    runtime = {k: v for k, v in cost.items() if k not in ('runtime_lambda', 'runtime_scale')}
    assert runtime.pop('num_classes') == 1000
    recipe = RuntimeModel(make_layout(), num_classes=1000, **runtime)
    assert torch.equal(recipe.costs, model.costs) and recipe.const == model.const
    # another layout is not in it, and the error says what the table holds
    with pytest.raises(KeyError, match='holds the reference layout'):
        RuntimeModel(make_layout(width_mult=0.5), metric='latency', latency_table='pixel1')
    with pytest.raises(ValueError, match="measured with device='pixel1'"):
        RuntimeModel(make_layout(), metric='latency', latency_table='pixel1', device='cpu')


def test_converting_a_per_layer_runtime_model_keeps_its_numbers_and_constant(tmp_path):
    """The conversion tool on a made-up source: every layer's four numbers reach the searchable
    layer's variants (identical layers as their mean) and the constant the fixed parts."""
    import subprocess
    import sys

    from tests.conftest import ROOT
    source = {str(i): {str(v): 1. + i + v / 10 for v in range(4)} for i in range(22)}
    (tmp_path / 'src.json').write_text(json.dumps(source))
    out = tmp_path / 'table.json'
    proc = subprocess.run([sys.executable, 'tools/analysis/convert_singlepath_runtime.py',
                           str(tmp_path / 'src.json'), '--out', str(out), '--const', '7.5'],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    layout = make_layout()
    model = RuntimeModel(layout, metric='latency', latency_table=str(out), device='pixel1')
    assert model.const == pytest.approx(7.5) and model.measured == 0
    # layers 2, 3, 4 are the same op at the same size (as are 6-8, 10-12, 14-16, 18-20): they
    # get the mean of their rows, here the middle one's numbers; the first of each block its own
    assert [spec.index for spec in layout.searchable] == list(range(1, 21))
    for row, i in zip(model.costs.tolist(), range(1, 21)):
        expect = i if i % 4 == 1 else 4 * ((i - 1) // 4) + 3
        assert row == pytest.approx([1. + expect + v / 10 for v in range(4)]), i
    bad = dict(source, **{'5': {'0': 1., '1': 2.}})
    (tmp_path / 'bad.json').write_text(json.dumps(bad))
    proc = subprocess.run([sys.executable, 'tools/analysis/convert_singlepath_runtime.py',
                           str(tmp_path / 'bad.json'), '--out', str(out)],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode != 0 and 'layer "5" must map "0".."3"' in proc.stderr
