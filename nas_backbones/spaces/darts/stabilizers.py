"""Remedies for DARTS' known failures, each a switch of the architecture parameters
(:class:`~.arch.ArchParameters`, so every task space has them; all off by default).

- ``max_skips`` (P-DARTS, Chen et al., ICCV 2019): the derived normal cell
  keeps at most M ``skip_connect`` genes; while it has more, the weakest kept
  skip's weight is set to zero and the cell is derived again.
- ``beta_decay`` (beta-DARTS, Ye et al., CVPR 2022): ``weight(t) * mean over
  edges of logsumexp(alpha_e)`` added to the architecture loss, its weight
  ramped linearly from 0 to ``weight`` over the search; it keeps alpha's
  scale in check, against the domination of one op.
- ``aux_skip`` (DARTS-, Chu et al., ICLR 2021): every node also receives
  ``w(t) * sum_j aux_j(h_j)`` (identity, or an affine-free FactorizedReduce on
  stride-2 edges: what skip_connect is there) outside the competition of the
  ops, ``w(t) = start * (1 - t)`` (the paper's linear decay; ``'cosine'``:
  ``start * (1 + cos(pi t)) / 2``, its code's other option) reaching 0 at the end
  of the search, so skip_connect no longer wins through the gradient
  shortcut it gives. The paper's code sets the weight at each epoch's start
  (``start * (T - epoch) / T``), which is this ``t``. Where the term enters
  the cell is said in :class:`~nas_backbones.spaces.darts.search_cell.SearchCell`.
- ``fair_darts`` (Fair DARTS, Chu et al., ECCV 2020): each op weight is
  sigmoid(alpha) on its own (no softmax: ops do not compete, so skip_connect
  cannot win by suppressing the others), and the architecture loss gets the
  zero-one loss ``-zero_one * mean((sigmoid(alpha) - 0.5)^2)``, pushing every
  weight towards 0 or 1 so that the derived cell is what the supernet ran.
  The mean is over both cells' edges and the ops that are not 'none'
  (Fair DARTS' space has no 'none', whose weight multiplies nothing here).
- ``perturb`` (SDARTS-RS, Chen & Hsieh, ICML 2020): in the weight step the
  op weights softmax(alpha) get uniform noise in [-epsilon, epsilon], so the
  weights are trained for a neighbourhood of alpha, which smooths the
  architecture loss landscape.

``t`` is the search's progress, ``epoch / max_epochs`` (what MMEngine's
``RuntimeInfoHook`` keeps in the message hub); outside a runner it is 1.
"""
from __future__ import annotations

import math
from typing import Callable, Optional

import torch
from mmengine.logging import MessageHub


def search_progress() -> float:
    """epoch / max_epochs of the running search (0 at the first epoch), or 1 outside a runner."""
    hub = MessageHub.get_current_instance()
    epoch, max_epochs = hub.get_info('epoch'), hub.get_info('max_epochs')
    if epoch is None or not max_epochs:
        return 1.
    return min(1., max(0., epoch / max_epochs))


def check_option(name: str, cfg: Optional[dict], keys: dict) -> Optional[dict]:
    """Validate a stabiliser's config dict against ``keys`` = {key: (default, check, what)}."""
    if cfg is None:
        return None
    if not isinstance(cfg, dict):
        raise TypeError(f'{name}: expected a dict such as {name}=dict(weight=...), got {cfg!r}')
    unknown = set(cfg) - set(keys)
    if unknown:
        raise ValueError(f'{name}: unknown key(s) {sorted(unknown)}; known: {sorted(keys)}')
    out = {}
    for key, (default, ok, what) in keys.items():
        value = cfg.get(key, default)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not ok(value):
            raise ValueError(f'{name}.{key} must be {what}, got {value!r}')
        out[key] = float(value)
    return out


POSITIVE = (None, lambda v: v > 0, 'a number > 0')


def check_max_skips(max_skips: Optional[int]) -> Optional[int]:
    """P-DARTS' cap validated: None (no cap) or an integer >= 0."""
    if max_skips is not None and (isinstance(max_skips, bool) or not isinstance(max_skips, int)
                                  or max_skips < 0):
        raise ValueError(f'max_skips must be None or an integer >= 0, got {max_skips!r}')
    return max_skips

# DARTS-' decay of the auxiliary skip's weight, as a factor of its start value at progress t
AUX_SCHEDULES: dict[str, Callable[[float], float]] = {
    'linear': lambda t: 1. - t,
    'cosine': lambda t: (1. + math.cos(math.pi * t)) / 2.,
}


def check_aux_skip(cfg: Optional[dict]) -> Optional[dict]:
    """``aux_skip=dict(start=1.0, schedule='linear')`` validated (the paper's defaults filled in)."""
    if cfg is None:
        return None
    if not isinstance(cfg, dict):
        raise TypeError(f"aux_skip: expected a dict such as aux_skip=dict(start=1.0, schedule='linear'), "
                        f'got {cfg!r}')
    schedule = cfg.get('schedule', 'linear')
    if schedule not in AUX_SCHEDULES:
        raise ValueError(f'aux_skip.schedule must be one of {sorted(AUX_SCHEDULES)}, got {schedule!r}')
    out = check_option('aux_skip', {k: v for k, v in cfg.items() if k != 'schedule'},
                       {'start': (1., lambda v: v > 0, 'a number > 0')})
    return dict(out, schedule=schedule)


def aux_skip_weight(cfg: dict, progress: float) -> float:
    """The auxiliary skips' weight at search progress ``progress`` in [0, 1]: ``start`` decayed to 0."""
    return cfg['start'] * AUX_SCHEDULES[cfg['schedule']](progress)


def beta_decay_loss(alphas: list[torch.Tensor], weight: float) -> torch.Tensor:
    """beta-DARTS' regulariser: ``weight * mean over all edges of logsumexp(alpha_e)``."""
    lse = torch.cat([a.logsumexp(dim=-1) for a in alphas])
    return weight * lse.mean()


def zero_one_loss(alphas: list[torch.Tensor], weight: float, keep: list[int]) -> torch.Tensor:
    """Fair DARTS' zero-one loss: ``-weight * mean of (sigmoid(alpha) - 0.5)^2`` over the ``keep`` op columns."""
    s = torch.cat([a[:, keep] for a in alphas]).sigmoid()
    return -weight * (s - 0.5).square().mean()


def perturb_op_weights(weights: torch.Tensor, epsilon: float) -> torch.Tensor:
    """softmax(alpha) + U(-epsilon, epsilon), drawn from torch's generator (seeded with the search)."""
    return weights + torch.empty_like(weights).uniform_(-epsilon, epsilon)
