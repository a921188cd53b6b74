"""ONNX export (tools/deployment/export_onnx.py): SSD and SSDLite detectors as head outputs and a derived
backbone, each run in ONNX Runtime against PyTorch; the latency predictor's onnxruntime backend uses
the same export."""
import importlib.util
import json
import sys

import pytest
import torch
from mmengine.config import Config

from nas_backbones.models.deploy import build_for_export
from tests.conftest import ROOT

pytest.importorskip('onnxruntime', reason="ONNX Runtime is optional: pip install 'nas_backbones[onnx]'")
pytest.importorskip('onnx', reason="onnx is optional: pip install 'nas_backbones[onnx]'")


def load_tool(rel):
    spec = importlib.util.spec_from_file_location(rel.replace('/', '_')[:-3], ROOT / rel)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


export_tool = load_tool('tools/deployment/export_onnx.py')


def last_json(capsys):
    return json.loads(capsys.readouterr().out.strip().splitlines()[-1])


def run_onnx(path, x):
    import onnxruntime as ort
    session = ort.InferenceSession(str(path), providers=['CPUExecutionProvider'])
    names = [o.name for o in session.get_outputs()]
    return names, session.run(None, {session.get_inputs()[0].name: x.numpy()})


def check_against_torch(module, path, x, atol):
    """Outputs of the file in ONNX Runtime on an input the export never saw, against PyTorch's."""
    names, got = run_onnx(path, x)
    with torch.no_grad():
        want = module(x)
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert tuple(g.shape) == tuple(w.shape)
        got = torch.from_numpy(g)
        assert torch.allclose(got, w, atol=atol, rtol=1e-3), float((got - w).abs().max())
    return names


def test_ssd_detector_exports_head_outputs_without_nms(tmp_path, capsys):
    out = tmp_path / 'ssd.onnx'
    assert export_tool.main(['configs/ssd_pcdarts_demo.py', '--out', str(out)]) == 0
    report = last_json(capsys)
    assert report['input'] == [1, 3, 192, 192] and report['check']['max_rel_diff'] < 1e-3
    assert report['preprocess']['mean'] is not None  # what the caller must do to an image
    cfg = Config.fromfile(str(ROOT / 'configs/ssd_pcdarts_demo.py'))
    names, got = run_onnx(out, torch.randn(1, 3, 192, 192))
    levels = len(cfg.model.bbox_head.anchor_generator.strides)
    assert names == [f'cls_score_{i}' for i in range(levels)] + [f'bbox_pred_{i}' for i in range(levels)]
    anchors = [len(r) * 2 + 2 for r in cfg.model.bbox_head.anchor_generator.ratios]  # SSD: 2 + 2 per ratio
    for i, (g, stride) in enumerate(zip(got[:levels], cfg.model.bbox_head.anchor_generator.strides)):
        side = -(-192 // stride)
        assert g.shape == (1, anchors[i] * (len(cfg.metainfo['classes']) + 1), side, side)
    assert got[levels].shape[1] == anchors[0] * 4  # box deltas, not boxes: no decoding, no NMS


def test_checkpoint_weights_reach_the_file_and_match_pytorch(tmp_path, capsys):
    """A trained detector: the file carries the checkpoint's weights (not a fresh initialisation)."""
    cfg = Config.fromfile(str(ROOT / 'configs/ssd_pcdarts_demo.py'))
    torch.manual_seed(3)
    module = build_for_export(cfg)
    ckpt = tmp_path / 'epoch_1.pth'
    torch.save({'state_dict': module.detector.state_dict(), 'meta': {}}, ckpt)
    out = tmp_path / 'ssd.onnx'
    assert export_tool.main(['configs/ssd_pcdarts_demo.py', '--out', str(out), '--checkpoint', str(ckpt)]) == 0
    capsys.readouterr()
    check_against_torch(module, out, torch.randn(1, 3, 192, 192), atol=1e-4)


def test_derived_backbone_exports_its_feature_maps(tmp_path, capsys):
    out = tmp_path / 'backbone.onnx'
    assert export_tool.main(['nas_backbones::ssd_pcdarts_demo.py', '--part', 'backbone', '--out', str(out),
                             '--input-size', '96', '--cfg-options', 'model.backbone.genotype=DARTS_V2']) == 0
    report = last_json(capsys)
    cfg = Config.fromfile(str(ROOT / 'configs/ssd_pcdarts_demo.py'))
    assert report['outputs'] == [f'stage_{i}' for i in cfg.model.backbone.out_indices]
    names, got = run_onnx(out, torch.randn(1, 3, 96, 96))
    assert [g.shape[1] for g in got] == list(cfg.model.neck.in_channels)


def test_ssdlite_single_path_detector_matches_pytorch(tmp_path, capsys):
    cfg = Config.fromfile(str(ROOT / 'configs/ssdlite_spnas_coco128.py'))
    torch.manual_seed(1)
    module = build_for_export(cfg)
    ckpt = tmp_path / 'ssdlite.pth'
    torch.save({'state_dict': module.detector.state_dict()}, ckpt)
    out = tmp_path / 'ssdlite.onnx'
    assert export_tool.main(['configs/ssdlite_spnas_coco128.py', '--out', str(out), '--checkpoint', str(ckpt),
                             '--input-size', '320']) == 0
    report = last_json(capsys)
    assert report['check']['outputs'] == 12  # 6 levels: scores and deltas
    names = check_against_torch(module, out, torch.randn(1, 3, 320, 320), atol=1e-4)
    assert names[0] == 'cls_score_0' and names[-1] == 'bbox_pred_5'


def test_bad_inputs_are_named(tmp_path, capsys, monkeypatch):
    with pytest.raises(SystemExit) as e:
        export_tool.main(['configs/search/pcdarts_tiny_imagenet.py', '--out', str(tmp_path / 'x.onnx')])
    assert e.value.code == 2 and 'is not an MMDetection detector' in capsys.readouterr().err
    with pytest.raises(SystemExit):
        export_tool.main(['configs/ssd_pcdarts_demo.py', '--out', str(tmp_path / 'x.onnx'),
                          '--checkpoint', str(tmp_path / 'none.pth')])
    assert '--checkpoint: file not found' in capsys.readouterr().err
    monkeypatch.setitem(sys.modules, 'onnxruntime', None)  # as if it were not installed
    with pytest.raises(SystemExit):
        export_tool.main(['configs/ssd_pcdarts_demo.py', '--out', str(tmp_path / 'x.onnx')])
    assert "pip install 'nas_backbones[onnx]'" in capsys.readouterr().err
    assert not (tmp_path / 'x.onnx').exists()


def test_latency_predictor_times_the_deployment_export(monkeypatch):
    """--backend onnxruntime of tools/analysis/latency_predictor.py measures the file the export writes."""
    from nas_backbones.core.predictor import measure_latency
    from nas_backbones.utils import export
    exported = []
    real = export.export_onnx

    def spy(module, inputs, path, **kw):
        exported.append(tuple(inputs.shape))
        return real(module, inputs, path, **kw)

    monkeypatch.setattr(export, 'export_onnx', spy)
    net = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3), torch.nn.ReLU())
    seconds = measure_latency(net, (3, 16, 16), backend='onnxruntime', repeats=3)
    assert exported == [(1, 3, 16, 16)] and seconds > 0
