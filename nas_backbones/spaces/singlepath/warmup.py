"""The warm-up of a Single-Path search: indicator dropout on and the runtime term off until then.

Shared by the classification space (:class:`.search_space.SinglePathSpace`)
and the detection search's architecture module
(:class:`.arch.SinglePathArch`), so both read the phase the same way.
"""
from __future__ import annotations

from typing import Optional

from mmengine.logging import MessageHub


def check_warmup(where: str, warmup_epochs: Optional[int], warmup_iters: Optional[int],
                 keep_prob: float) -> None:
    """A clear error for a warm-up that cannot be followed, naming ``where`` it was configured."""
    if not 0. < keep_prob <= 1.:
        raise ValueError(f'{where}: keep_prob must be in (0, 1], got {keep_prob}')
    if warmup_epochs is not None and warmup_iters is not None:
        raise ValueError(f'{where}: give warmup_epochs or warmup_iters, not both')
    for name, v in (('warmup_epochs', warmup_epochs), ('warmup_iters', warmup_iters)):
        if v is not None and (isinstance(v, bool) or not isinstance(v, int) or v < 0):
            raise ValueError(f'{where}: {name} must be an integer >= 0, got {v!r}')


def runner_in_warmup(warmup_epochs: Optional[int], warmup_iters: Optional[int]) -> bool:
    """Whether the runner is before ``warmup_epochs`` / ``warmup_iters`` (never, without either).

    The runner's position comes from the message hub (MMEngine's
    RuntimeInfoHook writes it before every iteration), so a resumed search
    continues in the right phase.
    """
    if warmup_iters is None and warmup_epochs is None:
        return False
    hub = MessageHub.get_current_instance()
    if warmup_iters is not None:
        return (hub.get_info('iter') or 0) < warmup_iters
    return (hub.get_info('epoch') or 0) < warmup_epochs
