"""The Single-Path supernet: stem, MBConv layers (searchable ones are superkernels), head, classifier.

``forward(x, thresholds)`` takes the architecture parameters as input, as the
DARTS supernet takes alpha/beta: a (searchable layers, 3) tensor of
``(t5x5, t100c, t50c)`` rows, one per searchable layer in layout order.
:class:`SinglePathTrunk` is the part without pooling and classifier, shared
by the classification supernet and the detection backbone
(:mod:`.search_backbone`), with what both derive from the thresholds.
"""
from __future__ import annotations

from typing import Iterable, Optional

import torch
import torch.nn as nn
from mmdet.registry import MODELS

from .derive import derive_architecture
from .layout import DEFAULT_HEAD, DEFAULT_STEM, BlockLike, Layout, make_layout
from .ops import DEFAULT_ACT, ConvBNAct, MBConv, reference_init
from .result import Architecture
from .search_op import Decisions, SuperKernelMBConv


class SinglePathTrunk(nn.Module):
    """Stem, the layers (superkernels where searchable) and the 1x1 head conv of a Single-Path supernet.

    Stages are numbered as :class:`~.backbone.SinglePathBackbone` numbers them
    (stage ``i`` < number of blocks: the output of block ``i``; the last: the
    head conv), so a derived network is tapped where its supernet was.

    Args:
        blocks, width_mult, stem_channels, head_channels: the layout (:func:`.layout.make_layout`).
        norm_cfg, act_cfg: BN (default the reference's) and activation (ReLU) of every layer.
    """

    # Below this share of the way to flipping a decision the thresholds are "unmoved" (not
    # calibrated by measurement: docs/search_quality.md, "Is there a signal?").
    UNMOVED = 0.1

    def __init__(self, blocks: Optional[Iterable[BlockLike]] = None, width_mult: float = 1.0,
                 stem_channels: int = DEFAULT_STEM, head_channels: int = DEFAULT_HEAD,
                 norm_cfg: Optional[dict] = None, act_cfg: Optional[dict] = DEFAULT_ACT) -> None:
        super().__init__()
        self.layout: Layout = make_layout(blocks, width_mult, stem_channels, head_channels)
        L = self.layout
        self.stem = ConvBNAct(3, L.stem_out, 3, 2, norm_cfg=norm_cfg, act_cfg=act_cfg)
        layers = []
        for spec in L.layers:
            if spec.searchable:
                layers.append(SuperKernelMBConv(spec.in_channels, spec.out_channels, spec.stride,
                                                spec.residual, norm_cfg, act_cfg))
            else:
                layers.append(MBConv(spec.in_channels, spec.out_channels, spec.kernel,
                                     spec.expansion, spec.stride, spec.residual, norm_cfg, act_cfg))
        self.layers = nn.ModuleList(layers)
        self.head = ConvBNAct(L.layers[-1].out_channels, L.head_out, 1, norm_cfg=norm_cfg,
                              act_cfg=act_cfg)
        self.searchable_index = [s.index for s in L.searchable]

    @property
    def num_searchable(self) -> int:
        return len(self.searchable_index)

    def superkernels(self) -> list[SuperKernelMBConv]:
        return [self.layers[i] for i in self.searchable_index]

    def _check(self, thresholds: torch.Tensor) -> None:
        if thresholds.shape != (self.num_searchable, 3):
            raise ValueError(f'{type(self).__name__}: thresholds must have shape '
                             f'({self.num_searchable}, 3), got {tuple(thresholds.shape)}')

    def decisions(self, thresholds: torch.Tensor) -> list[Decisions]:
        """The (undropped) decisions of every searchable layer."""
        self._check(thresholds)
        return [layer.decisions(t)[0] for layer, t in zip(self.superkernels(), thresholds)]

    def forward_stages(self, x: torch.Tensor, thresholds: torch.Tensor,
                       keep_prob: Optional[float] = None, rescale: bool = True,
                       last: Optional[int] = None) -> list[torch.Tensor]:
        """The stages' outputs (blocks, then the head conv) up to stage ``last`` (default all)."""
        self._check(thresholds)
        L = self.layout
        last = L.num_stages - 1 if last is None else last
        x = self.stem(x)
        t = iter(thresholds)
        outs = []
        for spec, layer in zip(L.layers, self.layers):
            if spec.block > last:
                break
            # by the layer's type, as forward_features: a benchmark may swap a superkernel out
            if isinstance(layer, SuperKernelMBConv):
                x = layer(x, next(t), keep_prob, rescale)
            else:
                x = layer(x)
            if spec.position == L.blocks[spec.block].repeats - 1:
                outs.append(x)
        if last == L.num_stages - 1:
            outs.append(self.head(x))
        return outs

    # ------------------------------------------------- what the thresholds select
    def decision_tensor(self, thresholds: torch.Tensor) -> torch.Tensor:
        """(searchable layers, 3) straight-through indicators (d5x5, d100c, d50c), undropped."""
        return torch.stack([torch.stack(d[:3]) for d in self.decisions(thresholds)])

    def derive_architecture(self, thresholds: torch.Tensor) -> Architecture:
        """The architecture the hard indicators of ``thresholds`` select (:mod:`.derive`)."""
        return derive_architecture(self.layout, self.decisions(thresholds))

    @torch.no_grad()
    def threshold_movement(self, thresholds: torch.Tensor) -> dict:
        """How far ``thresholds`` went from their start at 0 (every indicator on), for ``core.signal``.

        ``distance``: the largest |threshold| / the norm it is compared with, over the decisions
        that exist (a layer without a shortcut has no skip decision): 1 is where a decision flips.
        ``details``: decisions now off (all start on), the largest |threshold|, the smallest margin
        norm - threshold.
        """
        decisions = self.decisions(thresholds)
        t = thresholds.detach().float().cpu()
        norms = torch.stack([d.norms for d in decisions]).float().cpu()
        d = torch.stack([torch.stack(x[:3]) for x in decisions]).detach().cpu()
        live = norms > 0
        ratio = (t.abs() / norms.clamp_min(1e-12))[live]
        return {'distance': float(ratio.max()) if ratio.numel() else 0.,
                'threshold': self.UNMOVED,
                'measure': 'largest |threshold| / norm',
                'details': {'decisions_off': int((d[live] == 0).sum()),
                            'decisions': int(live.sum()),
                            'max_abs_threshold': float(t[live].abs().max()) if live.any() else 0.,
                            'min_margin': float((norms - t)[live].min()) if live.any() else 0.}}

    @torch.no_grad()
    def threshold_snapshot(self, thresholds: torch.Tensor) -> dict:
        """Thresholds, norms, decisions and the derived architecture, as plain values."""
        decisions = self.decisions(thresholds)
        d = torch.stack([torch.stack(x[:3]) for x in decisions])
        return {
            'thresholds': thresholds.detach().cpu().tolist(),
            'norms': torch.stack([x.norms for x in decisions]).cpu().tolist(),
            'decisions': d.cpu().tolist(),
            'searchable_layers': list(self.searchable_index),
        }


@MODELS.register_module()
class SinglePathSupernet(SinglePathTrunk):
    """The searchable MobileNetV2-style network of Single-Path NAS.

    Args:
        num_classes: classifier outputs (1000 for ImageNet).
        blocks: the block table (dicts or BlockSpecs); default the reference's.
        width_mult: width multiplier (widths rounded to multiples of 8).
        stem_channels, head_channels: before the multiplier (32 and 1280).
        dropout: before the classifier (0.2 in the reference).
        norm_cfg, act_cfg: BN (default momentum 0.01, eps 1e-3, the
            reference's) and activation (ReLU) of every layer.
    """

    def __init__(self, num_classes: int = 1000, blocks: Optional[Iterable[BlockLike]] = None,
                 width_mult: float = 1.0, stem_channels: int = DEFAULT_STEM,
                 head_channels: int = DEFAULT_HEAD, dropout: float = 0.2,
                 norm_cfg: Optional[dict] = None, act_cfg: Optional[dict] = DEFAULT_ACT) -> None:
        if num_classes < 1:
            raise ValueError(f'num_classes must be >= 1, got {num_classes}')
        if not 0 <= dropout < 1:
            raise ValueError(f'dropout must be in [0, 1), got {dropout}')
        super().__init__(blocks, width_mult, stem_channels, head_channels, norm_cfg, act_cfg)
        self.dropout = nn.Dropout(dropout)
        self.classifier = nn.Linear(self.layout.head_out, num_classes)
        self.num_classes = num_classes
        reference_init(self)

    def forward_features(self, x: torch.Tensor, thresholds: torch.Tensor,
                         keep_prob: Optional[float] = None, rescale: bool = True) -> torch.Tensor:
        self._check(thresholds)
        x = self.stem(x)
        t = iter(thresholds)
        for layer in self.layers:
            if isinstance(layer, SuperKernelMBConv):
                x = layer(x, next(t), keep_prob, rescale)
            else:
                x = layer(x)
        return self.head(x)

    def forward(self, x: torch.Tensor, thresholds: torch.Tensor,
                keep_prob: Optional[float] = None, rescale: bool = True) -> torch.Tensor:
        """Logits; ``keep_prob`` applies the indicator dropout (the warm-up)."""
        x = self.forward_features(x, thresholds, keep_prob, rescale)
        x = torch.flatten(nn.functional.adaptive_avg_pool2d(x, 1), 1)
        return self.classifier(self.dropout(x))
