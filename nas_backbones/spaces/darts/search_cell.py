"""A searchable cell: every node sums mixed ops over all earlier states (14 edges for 4 nodes)."""
from __future__ import annotations

from typing import Optional, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F

from ...utils.recompute import recomputed
from .layout import CellSpec
from .ops import FactorizedReduce, ReLUConvBN, build_op
from .search_op import EdgeInput, OpWeights, PartialMixedOp, check_impl, dense_grad, fast_policy, shuffle_cat
from .topology import cell_edges, node_edge_ranges


class SearchCell(nn.Module):
    """Node_i = sum_j beta_ij * MixedOp_ij(h_j) (beta = 1 without edge normalization).

    Computed as the reference does, rearranged (the maths is unchanged): the
    edge weight is folded into the op weights of the partial channels and
    applied to the bypassed channels directly, both are summed over the
    node's edges, and the node is assembled and shuffled once (the shuffle is
    the same permutation for every edge of a node). Each state's
    :class:`EdgeInput` shares the slice, ReLU and pools of all its edges.
    The layers of a plain-Sequential candidate op are called one by one, so a
    forward hook on the op itself does not fire (hooks on its layers do).

    ``aux_skip``: DARTS-' auxiliary skip connections (Chu et al., ICLR 2021),
    one per edge, built only when on (the plain cell has no trace of them):
    node_i also receives ``aux_weight * sum_j aux_ij(h_j)``, where ``aux_ij``
    is the op ``skip_connect`` is on that edge (identity; at stride 2 an
    affine-free FactorizedReduce, its convs trained with the weights). It is
    added in :meth:`aux_term`, which both impls call, to the whole node:

    - outside the softmax-weighted sum and outside the edge weight beta: it
      is no candidate, no architecture parameter steers it, and no derivation
      reads it;
    - on the full edge input h_j (all C channels) and the full edge output,
      after PC-DARTS' shuffle: DARTS-' edge is ``MixedOp(x) + w * skip(x)``
      with the mixed op as a whole, and PC-DARTS' mixed op is the shuffled
      ``cat[partial ops, bypass]``, so the residual spans every channel as
      it does in DARTS (K=1 is exactly the paper's edge).
    """

    def __init__(self, spec: CellSpec, steps: int, multiplier: int,
                 primitives: Sequence[str], partial_k: int, recompute: bool = False,
                 impl: str = 'fast', channels_last: Optional[bool] = None,
                 fused: Optional[bool] = None, aux_skip: bool = False) -> None:
        super().__init__()
        self.impl = check_impl(impl)
        self.channels_last, self.fused = channels_last, fused
        self.recompute = recompute  # the preprocessing's conv + BN in backward (keeps only its input)
        C = spec.C
        self.reduction = spec.reduction
        self.steps = steps
        self.multiplier = multiplier
        self.partial_k = partial_k
        if spec.reduction_prev:
            self.preprocess0 = FactorizedReduce(spec.C_prev_prev, C, affine=False)
        else:
            self.preprocess0 = ReLUConvBN(spec.C_prev_prev, C, 1, 1, 0, affine=False)
        self.preprocess1 = ReLUConvBN(spec.C_prev, C, 1, 1, 0, affine=False)
        self._ops = nn.ModuleList(PartialMixedOp(C, e.stride, primitives, partial_k, impl, channels_last,
                                                 fused) for e in cell_edges(steps, spec.reduction))
        # built only when on: the plain cell's parameters, and the RNG draws that initialise them, stay as they are
        self.aux_ops = nn.ModuleList(build_op('skip_connect', C, e.stride, affine=False)
                                     for e in cell_edges(steps, spec.reduction)) if aux_skip else None

    def _preprocess(self, layer: nn.Module, a: torch.Tensor) -> torch.Tensor:
        if self.recompute:  # `a` is kept for the conv's backward anyway
            return recomputed(layer, layer.forward_activated, a)
        return layer.forward_activated(a)

    def aux_term(self, states: list[torch.Tensor], start: int, n: int,
                 aux_weight: float) -> Optional[torch.Tensor]:
        """``aux_weight * sum_j aux_j(h_j)`` over one node's ``n`` edges from ``start`` (DARTS-).

        None when the cell has no auxiliary skips or the weight is 0 (the end
        of its decay): the term is then exactly zero, so it is not computed.
        """
        if self.aux_ops is None or aux_weight == 0:
            return None
        return aux_weight * sum(self.aux_ops[start + j](states[j]) for j in range(n))

    def forward(self, s0: torch.Tensor, s1: torch.Tensor, weights: torch.Tensor,
                edge_weights: Optional[torch.Tensor] = None, activated: bool = False,
                aux_weight: float = 0.) -> torch.Tensor:
        """``weights``: (edges, ops) op weights; ``edge_weights``: (edges,) or None (DARTS).

        ``activated``: the inputs are already ``relu(s0), relu(s1)``, the ReLU
        both preprocessing layers open with. Every cell output feeds two
        cells, so the supernet computes (and keeps for backward) that ReLU
        once, not once in each. ``aux_weight``: the weight of the auxiliary
        skips (DARTS-; ignored without them).
        """
        if self.impl == 'reference':
            return self.forward_reference(s0, s1, weights, edge_weights, activated, aux_weight)
        if activated:
            a0, a1 = s0, s1
        else:
            a0 = F.relu(s0)
            a1 = a0 if s1 is s0 else F.relu(s1)
        states = [self._preprocess(self.preprocess0, a0), self._preprocess(self.preprocess1, a1)]
        k = self.partial_k
        policy = fast_policy(a1.device, self.channels_last, self.fused)
        # beta folded into the op weights of the partial channels; sliced once for the whole cell
        op_w = OpWeights(weights if edge_weights is None else weights * edge_weights.unsqueeze(-1),
                         states[1].size(1) // k)
        edge_w = None if edge_weights is None else edge_weights.unbind()
        inputs: list[EdgeInput] = []
        offset = 0
        for _ in range(self.steps):
            part = bypass = None
            owned = False  # whether `bypass` is a fresh tensor that may be added to in place
            for j, h in enumerate(states):
                e = offset + j
                op: PartialMixedOp = self._ops[e]
                if j == len(inputs):
                    inputs.append(EdgeInput(h, k, op.bypass_pool, policy))
                inp = inputs[j]
                part = op.partial(inp, op_w, e, part)
                if k > 1:
                    b = inp.bypass() if edge_w is None else inp.bypass() * edge_w[e]
                    if bypass is None:
                        bypass, owned = b, edge_w is not None
                    elif owned:
                        bypass = bypass.add_(b)
                    else:
                        bypass, owned = bypass + b, True
            node = dense_grad(part) if k == 1 else shuffle_cat(part, bypass, k)
            aux = self.aux_term(states, offset, len(states), aux_weight)
            offset += len(states)
            states.append(node if aux is None else node + aux)
        return torch.cat(states[-self.multiplier:], dim=1)

    def forward_reference(self, s0: torch.Tensor, s1: torch.Tensor, weights: torch.Tensor,
                          edge_weights: Optional[torch.Tensor] = None,
                          activated: bool = False, aux_weight: float = 0.) -> torch.Tensor:
        """Node_i = sum_j beta_ij * MixedOp_ij(h_j) (+ the auxiliary skips), one edge at a time, as the
        papers write it."""
        pre0, pre1 = ((p.forward_activated if activated else p)
                      for p in (self.preprocess0, self.preprocess1))
        states = [pre0(s0), pre1(s1)]
        for start, n in node_edge_ranges(self.steps):
            node = sum(
                (1. if edge_weights is None else edge_weights[start + j])
                * self._ops[start + j].forward_reference(states[j], weights[start + j])
                for j in range(n))
            aux = self.aux_term(states, start, n, aux_weight)
            states.append(node if aux is None else node + aux)
        return torch.cat(states[-self.multiplier:], dim=1)
