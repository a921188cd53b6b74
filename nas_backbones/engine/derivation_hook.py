"""Records a search: the derived architecture each epoch, the history of the architecture parameters,
and the result file (``genotype.json`` for cells), for any search space."""
from __future__ import annotations

import json
import os.path as osp
from typing import Optional

import torch
from mmdet.registry import HOOKS
from mmengine.dist import all_reduce, broadcast_object_list, get_rank, get_world_size, is_distributed, master_only
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from ..core.signal import MIN_ARCH_STEPS, judge_entry
from ..utils.io import atomic_write_text

HISTORY_FILE = 'search_history.json'


def unwrap(model):
    return model.module if is_model_wrapper(model) else model


@HOOKS.register_module()
class DerivationHook(Hook):
    """After every epoch: derive the architecture, append the space's snapshot to the history, log one line.

    ``WORK_DIR/<result.filename>`` (``genotype.json`` for cells) always holds
    the latest derived architecture (the last epoch's at the end, which is
    what PC-DARTS reports; the reference logs it at the start of each epoch,
    so its last log predates the final epoch) and
    ``WORK_DIR/search_history.json`` the per-epoch history; both are written
    atomically. The history also travels in checkpoints, so a resumed search
    keeps it. Under distributed search the ranks' architecture parameters
    are compared at every epoch end and the search stops if they differ.

    Each entry also records the architecture steps taken so far
    (``arch_steps``, counted by ``SearchLoop``) and how far the architecture
    parameters moved (``movement``, the space's own measure); the epoch's log
    line states both, and at the end of the search a warning says so when
    they read "nothing learned" (``core.signal``; ``min_arch_steps``: fewer
    architecture steps than this read "nothing learned", default 100).
    """

    priority = 'LOW'  # after the parameter updates of the epoch, before checkpointing

    def __init__(self, check_ranks: bool = True, atol: float = 0.,
                 min_arch_steps: int = MIN_ARCH_STEPS) -> None:
        self.history: list[dict] = []
        self.min_arch_steps = min_arch_steps
        self.check_ranks = check_ranks
        self.atol = atol

    # ------------------------------------------------------------ checkpoints
    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        checkpoint.setdefault('meta', {})['search_history'] = self.history

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        self.history = list(checkpoint.get('meta', {}).get('search_history', []))

    # ----------------------------------------------------------------- epochs
    def after_train_epoch(self, runner) -> None:
        space = unwrap(runner.model).space
        if self.check_ranks and is_distributed():
            check_ranks_agree(space.arch, runner.epoch + 1, self.atol)
            runner.logger.info(f'architecture parameters are identical on all {get_world_size()} ranks')
        result = space.derive()
        entry = {'epoch': runner.epoch + 1, 'iter': runner.iter,
                 'arch_active': bool(getattr(runner.train_loop, 'arch_active', True))}
        entry.update(space.snapshot())
        steps = getattr(runner.train_loop, 'arch_steps', None)  # SearchLoop counts them
        if steps is not None:
            entry['arch_steps'] = int(steps)
        movement = space.movement()
        if movement is not None:
            entry['movement'] = movement
        self.history.append(entry)
        # One line: the result itself is in its file and, per epoch, in the history file.
        signal = judge_entry(entry, self.min_arch_steps)
        runner.logger.info(f'epoch {runner.epoch + 1}: {type(result).__name__.lower()} -> '
                           f'{result.filename}, history -> {HISTORY_FILE}'
                           + (f'; {signal.summary(details=False)}' if signal is not None else ''))
        self._write(runner, result)

    def after_train(self, runner) -> None:
        """The search-signal verdict on the final state, and a warning when it says "nothing learned"."""
        if not self.history:
            return
        signal = judge_entry(self.history[-1], self.min_arch_steps)
        if signal is None:
            return
        runner.logger.info(f'search signal: {signal.summary()}')
        if signal.learned_nothing:
            runner.logger.warning(signal.warning())

    @master_only
    def _write(self, runner, result) -> None:
        atomic_write_text(osp.join(runner.work_dir, HISTORY_FILE),
                          json.dumps({'history': self.history}, indent=1))
        result.save(osp.join(runner.work_dir, result.filename))


def check_ranks_agree(arch: torch.nn.Module, epoch: int, atol: float = 0.) -> None:
    """Raise on every rank if any rank's architecture parameters differ from rank 0's."""
    mine = [p.detach().cpu().clone() for p in arch.parameters()]
    ref: list[Optional[list]] = [mine]
    broadcast_object_list(ref, src=0)
    diffs = [float((a - b).abs().max()) for a, b in zip(mine, ref[0])]
    bad = torch.tensor([max(diffs, default=0.) > atol], dtype=torch.float32)
    all_reduce(bad, op='sum')
    if bad.item() > 0:
        raise RuntimeError(
            f'distributed search: architecture parameters differ between ranks at epoch {epoch} '
            f'(rank {get_rank()} max |diff| vs rank 0 = {max(diffs, default=0.):.3g}); '
            'the ranks would derive different architectures. Stopping.')
