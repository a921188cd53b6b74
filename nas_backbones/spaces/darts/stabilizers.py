"""Remedies for DARTS' known failures, each a switch of :class:`DartsClassifierSpace` (all off by default).

- ``max_skips`` (P-DARTS, Chen et al., ICCV 2019): the derived normal cell
  keeps at most M ``skip_connect`` genes; while it has more, the weakest kept
  skip's weight is set to zero and the cell is derived again.
- ``beta_decay`` (beta-DARTS, Ye et al., CVPR 2022): ``weight(t) * mean over
  edges of logsumexp(alpha_e)`` added to the architecture loss, its weight
  ramped linearly from 0 to ``weight`` over the search; it keeps alpha's
  scale in check, against the domination of one op.
- ``aux_skip`` (DARTS-, Chu et al., ICLR 2021): every node also receives
  ``w(t) * sum_j aux_j(h_j)`` (identity, or an affine-free FactorizedReduce on
  stride-2 edges) outside the competition of the ops, ``w(t)`` decaying
  linearly from ``weight`` to 0 over the search, so skip_connect no longer
  wins through the gradient shortcut it gives.
- ``perturb`` (SDARTS-RS, Chen & Hsieh, ICML 2020): in the weight step the
  op weights softmax(alpha) get uniform noise in [-epsilon, epsilon], so the
  weights are trained for a neighbourhood of alpha, which smooths the
  architecture loss landscape.

``t`` is the search's progress, ``epoch / max_epochs`` (what MMEngine's
``RuntimeInfoHook`` keeps in the message hub); outside a runner it is 1.
"""
from __future__ import annotations

from typing import Optional

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


def beta_decay_loss(alphas: list[torch.Tensor], weight: float) -> torch.Tensor:
    """beta-DARTS' regulariser: ``weight * mean over all edges of logsumexp(alpha_e)``."""
    lse = torch.cat([a.logsumexp(dim=-1) for a in alphas])
    return weight * lse.mean()


def perturb_op_weights(weights: torch.Tensor, epsilon: float) -> torch.Tensor:
    """softmax(alpha) + U(-epsilon, epsilon), drawn from torch's generator (seeded with the search)."""
    return weights + torch.empty_like(weights).uniform_(-epsilon, epsilon)
