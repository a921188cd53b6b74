"""tools/analysis/complexity.py: the documented command, and counts checked against the model itself."""
import importlib.util
import json
import subprocess
import sys

import torch
import torch.nn as nn

import nas_backbones  # noqa: F401
from nas_backbones.spaces.darts.classifier import GenotypeClassifier
from tests.conftest import ROOT

TOOL = ROOT / 'tools' / 'analysis' / 'complexity.py'


def load_tool():
    spec = importlib.util.spec_from_file_location('complexity_tool', TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def conv_linear_macs(model: nn.Module, x: torch.Tensor, call) -> tuple[int, int]:
    """Multiply-adds of convolutions and linear layers, counted from their outputs with hooks."""
    totals = {'conv': 0, 'linear': 0}

    def on_conv(m, inp, out):
        totals['conv'] += out.numel() * (m.in_channels // m.groups) * m.kernel_size[0] * m.kernel_size[1]

    def on_linear(m, inp, out):
        totals['linear'] += out.numel() * m.in_features

    handles = [m.register_forward_hook(on_conv if isinstance(m, nn.Conv2d) else on_linear)
               for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    with torch.no_grad():
        call(x)
    for h in handles:
        h.remove()
    return totals['conv'], totals['linear']


def test_documented_command_prints_json_last():
    proc = subprocess.run(
        [sys.executable, 'tools/analysis/complexity.py', '--genotype', 'PC_DARTS_image',
         '--input-size', '224', '--json'],
        cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert type(result['params']) is int and type(result['flops']) is int

    model = GenotypeClassifier(genotype='PC_DARTS_image', C=48, layers=14, num_classes=1000,
                               auxiliary=False).eval()
    assert result['params'] == sum(p.numel() for p in model.parameters())
    conv, linear = conv_linear_macs(model, torch.randn(1, 3, 224, 224), lambda x: model(x))
    assert result['flops_by_operator']['conv'] == conv
    assert result['flops_by_operator']['linear'] == linear == 768 * 1000
    # The PC-DARTS paper reports 597M multiply-adds and 5.3M parameters for this network.
    assert abs(result['flops'] - 597e6) / 597e6 < 0.03
    assert abs(result['params'] - 5.3e6) / 5.3e6 < 0.02


def test_config_backbone_and_model():
    tool = load_tool()
    backbone = tool.main(['configs/ssd_pcdarts_demo.py', '--part', 'backbone', '--input-size', '160', '192'])
    model = tool.main(['configs/ssd_pcdarts_demo.py', '--input-size', '160', '192'])
    assert backbone['input_size'] == [160, 192]
    assert model['params'] > backbone['params'] and model['flops'] > backbone['flops']

    from mmdet.registry import MODELS
    from mmengine.config import Config
    det = MODELS.build(Config.fromfile(str(ROOT / 'configs/ssd_pcdarts_demo.py')).model).eval()
    assert backbone['params'] == sum(p.numel() for p in det.backbone.parameters())
    assert model['params'] == sum(p.numel() for p in det.parameters())
    x = torch.randn(1, 3, 160, 192)
    conv, _ = conv_linear_macs(det.backbone, x, det.backbone)
    assert backbone['flops_by_operator']['conv'] == conv
    conv, _ = conv_linear_macs(det, x, lambda t: det._forward(t))
    assert model['flops_by_operator']['conv'] == conv


def test_training_only_parameters_are_kept_apart(tmp_path):
    """A classifier config with its auxiliary head: params are those of the inference network."""
    cfg = tmp_path / 'cls.py'
    cfg.write_text("default_scope = 'mmdet'\n"
                   "custom_imports = dict(imports=['nas_backbones'], allow_failed_imports=False)\n"
                   "model = dict(type='GenotypeClassifier', genotype='PC_DARTS_image', C=16, layers=8,\n"
                   "             num_classes=10, auxiliary=True)\n")
    result = load_tool().main([str(cfg), '--input-size', '64'])
    model = GenotypeClassifier(genotype='PC_DARTS_image', C=16, layers=8, num_classes=10, auxiliary=True)
    aux = sum(p.numel() for p in model.aux_head.parameters())
    assert aux > 0
    assert result['params'] == sum(p.numel() for p in model.parameters()) - aux
    assert result['params_not_run'] == aux
