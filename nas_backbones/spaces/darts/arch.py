"""The architecture parameters alpha (op weights) and beta (edge weights), with the search's stabilisers.

Every task space of the DARTS family (the classifier's
:class:`~.search_space.DartsClassifierSpace`, the detector's
:class:`~nas_backbones.core.detector_space.DetectorSearchSpace` through
:class:`~.search_backbone.PCDartsSearchBackbone`) takes the stabilisers of
:mod:`.stabilizers` from here: the derivation (``max_skips``), the weights a
forward takes (``perturb``'s noise inside the weight step, ``aux_skip``'s
weight), the regularisers of the architecture loss (``beta_decay``,
``fair_darts``' zero-one loss) and the relaxation (``fair_darts``: sigmoid).
"""
from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator, Optional, Sequence

import torch
import torch.nn as nn

from .derive import derive_genotype
from .relaxation import RELAXATIONS, node_softmax, relaxed
from .result import Genotype
from .stabilizers import (
    POSITIVE,
    aux_skip_weight,
    beta_decay_loss,
    check_aux_skip,
    check_max_skips,
    check_option,
    perturb_op_weights,
    search_progress,
    zero_one_loss,
)
from .topology import node_edge_ranges, num_edges


class ArchParameters(nn.Module):
    """alpha (edges x ops) and beta (edges) for normal and reduction cells, shared by all cells of a kind.

    They live in their own module so that the weight optimizer never sees
    them (the reference kept them out of ``parameters()`` by making them
    plain tensors), while DDP still averages their gradients and
    checkpoints still hold them.

    ``relaxation``: op weights softmax(alpha) over each edge (DARTS, the
    default) or sigmoid(alpha) for each op on its own (Fair DARTS), in the
    forward, the derivation and the snapshots alike.

    Stabilisers (:mod:`.stabilizers` has the papers; all off by default, which
    is the reference search): ``max_skips`` (P-DARTS' cap on the normal cell's
    skips, in :meth:`derive`), ``beta_decay=dict(weight=...)`` and
    ``fair_darts=dict(zero_one=10.0)`` (terms of :meth:`regularizers`; Fair
    DARTS also sets ``relaxation='sigmoid'``), ``perturb=dict(epsilon=...)``
    (SDARTS-RS: :meth:`search_weights` is noisy inside :meth:`weight_step`) and
    ``aux_skip=dict(start=1.0, schedule='linear')`` (DARTS-: :meth:`aux_weight`;
    the trunk's cells must be built with ``aux_skip=True``).
    """

    def __init__(self, steps: int, primitives: Sequence[str], multiplier: int,
                 edge_norm: bool = True, init_std: float = 1e-3,
                 relaxation: str = 'softmax', max_skips: Optional[int] = None,
                 beta_decay: Optional[dict] = None, perturb: Optional[dict] = None,
                 aux_skip: Optional[dict] = None, fair_darts: Optional[dict] = None) -> None:
        super().__init__()
        self.max_skips = check_max_skips(max_skips)
        self.beta_decay = check_option('beta_decay', beta_decay, {'weight': POSITIVE})
        self.perturb = check_option('perturb', perturb, {'epsilon': POSITIVE})
        self.aux_skip = check_aux_skip(aux_skip)
        self.fair_darts = check_option('fair_darts', fair_darts,
                                       {'zero_one': (10., lambda v: v >= 0, 'a number >= 0')})
        if self.fair_darts is not None:
            if relaxation != 'softmax':
                raise ValueError(f'fair_darts sets the relaxation to sigmoid; got relaxation={relaxation!r} too')
            relaxation = 'sigmoid'
        if relaxation not in RELAXATIONS:
            raise ValueError(f'relaxation must be one of {RELAXATIONS}, got {relaxation!r}')
        self._perturbing = False
        self.relaxation = relaxation
        self.steps = steps
        self.multiplier = multiplier
        self.primitives = tuple(primitives)
        self.edge_norm = edge_norm
        E, O = num_edges(steps), len(primitives)
        self.alphas_normal = nn.Parameter(init_std * torch.randn(E, O))
        self.alphas_reduce = nn.Parameter(init_std * torch.randn(E, O))
        if edge_norm:
            self.betas_normal = nn.Parameter(init_std * torch.randn(E))
            self.betas_reduce = nn.Parameter(init_std * torch.randn(E))
        else:
            self.register_parameter('betas_normal', None)
            self.register_parameter('betas_reduce', None)

    def op_weights(self, reduction: bool) -> torch.Tensor:
        return relaxed(self.alphas_reduce if reduction else self.alphas_normal, self.relaxation)

    def edge_weights(self, reduction: bool) -> Optional[torch.Tensor]:
        betas = self.betas_reduce if reduction else self.betas_normal
        return None if betas is None else node_softmax(betas, self.steps)

    def forward(self) -> dict[bool, tuple[torch.Tensor, Optional[torch.Tensor]]]:
        """The weights a supernet forward needs, keyed by ``reduction``."""
        return {r: (self.op_weights(r), self.edge_weights(r)) for r in (False, True)}

    # ------------------------------------------------------------ the search's use
    def search_weights(self) -> dict[bool, tuple[torch.Tensor, Optional[torch.Tensor]]]:
        """What a supernet forward of the search takes: :meth:`forward`, with SDARTS-RS' noise
        inside :meth:`weight_step` (detached there: the weight step does not train alpha)."""
        weights = self()
        if self._perturbing:
            eps = self.perturb['epsilon']
            weights = {r: (perturb_op_weights(w.detach(), eps), None if ew is None else ew.detach())
                       for r, (w, ew) in weights.items()}
        return weights

    @contextmanager
    def weight_step(self) -> Iterator[None]:
        """Around the weight step of a bilevel search: SDARTS-RS perturbs the op weights there."""
        self._perturbing = self.perturb is not None
        try:
            yield
        finally:
            self._perturbing = False

    def aux_weight(self) -> float:
        """DARTS-' auxiliary-skip weight now (0 without ``aux_skip``, and at the end of the search)."""
        return 0. if self.aux_skip is None else aux_skip_weight(self.aux_skip, search_progress())

    def regularizers(self) -> list[torch.Tensor]:
        """The configured terms of the architecture loss: beta-DARTS', then Fair DARTS' zero-one."""
        alphas = [self.alphas_normal, self.alphas_reduce]
        terms = []
        if self.beta_decay is not None:
            terms.append(beta_decay_loss(alphas, self.beta_decay['weight'] * search_progress()))
        if self.fair_darts is not None and self.fair_darts['zero_one'] > 0:
            keep = [k for k, p in enumerate(self.primitives) if p != 'none']
            terms.append(zero_one_loss(alphas, self.fair_darts['zero_one'], keep))
        return terms

    def derive(self) -> Genotype:
        """The search's result: the genotype, with this search's skip cap."""
        return self.genotype(max_skips=self.max_skips)

    @torch.no_grad()
    def genotype(self, max_skips: Optional[int] = None) -> Genotype:
        """The derived genotype; ``max_skips``: P-DARTS' cap on skips in the normal cell."""
        return derive_genotype(self.alphas_normal, self.alphas_reduce, self.betas_normal,
                               self.betas_reduce, self.primitives, self.steps, self.multiplier,
                               max_skips=max_skips, relaxation=self.relaxation)

    # Below this distance of softmax(alpha) from uniform the search is "unmoved" (docs/search_quality.md:
    # the measured short detection searches ended within 0.012 of it).
    UNMOVED = 0.05

    @torch.no_grad()
    def movement(self) -> dict:
        """How far the op weights are from the uniform state a search starts at (``core.signal``).

        ``distance``: the largest |op weight - uniform| over both cells (uniform: 1/ops for
        softmax, 0.5 for Fair DARTS' sigmoid); ``details``: its maximum and mean per cell kind,
        and the largest |node-softmax(beta) - 1/inputs of the node| per kind.
        """
        details: dict[str, float] = {}
        worst = 0.
        for kind, r in (('normal', False), ('reduce', True)):
            w = self.op_weights(r).detach().float()
            uniform = 1. / w.size(-1) if self.relaxation == 'softmax' else 0.5
            dev = (w - uniform).abs()
            details[f'alpha_{kind}_max'] = float(dev.max())
            details[f'alpha_{kind}_mean'] = float(dev.mean())
            worst = max(worst, float(dev.max()))
        for kind, r in (('normal', False), ('reduce', True)):
            ew = self.edge_weights(r)
            if ew is not None:
                uniform = torch.cat([torch.full((n,), 1. / n) for _, n in node_edge_ranges(self.steps)])
                details[f'beta_{kind}_max'] = float((ew.detach().float().cpu() - uniform).abs().max())
        what = 'softmax(alpha)' if self.relaxation == 'softmax' else 'sigmoid(alpha)'
        return {'distance': worst, 'threshold': self.UNMOVED, 'details': details,
                'measure': f'largest |{what} - uniform|'}

    def snapshot(self) -> dict[str, list]:
        """The op weights (softmax(alpha), or sigmoid(alpha) for Fair DARTS) and node-softmax(beta), as plain lists."""
        out = {}
        for kind, r in (('normal', False), ('reduce', True)):
            out[f'alpha_{kind}'] = self.op_weights(r).detach().cpu().tolist()
            ew = self.edge_weights(r)
            out[f'beta_{kind}'] = None if ew is None else ew.detach().cpu().tolist()
        return out
