"""The Single-Path space's architecture encoding for the latency predictor.

Per searchable layer, the weight of each of its five ops, in the order
``k3e3, k3e6, k5e3, k5e6, skip``: an :class:`Architecture` puts 1 on the op
it picks; the supernet's decisions ``(d5x5, d100c, d50c)`` give the weights
the runtime formula (:mod:`.cost`) gives the variants::

    w(k5e6) = d50 d100 d5        w(k5e3) = d50 (1 - d100) d5
    w(k3e6) = d50 d100 (1 - d5)  w(k3e3) = d50 (1 - d100) (1 - d5)    w(skip) = 1 - d50

(expanded, ``R_l`` is exactly ``sum_op w(op) R(op)``, with ``R(k3e3)`` the
formula's estimate ``r R(k5e3)``). The decisions are the ones the runtime
loss takes, the undropped straight-through indicators: forward they are the
derived architecture's 0/1, so the soft encoding equals its hard encoding,
and backward they carry sigmoid gradients, so a predictor's gradient
reaches the thresholds. A layer without a shortcut has ``d50 = 1``: its skip
weight is 0.

No macro numbers: a Single-Path search fixes its layout (widths, repeats,
width multiplier) and input size, so the description records the layout and
a predictor fitted on another one is refused.
"""
from __future__ import annotations

from typing import Optional

import torch

from ...core.predictor import MeasureTask, PredictorError, register_predictor_task
from .layout import DEFAULT_HEAD, DEFAULT_STEM, VARIANTS, Layout, make_layout
from .result import Architecture

OPS = VARIANTS + ('skip',)
ENCODING_VERSION = 1


def op_weights(decisions: torch.Tensor) -> torch.Tensor:
    """(layers, 3) decisions ``(d5x5, d100c, d50c)`` -> (layers, 5) op weights (differentiable)."""
    if decisions.dim() != 2 or decisions.size(1) != 3:
        raise PredictorError(f'decisions must be (layers, 3), got {tuple(decisions.shape)}')
    d5, d100, d50 = decisions.unbind(1)
    k3, e3 = 1 - d5, 1 - d100
    return torch.stack([d50 * e3 * k3, d50 * d100 * k3, d50 * e3 * d5, d50 * d100 * d5, 1 - d50], 1)


class SinglePathEncoding:
    """Features of a Single-Path network of ``layout``: five op weights per searchable layer."""

    def __init__(self, layout: Layout) -> None:
        self.layout = layout
        self.layers = len(layout.searchable)
        self.size = self.layers * len(OPS)

    def spec(self) -> dict:
        """What a predictor file records; a predictor is only used with an equal encoding."""
        return dict(space='singlepath', version=ENCODING_VERSION, ops=list(OPS),
                    layout=self.layout.macro_dict())

    def of_decisions(self, decisions: torch.Tensor) -> torch.Tensor:
        """The soft encoding of (searchable layers, 3) decisions."""
        if decisions.size(0) != self.layers:
            raise PredictorError(f'the encoding has {self.layers} searchable layers; got decisions '
                                 f'for {decisions.size(0)}')
        return op_weights(decisions).flatten()

    def of_architecture(self, arch: Architecture) -> torch.Tensor:
        """The hard encoding: the one-hot op of every searchable layer."""
        if arch.layout.macro_dict() != self.layout.macro_dict():
            raise PredictorError(f'{arch.source}: its layout is not the encoding\'s '
                                 f'({self.layout.macro_dict()})')
        out = torch.zeros(self.layers, len(OPS))
        rows = [c for spec, c in arch.layers() if spec.searchable]
        for i, c in enumerate(rows):
            out[i, OPS.index(c.op)] = 1.
        return out.flatten()


def _network(arch: Architecture, num_classes: int):
    from .classifier import SinglePathClassifier
    # out_indices: the backbone's default taps need the reference's 7 blocks; the classifier runs them all.
    return SinglePathClassifier(arch=arch, num_classes=num_classes, out_indices=(arch.layout.num_stages - 1,))


@register_predictor_task('SinglePathSearchBackbone', 'SinglePathSpace', options=('input_size',))
def predictor_task(cfg, n: int, seed: int, input_size: Optional[int] = None) -> MeasureTask:
    """Random architectures of a Single-Path search config's layout, as deployed classifiers, at
    ``input_size`` (default: the runtime model's, else 224)."""
    from ...core.model_space import searched_trunk
    from .sample import random_architectures
    _, net, runtime, where = searched_trunk(cfg)
    layout = make_layout(net.get('blocks'), net.get('width_mult', 1.0), net.get('stem_channels', DEFAULT_STEM),
                         net.get('head_channels', DEFAULT_HEAD), where=f'{where}.blocks')
    size = input_size or runtime.get('input_size', 224)
    if isinstance(size, (list, tuple)):
        if len(set(size)) != 1:
            raise PredictorError(f'config: the latency predictor measures square inputs; '
                                 f'runtime.input_size is {list(size)} (give --input-size)')
        size = size[0]
    num_classes = net.get('num_classes', 1000)
    encoding = SinglePathEncoding(layout)
    items = [((lambda a=a: _network(a, num_classes)), (3, size, size), encoding.of_architecture(a))
             for a in random_architectures(layout, n, seed)]
    meta = dict(num_classes=num_classes, macro=dict(input_size=size),
                macro_range={'input_size': [size, size]})
    return MeasureTask(encoding.spec(), items, meta)
