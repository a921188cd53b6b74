"""The Single-Path supernet's trunk as an MMDetection backbone: the superkernel search inside a detector.

Single-Path NAS is one-level (as :class:`.search_space.SinglePathSpace`):
one optimizer over the detector's weights and the thresholds together
(``optim_wrapper`` with a ``weights`` entry only, ``train_cfg.arch_dataloader=None``),
on the detector's loss plus ``lambda * scale * ln R``. During the warm-up the
indicators are dropped with probability ``1 - keep_prob`` and lambda is 0;
the architecture module (:class:`~.arch.SinglePathArch`) holds the warm-up, the
backbone drops the indicators (:meth:`SinglePathSearchBackbone.arch_weights`)
and the cost module (:class:`~.cost.RuntimeCost`) switches lambda, both reading the
same phase.
"""
from __future__ import annotations

from typing import Iterable, Optional, Sequence

import torch
import torch.nn as nn
from mmdet.registry import MODELS

from ...core.detector_space import SearchableBackbone
from ...core.search_space import Tracking
from .arch import SinglePathArch
from .cost import RuntimeCost, runtime_entry
from .layout import DEFAULT_HEAD, DEFAULT_STEM, BlockLike
from .ops import DEFAULT_ACT, reference_init
from .result import Architecture
from .supernet import SinglePathTrunk
from .tracking import singlepath_tracking


@MODELS.register_module()
class SinglePathSearchBackbone(SearchableBackbone, SinglePathTrunk):
    """The Single-Path supernet's stem, superkernel layers and head conv, returning a neck's stages.

    Stages as :class:`~nas_backbones.spaces.singlepath.backbone.SinglePathBackbone`
    numbers them (block ``i``'s output, then the head conv), so the
    ``architecture.json`` derived from it builds a ``SinglePathBackbone`` whose
    ``out_indices`` tap the same places: SSDLite's ``(4, 7)`` are the stride-16
    block and the head conv. The thresholds are the space's
    (:class:`DetectorSearchSpace` feeds them, see :class:`SearchableBackbone`);
    ``build_arch`` makes them, ``build_cost`` the runtime term.

    Args:
        blocks, width_mult, stem_channels, head_channels: the layout (default the
            reference's table at width 1).
        out_indices: which stages to return (negative: from the last, as in Python).
        norm_cfg, act_cfg: BN and activation of every layer (the reference's by default).
        initialise: the reference's initialisation now; False leaves it to the model around the
            trunk (``SearchClassifier`` calls :meth:`init_classifier` once its linear layer
            exists, so trunk and classifier are initialised together, as in ``SinglePathSupernet``).
    """

    def __init__(self, blocks: Optional[Iterable[BlockLike]] = None, width_mult: float = 1.0,
                 stem_channels: int = DEFAULT_STEM, head_channels: int = DEFAULT_HEAD,
                 out_indices: Sequence[int] = (4, 7), norm_cfg: Optional[dict] = None,
                 act_cfg: Optional[dict] = DEFAULT_ACT, initialise: bool = True) -> None:
        super().__init__(blocks, width_mult, stem_channels, head_channels, norm_cfg, act_cfg)
        L = self.layout
        out_indices = tuple(L.num_stages + i if isinstance(i, int) and not isinstance(i, bool)
                            and i < 0 else i for i in out_indices)
        if not out_indices:
            raise ValueError('SinglePathSearchBackbone: out_indices is empty')
        for i in out_indices:
            if isinstance(i, bool) or not isinstance(i, int) or not 0 <= i < L.num_stages:
                raise ValueError(f'SinglePathSearchBackbone: out_indices: stage {i!r} does not exist '
                                 f'(0..{L.num_stages - 1}: blocks, then the head conv)')
        self.out_indices = out_indices
        self.num_stages = L.num_stages
        self.out_channels = list(L.block_out) + [L.head_out]
        self.strides = list(L.stage_strides)
        self._cost: list[RuntimeCost] = []  # what build_cost made, for the snapshot's runtime
        if initialise:
            reference_init(self)

    def init_classifier(self, model: nn.Module) -> None:
        """The reference's initialisation of a classifier around this trunk, trunk included."""
        reference_init(model)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        thresholds, keep_prob, rescale = self.current_arch_weights()
        stages = self.forward_stages(x, thresholds, keep_prob, rescale, max(self.out_indices))
        return tuple(stages[i] for i in self.out_indices)

    # ------------------------------------------------------ SearchableBackbone
    def build_arch(self, **cfg) -> SinglePathArch:
        """The thresholds (all 0: the full k5/e6 supernet), the warm-up (``warmup_epochs`` or
        ``warmup_iters``, ``keep_prob``, ``dropout_rescale``) and the L2 term (``weight_decay``)."""
        return SinglePathArch(self.num_searchable, **cfg)

    @staticmethod
    def decayed_parameters(arch: SinglePathArch, model: nn.Module) -> list[nn.Parameter]:
        """What the L2 term covers: every parameter of ``model`` but BatchNorm's, then the thresholds."""
        norm = {id(p) for m in model.modules()
                if isinstance(m, nn.modules.batchnorm._BatchNorm) for p in m.parameters()}
        return [p for p in model.parameters() if id(p) not in norm] + list(arch.parameters())

    def loss_terms(self, arch: SinglePathArch, model: nn.Module) -> dict[str, torch.Tensor]:
        """The L2 term ``loss_wd`` (with ``arch.weight_decay``) and, with a runtime cost, the runtime
        estimate R of the current thresholds (``runtime``: logged, no gradient)."""
        terms = {}
        if arch.weight_decay:
            terms['loss_wd'] = 0.5 * arch.weight_decay * sum(
                p.pow(2).sum() for p in self.decayed_parameters(arch, model))
        if self._cost:
            with torch.no_grad():
                terms['runtime'] = self._cost[-1].expected_runtime(arch).detach().float()
        return terms

    def arch_weights(self, arch: SinglePathArch) -> tuple:
        """The thresholds, and the indicator keep probability in a training forward of the warm-up."""
        keep = arch.keep_prob if self.training and arch.in_warmup else None
        return arch(), keep, arch.dropout_rescale

    def derive(self, arch: nn.Module) -> Architecture:
        return self.derive_architecture(arch())

    def movement(self, arch: nn.Module) -> dict:
        return self.threshold_movement(arch())

    @torch.no_grad()
    def snapshot(self, arch: SinglePathArch) -> dict:
        entry = self.threshold_snapshot(arch())
        entry.update(in_warmup=arch.in_warmup, architecture=self.derive(arch).to_dict())
        if self._cost:
            cost = self._cost[-1]
            entry.update(runtime_entry(cost.runtime, self.decision_tensor(arch()),
                                       cost.current_lambda(arch)))
        return entry

    def tracking(self, arch: SinglePathArch, images: bool = True) -> Tracking:
        """Thresholds, R and lambda, the derived architecture's text and strip (:mod:`.tracking`)."""
        return singlepath_tracking(self, arch, self._cost[-1] if self._cost else None, images)

    def build_cost(self, **cfg) -> RuntimeCost:
        """``lambda * scale * ln R``: ``runtime_lambda`` (0.02), ``runtime_scale`` (1e3) and the
        :class:`RuntimeModel`'s ``metric``, ``input_size`` (the detector's), ``latency_table``, ..."""
        cost = RuntimeCost(self, **cfg)
        self._cost = [cost]
        return cost
