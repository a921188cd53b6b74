"""The metrics of one candidate network: accuracy after a short training, MACs, parameters, latency.

Accuracy is the top-1 of a short training from scratch on the search's
weight split, evaluated on its architecture split (the two splits of the
cell search). Not weights inherited from the cell supernet: the candidates
change what the supernet shares no weights for (the width C, the number
and the place of cells, a different genotype per stage), so inherited
weights would describe another network; a macro supernet trained for that
(once-for-all style) is a different search. A short training ranks
candidates only roughly; its length is the config's to choose.

Each candidate trains and is evaluated at its own input size: the loaders
give images at one size, and every batch is resized (bilinear, antialiased)
to the candidate's before its forward pass. A candidate drawn at 160 px thus
learns and is scored on 160 px images, and a smaller input costs it the
accuracy it costs a deployed network, not only MACs and latency.
"""
from __future__ import annotations

import math
import time
from typing import Any, Optional, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.analysis import FlopAnalyzer

from ..core.predictor import measure_latency


class _TensorMode(nn.Module):
    """An mmengine model called the way FlopAnalyzer's tracer follows: tensor in, logits out."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x, mode='tensor')


@torch.no_grad()
def macs_and_params(model: nn.Module, input_shape: Sequence[int]) -> tuple[int, int]:
    """Multiply-adds of one image (mmengine's FlopAnalyzer, as tools/analysis/complexity.py) and parameters."""
    model.eval()
    analyzer = FlopAnalyzer(_TensorMode(model), (torch.zeros(1, *input_shape),))
    analyzer.unsupported_ops_warnings(False).uncalled_modules_warnings(False)
    return int(analyzer.total()), int(sum(p.numel() for p in model.parameters()))


def measured_latency(model: nn.Module, input_shape: Sequence[int], device: str = 'cpu',
                     batch: int = 1, repeats: int = 10, rounds: int = 1, clock: str = 'wall') -> float:
    """Seconds of one eager inference call at ``batch`` (see :func:`~nas_backbones.core.predictor.measure_latency`)."""
    return measure_latency(_TensorMode(model), input_shape, device, batch, repeats, 'torch', rounds, clock)


TRAINING_DEFAULTS = dict(epochs=1, max_iters=None, lr=0.05, momentum=0.9, weight_decay=3e-4,
                         grad_clip=5., device='cpu', seed=0)


def check_training(settings: dict, where: str = 'network_search.accuracy') -> dict:
    """The short training's settings, defaults filled in; unknown or bad fields named."""
    unknown = sorted(set(settings) - set(TRAINING_DEFAULTS))
    if unknown:
        raise ValueError(f'{where}: unknown field(s) {unknown}; known: {sorted(TRAINING_DEFAULTS)}')
    s = dict(TRAINING_DEFAULTS, **settings)
    for name in ('epochs', 'lr'):
        if not isinstance(s[name], (int, float)) or isinstance(s[name], bool) or s[name] <= 0:
            raise ValueError(f'{where}.{name}: must be a number > 0, got {s[name]!r}')
    if s['max_iters'] is not None and (not isinstance(s['max_iters'], int) or s['max_iters'] < 1):
        raise ValueError(f'{where}.max_iters: must be None or an integer >= 1, got {s["max_iters"]!r}')
    return s


def _loop(loader, limit: Optional[int]):
    """Batches of ``loader`` until ``limit`` (passes over it again as needed)."""
    n = 0
    while True:
        empty = True
        for batch in loader:
            empty = False
            if limit is not None and n >= limit:
                return
            yield batch
            n += 1
        if empty:
            raise ValueError('the training split is empty')
        if limit is None:
            return


def at_size(data: dict, size: Optional[Sequence[int]]) -> dict:
    """``data`` (a preprocessed batch) with its images resized to ``size`` = (H, W), if given."""
    x = data['inputs']
    if size is None or tuple(x.shape[-2:]) == tuple(size):
        return data
    return dict(data, inputs=F.interpolate(x, size=tuple(size), mode='bilinear', align_corners=False,
                                           antialias=True))


def short_training(model: nn.Module, train_loader: Any, val_loader: Any, settings: dict,
                   input_size: Optional[Sequence[int]] = None) -> dict:
    """Train ``model`` (SGD, cosine) on ``train_loader`` and return its top-1 on ``val_loader``.

    The loaders are configs (built with MMEngine's ``Runner.build_dataloader``)
    or built loaders. ``settings``: :data:`TRAINING_DEFAULTS`' fields.
    ``input_size``: (H, W) the images are resized to for training and evaluation
    (default: as the loaders give them).
    """
    from mmengine.runner import Runner
    s = check_training(settings)
    torch.manual_seed(s['seed'])
    if isinstance(train_loader, dict):
        train_loader = Runner.build_dataloader(train_loader, seed=s['seed'])
    if isinstance(val_loader, dict):
        val_loader = Runner.build_dataloader(val_loader, seed=s['seed'])
    device = torch.device(s['device'])
    model = model.to(device)
    per_epoch = len(train_loader)
    total = s['max_iters'] or max(1, math.ceil(s['epochs'] * per_epoch))
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.SGD(params, lr=s['lr'], momentum=s['momentum'], weight_decay=s['weight_decay'])
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, total)
    t0 = time.perf_counter()
    model.train()
    losses = []
    for batch in _loop(train_loader, total):
        data = at_size(model.data_preprocessor(batch, True), input_size)
        loss = sum(v for k, v in model(**data, mode='loss').items() if 'loss' in k)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        if s['grad_clip']:
            nn.utils.clip_grad_norm_(params, s['grad_clip'])
        opt.step()
        sched.step()
        losses.append(float(loss.detach()))
    train_s = time.perf_counter() - t0
    model.eval()
    correct = seen = 0
    with torch.no_grad():
        for batch in val_loader:
            data = at_size(model.data_preprocessor(batch, False), input_size)
            for sample in model(**data, mode='predict'):
                correct += int(sample.pred_label.reshape(-1)[0] == torch.as_tensor(sample.gt_label).reshape(-1)[0])
                seen += 1
    if not seen:
        raise ValueError('the evaluation split is empty')
    return dict(accuracy=correct / seen, train_iters=len(losses), train_seconds=train_s,
                final_loss=losses[-1] if losses else None)
