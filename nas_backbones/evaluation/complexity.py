"""Parameters and multiply-adds of a model or of its backbone, through mmengine's FlopAnalyzer.

One multiply-add counts as one FLOP (fvcore's convention, which mmengine
uses). A detector is measured in ``tensor`` mode: backbone, neck and head
convolutions, without anchor decoding and NMS. Parameters of modules that
the measured forward does not run (an auxiliary head) are reported apart
(``params_not_run``). ``tools/analysis/complexity.py`` prints this; the
comparison against chance (:mod:`.chance`) puts it in its table.
"""
from __future__ import annotations

from typing import Sequence

import torch
import torch.nn as nn
from mmengine.analysis import FlopAnalyzer, parameter_count


class TensorMode(nn.Module):
    """Calls an mmengine model the way FlopAnalyzer's tracer can follow: tensor in, tensors out."""

    def __init__(self, model: nn.Module, part: str) -> None:
        super().__init__()
        self.model = model
        self.part = part

    def forward(self, x: torch.Tensor):
        if self.part == 'backbone':
            return self.model.backbone(x)
        if hasattr(self.model, '_forward'):  # mmdet detectors: features -> head outputs
            return self.model._forward(x)
        return self.model(x, mode='tensor')


def measure(model: nn.Module, part: str, size: Sequence[int]) -> dict:
    """``params``, ``flops`` (multiply-adds), ``flops_by_operator`` and ``params_not_run`` of
    ``model`` (``part='model'``) or of ``model.backbone`` (``part='backbone'``) on one image of ``size`` (H, W)."""
    model.eval()
    x = torch.randn(1, 3, *size)
    wrapper = TensorMode(model, part)
    analyzer = FlopAnalyzer(wrapper, (x,))
    analyzer.unsupported_ops_warnings(False)
    analyzer.uncalled_modules_warnings(False)
    with torch.no_grad():
        flops = int(analyzer.total())
        by_op = {k: int(v) for k, v in analyzer.by_operator().items()}
    # Parameters of what ran: a training-only part (e.g. an auxiliary head) is
    # not part of the network that the FLOPs describe.
    counts = parameter_count(wrapper)
    root = 'model.backbone' if part == 'backbone' else 'model'
    uncalled = {name for name in analyzer.uncalled_modules() if name.startswith(root + '.')}
    unused = [name for name in uncalled
              if not any(name.startswith(other + '.') for other in uncalled)]
    params_all = counts[root]
    params = params_all - sum(counts.get(name, 0) for name in unused)
    return dict(params=int(params), flops=flops, flops_by_operator=by_op,
                params_not_run=int(params_all - params))


class _Holder(nn.Module):
    def __init__(self, backbone: nn.Module) -> None:
        super().__init__()
        self.backbone = backbone


def backbone_cost(backbone_cfg: dict, size: Sequence[int]) -> dict[str, int]:
    """``macs`` and ``params`` of the backbone a config dict builds (MMDetection's registry), at ``size``."""
    from mmdet.registry import MODELS
    with torch.random.fork_rng(devices=[]):  # building initialises weights: leave the caller's stream alone
        backbone = MODELS.build(dict(backbone_cfg))
    m = measure(_Holder(backbone), 'backbone', size)
    return dict(macs=m['flops'], params=m['params'])
