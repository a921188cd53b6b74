"""The partial-channel mixed operation of PC-DARTS (K=1 is DARTS' MixedOp): the paper's equation and fast kernels.

:meth:`PartialMixedOp.forward_reference` is the equation as the paper and
the reference code (``model_search.MixedOp``) state it. The fast path
computes the same maths arranged to do less (measured in
``benchmarks/README.md``, tested equal in ``tests/spaces/darts/test_perf_equivalence.py``):

- what every edge leaving one state computes alike is computed once per
  state (:class:`EdgeInput`): the channel slice, the ReLU that opens every
  conv op, the parameter-free 3x3 pools and the bypass max-pool;
- an op's weight is folded into its closing affine-free BatchNorm
  (``w * BN(z)`` is BN with weight ``w``), so no product is computed or kept
  for backward, and the op outputs are summed in place;
- the channel shuffle is done once per node, not once per edge (see
  :class:`~nas_backbones.spaces.darts.search_cell.SearchCell`);
- what runs where is one decision per device, :func:`fast_policy`: the
  memory layout of the candidate ops and whether their weights are fused
  into the BatchNorms (:class:`FastPolicy`);
- channels-last float32 BatchNorms on the CPU run :mod:`.precise_bn` in
  training: torch's own kernel there loses precision (see that module).

Which path runs is the supernet's ``impl`` argument (``'fast'`` or
``'reference'``), handed down to every cell and mixed op.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F

from .ops import FactorizedReduce, build_op
from .precise_bn import batch_norm_cl

# Parameter-free modules that open candidate ops: computed once per input state and layout
# (exact types: a subclass may compute something else).
SHARED_HEADS = (nn.ReLU, nn.MaxPool2d, nn.AvgPool2d)
# With channels-last ops, pointwise convs and BatchNorms narrower than this run in NCHW,
# where the CPU kernels are faster for few channels (benchmarks/README.md).
CL_MIN_CHANNELS = 16


def channel_shuffle(x: torch.Tensor, groups: int) -> torch.Tensor:
    """(B, g*c, H, W) -> interleave the g groups, as PC-DARTS does after the partial op."""
    b, c, h, w = x.shape
    return x.view(b, groups, c // groups, h, w).transpose(1, 2).reshape(b, c, h, w)


def to_layout(x: torch.Tensor, channels_last: bool) -> torch.Tensor:
    return x.contiguous(memory_format=torch.channels_last if channels_last else torch.contiguous_format)


def is_channels_last(x: torch.Tensor) -> bool:
    return x.is_contiguous(memory_format=torch.channels_last) and not x.is_contiguous()


class _ShuffleCat(torch.autograd.Function):
    """``channel_shuffle(cat([part, bypass], 1), groups)`` in one copy; the gradients go back dense.

    Every op of every edge of a node receives the partial channels'
    gradient; handing it over dense (in the layout of ``part``) once is much
    cheaper than each op's backward reading a strided slice.
    """

    @staticmethod
    def forward(ctx, part: torch.Tensor, bypass: torch.Tensor, groups: int) -> torch.Tensor:
        b, c, h, w = part.shape
        ctx.groups, ctx.part_cl = groups, is_channels_last(part)
        out = part.new_empty(b, c, groups, h, w)
        out[:, :, 0] = part
        out[:, :, 1:] = bypass.reshape(b, groups - 1, c, h, w).transpose(1, 2)
        return out.view(b, groups * c, h, w)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        b, C, h, w = grad.shape
        k = ctx.groups
        g = grad.reshape(b, C // k, k, h, w)
        g_part = to_layout(g[:, :, 0], ctx.part_cl)
        g_bypass = g[:, :, 1:].transpose(1, 2).reshape(b, C - C // k, h, w)
        return g_part, g_bypass, None


class _DenseGrad(torch.autograd.Function):
    """Identity whose backward hands the gradient over dense, in the layout of the input."""

    @staticmethod
    def forward(ctx, x: torch.Tensor) -> torch.Tensor:
        ctx.cl = is_channels_last(x)
        return x.view_as(x)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        return to_layout(grad, ctx.cl)


def shuffle_cat(part: torch.Tensor, bypass: torch.Tensor, groups: int) -> torch.Tensor:
    """``channel_shuffle(torch.cat([part, bypass], 1), groups)``."""
    return _ShuffleCat.apply(part, bypass, groups)


def dense_grad(x: torch.Tensor) -> torch.Tensor:
    """``x``, with its gradient made dense once before the many ops that read it."""
    return _DenseGrad.apply(x) if x.requires_grad else x


def search_op(name: str, C: int, stride: int) -> nn.Module:
    """A candidate op as the search builds it: no affine BN, and a BN after each pool."""
    op = build_op(name, C, stride, affine=False)
    if 'pool' in name:
        op = nn.Sequential(op, nn.BatchNorm2d(C, affine=False))
    return op


IMPLS = ('fast', 'reference')


def check_impl(impl: str) -> str:
    if impl not in IMPLS:
        raise ValueError(f'impl must be one of {IMPLS}, got {impl!r}')
    return impl


@dataclass(frozen=True)
class FastPolicy:
    """What the fast path does on one device.

    ``channels_last``: the candidate ops run in channels-last (NHWC), each
    layer in its faster layout (:func:`layer_layout`), else in NCHW.
    ``fused``: an op's weight is folded into its closing BatchNorm and its
    opening ReLU or pool is shared by every op of the state (fewer kernels,
    nothing extra kept for backward); else each candidate op is called whole
    and multiplied by its weight. Either way the work shared by the edges of
    a state (slice, bypass) and the one shuffle per node stay.
    """

    channels_last: bool
    fused: bool


def fast_policy(device: torch.device, channels_last: Optional[bool] = None,
                fused: Optional[bool] = None) -> FastPolicy:
    """The fast path's device policy: the one place that says what it does where.

    ``channels_last`` / ``fused`` True or False force that choice; None decides by device:

    - CPU: channels-last, fused (oneDNN's depthwise convolutions and pools are
      faster in NHWC; folding the op weights saves time and activations);
    - CUDA (and any other device): NCHW, fused (PyTorch's own NCHW depthwise
      kernels serve the ops' C/K = 4-64 channels, a layout switch is a copy
      kept for backward, and fusing does the same maths in fewer kernels).

    What has been measured, on which device, and the run that would confirm or
    overturn each choice (``benchmarks/gpu.py``'s ``layouts``) are in
    ``benchmarks/README.md``.
    """
    if channels_last is None:
        channels_last = device.type == 'cpu'
    return FastPolicy(channels_last=channels_last, fused=True if fused is None else fused)


class OpWeights:
    """The weights of every op on a set of edges, sliced once (not one indexing op per use).

    ``scalar(e, o)`` is a 0-d tensor, ``channel_vector(e, o)`` the same value
    repeated over the ``channels`` of the ops' output (a BatchNorm weight).
    """

    def __init__(self, weights: torch.Tensor, channels: int) -> None:
        E, O = weights.shape
        self.num_ops = O
        self.channels = channels
        self._scalars = weights.flatten().unbind()
        # dense rows: the CPU channels-last BatchNorm backward misreads an expanded weight
        vectors = weights.unsqueeze(-1).expand(E, O, channels).contiguous()
        self._vectors = vectors.view(E * O, channels).unbind()

    def scalar(self, e: int, o: int) -> torch.Tensor:
        return self._scalars[e * self.num_ops + o]

    def channel_vector(self, e: int, o: int) -> torch.Tensor:
        return self._vectors[e * self.num_ops + o]


def bn_scaled(bn: nn.BatchNorm2d, z: torch.Tensor, scale: Optional[torch.Tensor],
              scale_c: Optional[torch.Tensor] = None) -> torch.Tensor:
    """``scale * bn(z)`` in one BatchNorm call (nn.BatchNorm2d.forward, with the scale as affine weight).

    ``scale_c``: ``scale`` repeated over the channels, if already at hand; ``scale`` None: ``bn(z)``.
    In training, a float32 channels-last ``z`` on the CPU is normalised by
    :func:`~.precise_bn.batch_norm_cl` (torch's channels-last kernel loses precision there).
    """
    momentum = 0. if bn.momentum is None else bn.momentum
    if bn.training and bn.track_running_stats and bn.num_batches_tracked is not None:
        bn.num_batches_tracked.add_(1)
        if bn.momentum is None:
            momentum = 1. / float(bn.num_batches_tracked)
    use_batch = bn.training or (bn.running_mean is None and bn.running_var is None)
    track = not bn.training or bn.track_running_stats
    if scale is None:  # plain bn(z)
        weight, scale = bn.weight, 1.
    elif bn.weight is not None:
        weight = bn.weight * scale
    elif scale_c is not None and scale_c.shape == (z.size(1),) and scale_c.is_contiguous():
        weight = scale_c
    else:  # contiguous: the CPU channels-last BatchNorm backward misreads an expanded weight.
        weight = scale.expand(z.size(1)).contiguous()
    bias = None if bn.bias is None else bn.bias * scale
    if use_batch and bias is None and precise_cl(z):
        return batch_norm_cl(bn, z, weight, momentum)
    return F.batch_norm(z, bn.running_mean if track else None, bn.running_var if track else None,
                        weight, bias, use_batch, momentum, bn.eps)


def precise_cl(z: torch.Tensor) -> bool:
    """Whether a training-mode BatchNorm of ``z`` takes :func:`~.precise_bn.batch_norm_cl`:
    float32 channels-last on the CPU, where torch's own kernel loses precision."""
    return z.dtype == torch.float32 and z.device.type == 'cpu' and is_channels_last(z)


def batch_norm(bn: nn.BatchNorm2d, z: torch.Tensor) -> torch.Tensor:
    """``bn(z)`` for a candidate op's inner BatchNorm, precise where :func:`precise_cl` says so."""
    if type(bn) is nn.BatchNorm2d and bn.training and bn.bias is None and precise_cl(z):
        return bn_scaled(bn, z, None)
    return bn(z)


def layer_layout(m: nn.Module, channels_last: bool) -> Optional[bool]:
    """The layout ``m`` runs fastest in (True: channels-last), or None to keep the input's."""
    if not channels_last:
        return False
    if isinstance(m, (nn.MaxPool2d, nn.AvgPool2d)):
        return True
    if isinstance(m, nn.Conv2d):
        if m.groups == m.in_channels:  # depthwise: faster in channels-last, but for dilated and strided
            return m.stride == (1, 1) or m.dilation == (1, 1)
        return m.in_channels >= CL_MIN_CHANNELS
    if isinstance(m, nn.BatchNorm2d):
        return m.num_features >= CL_MIN_CHANNELS
    return None


def _leaves(module: nn.Module) -> Optional[list[nn.Module]]:
    """The layers of a (nested) plain Sequential in call order; None if ``module`` is not one."""
    if not isinstance(module, nn.Sequential) or type(module).forward is not nn.Sequential.forward:
        return None
    out: list[nn.Module] = []
    for m in module:
        sub = _leaves(m)
        if sub is None:
            out.append(m)
        else:
            out.extend(sub)
    return out


class EdgeInput:
    """One state as the edges leaving it see it; what they all compute alike is computed once.

    ``k``: the partial-channel K; ``bypass_pool``: the stride-2 max-pool of the
    bypassed channels (None at stride 1 or K=1); ``policy``: how the
    candidate ops run on this device (:func:`fast_policy`).
    """

    def __init__(self, h: torch.Tensor, k: int, bypass_pool: Optional[nn.Module],
                 policy: FastPolicy) -> None:
        self.h = h
        self.k = k
        self.c = h.size(1) // k
        self.bypass_pool = bypass_pool
        self.channels_last = policy.channels_last
        self.fused = policy.fused
        self._xs: Optional[torch.Tensor] = None
        self._heads: dict = {}
        self._bypass: Optional[torch.Tensor] = None

    def xs(self) -> torch.Tensor:
        """The first C/K channels, dense in the ops' layout."""
        if self._xs is None:
            self._xs = to_layout(self.h if self.k == 1 else self.h[:, :self.c], self.channels_last)
        return self._xs

    def head(self, module: nn.Module, channels_last: Optional[bool] = None) -> torch.Tensor:
        """``module(xs)`` for a parameter-free opening layer, shared by every op that opens with its twin.

        ``channels_last``: the layout wanted for the result (None: as computed).
        """
        key = (type(module),) + tuple(getattr(module, a) for a in module.__constants__
                                      if a != 'inplace')
        out = self._heads.get(key)
        if out is None:
            out = F.relu(self.xs()) if isinstance(module, nn.ReLU) else module(self.xs())
            self._heads[key] = out
        if channels_last is None or channels_last == self.channels_last:
            return out
        key = key + (channels_last,)
        if key not in self._heads:
            self._heads[key] = to_layout(out, channels_last)
        return self._heads[key]

    def bypass(self) -> torch.Tensor:
        """The channels that skip the ops (max-pooled on stride-2 edges)."""
        if self._bypass is None:
            rest = self.h[:, self.c:]
            self._bypass = rest if self.bypass_pool is None else self.bypass_pool(rest)
        return self._bypass


class PartialMixedOp(nn.Module):
    """``sum_o w_o * op_o(x[:, :C/K])``, the other channels bypass (max-pooled at stride 2), then shuffle.

    The sampled channels are the first C/K, a fixed slice, as in the reference
    code (the shuffle moves different channels into that slice in the next
    cell). The 'none' op contributes exactly zero to both the output and the
    gradients, so it is not computed; its alpha still takes part in the softmax.
    """

    def __init__(self, C: int, stride: int, primitives: Sequence[str], k: int = 1,
                 impl: str = 'fast', channels_last: Optional[bool] = None,
                 fused: Optional[bool] = None) -> None:
        super().__init__()
        self.impl = check_impl(impl)
        # the fast path's layout and fusion (fast_policy); None: by device
        self.channels_last, self.fused = channels_last, fused
        if k < 1 or C % k:
            raise ValueError(f'partial-channel K={k} must divide the channels C={C}')
        if stride == 2 and (C // k) % 2 and 'skip_connect' in primitives:
            raise ValueError(f'partial channels C/K={C // k} must be even for a stride-2 '
                             'skip_connect (FactorizedReduce)')
        self.k = k
        self.stride = stride
        self.primitives = tuple(primitives)
        self.op_index = [i for i, p in enumerate(primitives) if p != 'none']
        if not self.op_index:
            raise ValueError("a search space needs at least one op besides 'none'")
        self._ops = nn.ModuleList(search_op(primitives[i], C // k, stride) for i in self.op_index)
        # ceil_mode keeps odd maps in step with the ops' ceil(H/2); identical on even sizes.
        self.bypass_pool = nn.MaxPool2d(2, 2, ceil_mode=True) if stride == 2 and k > 1 else None

    def edge_input(self, x: torch.Tensor) -> EdgeInput:
        return EdgeInput(x, self.k, self.bypass_pool,
                         fast_policy(x.device, self.channels_last, self.fused))

    def forward(self, x: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        if self.impl == 'reference':
            return self.forward_reference(x, weights)
        inp = self.edge_input(x)
        out = self.partial(inp, OpWeights(weights.unsqueeze(0), x.size(1) // self.k), 0)
        if self.k == 1:  # in the input's layout
            return to_layout(out, is_channels_last(x))
        return shuffle_cat(out, inp.bypass(), self.k)

    def forward_reference(self, x: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        """``shuffle(cat[sum_o w_o op_o(x[:, :C/K]), bypass(x[:, C/K:])])``, as the paper writes it.

        ``weights`` has one entry per primitive ('none' included; its op is 0).
        """
        c = x.size(1) // self.k
        xs, rest = x[:, :c], x[:, c:]
        part = sum(weights[i] * op(xs) for i, op in zip(self.op_index, self._ops))
        if self.k == 1:
            return part
        if self.bypass_pool is not None:
            rest = self.bypass_pool(rest)
        return channel_shuffle(torch.cat([part, rest], dim=1), self.k)

    def partial(self, inp: EdgeInput, weights: OpWeights, edge: int,
                acc: Optional[torch.Tensor] = None) -> torch.Tensor:
        """``acc + sum_o w[edge, o] * op_o(inp.xs())`` (C/K channels); ``acc`` is added to in place."""
        for i, op in zip(self.op_index, self._ops):
            y = self._weighted_op(op, inp, weights.scalar(edge, i), weights.channel_vector(edge, i))
            acc = y if acc is None else acc.add_(y)
        return acc

    @staticmethod
    def _weighted_op(op: nn.Module, inp: EdgeInput, w: torch.Tensor,
                     w_c: torch.Tensor) -> torch.Tensor:
        """``w * op(inp.xs())``, sharing the op's opening layer and folding ``w`` into its closing BN.

        ``w_c`` is ``w`` repeated over the op's output channels (the BN weight).
        The layers of a plain Sequential op are called one by one, each in its
        faster layout; any other op is called as it is. Unfused
        (``inp.fused`` False): every op is called whole, then multiplied by ``w``.
        """
        if not inp.fused:
            return op(inp.xs()) * w
        cl = inp.channels_last
        if isinstance(op, nn.Identity) and type(op).forward is nn.Identity.forward:
            return inp.xs() * w
        if type(op) is FactorizedReduce:  # its forward, with the ReLU shared and w folded
            r = inp.head(op.relu, layer_layout(op.conv_1, cl))
            z = torch.cat([op.conv_1(r), op.conv_2(F.pad(r[:, :, 1:, 1:], (0, 1, 0, 1)))], dim=1)
            return bn_scaled(op.bn, z, w, w_c)
        layers = _leaves(op)
        if not layers or len(layers) < 2:
            return op(inp.xs()) * w
        if type(layers[0]) in SHARED_HEADS:
            y, layers = inp.head(layers[0], layer_layout(layers[1], cl)), layers[1:]
        else:
            y = inp.xs()
        tail = layers[-1] if type(layers[-1]) is nn.BatchNorm2d else None
        for m in (layers[:-1] if tail is not None else layers):
            want = layer_layout(m, cl)
            y = y if want is None else to_layout(y, want)
            y = batch_norm(m, y) if isinstance(m, nn.BatchNorm2d) else m(y)
        if tail is None:
            return y * w
        return bn_scaled(tail, to_layout(y, layer_layout(tail, cl)), w, w_c)
