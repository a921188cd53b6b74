"""The reference's optimiser and schedule, as TensorFlow 1 computes them.

``RMSpropTF``: TF1's ``RMSPropOptimizer`` with momentum. It differs from
``torch.optim.RMSprop`` in three ways that matter at the reference's
``epsilon=1e-3``: the mean square starts at 1 (not 0, so the first steps are
small, not ~3x normalised), epsilon is added inside the square root, and the
learning rate is applied inside the momentum buffer::

    ms  = decay * ms + (1 - decay) * g^2
    mom = momentum * mom + lr * g / sqrt(ms + eps)
    p   = p - mom

``StaircaseExponentialLR``: ``lr0 * gamma ** floor(step / period)`` with a
period in (possibly fractional) epochs, counted in iterations: the
reference's x0.97 every 2.4 epochs (``tf.train.exponential_decay(...,
staircase=True)``). MMEngine's StepLR cannot take a fractional period.
With ``warmup`` (in the same unit as the period) it is the reference's final
training schedule (MnasNet's ``build_learning_rate``): ``lr0 * step / warmup``
for the first ``warmup`` steps, from 0, and the staircase (counted from step 0)
afterwards. MMEngine's LinearLR cannot start at 0 and would multiply the ramp
by the staircase's decays, which the reference's ramp replaces.
"""
from __future__ import annotations

import math
from typing import Iterable

import torch
from mmdet.registry import OPTIMIZERS, PARAM_SCHEDULERS
from mmengine.optim.scheduler.lr_scheduler import LRSchedulerMixin
from mmengine.optim.scheduler.param_scheduler import INF, _ParamScheduler


@OPTIMIZERS.register_module()
class RMSpropTF(torch.optim.Optimizer):
    """TF1's RMSProp (``decay`` = ``alpha``); weight decay is added to the gradient (L2)."""

    def __init__(self, params: Iterable, lr: float = 0.016, alpha: float = 0.9,
                 eps: float = 1e-3, momentum: float = 0.9, weight_decay: float = 0.) -> None:
        for name, v in (('lr', lr), ('eps', eps), ('momentum', momentum),
                        ('weight_decay', weight_decay)):
            if v < 0:
                raise ValueError(f'RMSpropTF: {name} must be >= 0, got {v}')
        if not 0 <= alpha < 1:
            raise ValueError(f'RMSpropTF: alpha (decay) must be in [0, 1), got {alpha}')
        super().__init__(params, dict(lr=lr, alpha=alpha, eps=eps, momentum=momentum,
                                      weight_decay=weight_decay))

    @torch.no_grad()
    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            lr, alpha, eps = group['lr'], group['alpha'], group['eps']
            momentum, wd = group['momentum'], group['weight_decay']
            for p in group['params']:
                if p.grad is None:
                    continue
                g = p.grad
                if wd:
                    g = g.add(p, alpha=wd)
                state = self.state[p]
                if not state:
                    state['step'] = 0
                    state['square_avg'] = torch.ones_like(p, memory_format=torch.preserve_format)
                    if momentum > 0:
                        state['momentum_buffer'] = torch.zeros_like(
                            p, memory_format=torch.preserve_format)
                state['step'] += 1
                ms = state['square_avg']
                ms.mul_(alpha).addcmul_(g, g, value=1 - alpha)
                denom = ms.add(eps).sqrt_()
                if momentum > 0:
                    buf = state['momentum_buffer']
                    buf.mul_(momentum).addcdiv_(g, denom, value=lr)
                    p.sub_(buf)
                else:
                    p.addcdiv_(g, denom, value=-lr)
        return loss


@PARAM_SCHEDULERS.register_module()
class StaircaseExponentialParamScheduler(_ParamScheduler):
    """Multiply a parameter by ``gamma`` every ``period`` steps (fractional periods allowed).

    With ``by_epoch=True, convert_to_iter_based=True`` the period is in
    epochs and the decay happens at the first iteration past each multiple.
    """

    def __init__(self, optimizer, param_name: str, period: float, gamma: float = 0.97,
                 begin: int = 0, end: int = INF, last_step: int = -1, by_epoch: bool = True,
                 verbose: bool = False, warmup: float = 0) -> None:
        if not period > 0:
            raise ValueError(f'{type(self).__name__}: period must be > 0, got {period}')
        if not warmup >= 0:
            raise ValueError(f'{type(self).__name__}: warmup must be >= 0, got {warmup}')
        self.period, self.gamma, self.warmup = float(period), gamma, int(warmup)
        super().__init__(optimizer, param_name, begin=begin, end=end, last_step=last_step,
                         by_epoch=by_epoch, verbose=verbose)

    @classmethod
    def build_iter_from_epoch(cls, *args, period, begin=0, end=INF, by_epoch=True,
                              epoch_length=None, warmup=0, **kwargs):
        if not by_epoch:
            raise ValueError(f'{cls.__name__}: only an epoch-based config converts to iterations')
        if not epoch_length or epoch_length <= 0:
            raise ValueError(f'{cls.__name__}: epoch_length must be > 0, got {epoch_length}')
        return cls(*args, period=period * epoch_length, begin=int(begin * epoch_length),
                   end=end if end == INF else int(end * epoch_length), by_epoch=False,
                   warmup=int(warmup * epoch_length), **kwargs)  # the reference's int(5 x steps)

    def _get_value(self) -> list:
        s = self.last_step
        if self.warmup and s <= self.warmup:
            # the ramp replaces the value (it starts at 0, so the chained form cannot apply);
            # at its end the staircase is back where it would have been without it
            f = s / self.warmup if s < self.warmup else self.gamma ** math.floor(s / self.period)
            return [base * f for base in self.base_values]
        steps = 0 if s <= 0 else math.floor(s / self.period) - math.floor((s - 1) / self.period)
        return [group[self.param_name] * self.gamma ** steps for group in self.optimizer.param_groups]


@PARAM_SCHEDULERS.register_module()
class StaircaseExponentialLR(LRSchedulerMixin, StaircaseExponentialParamScheduler):
    """The learning rate times ``gamma`` every ``period`` (the reference: 0.97 every 2.4 epochs)."""
