"""The search loop: each weight batch is paired with a batch of the architecture split (bilevel),
or runs alone (one-level, ``arch_dataloader=None``)."""
from __future__ import annotations

import itertools
from typing import Iterable, Optional, Union

from mmdet.registry import LOOPS
from mmengine.logging import print_log
from mmengine.runner import EpochBasedTrainLoop
from torch.utils.data import DataLoader


@LOOPS.register_module()
class SearchLoop(EpochBasedTrainLoop):
    """``EpochBasedTrainLoop`` plus a persistent iterator over ``arch_dataloader``.

    ``arch_dataloader=None``: a one-level search (Single-Path NAS), every
    iteration one step on a weight batch.

    Architecture steps start at epoch ``arch_warmup_epochs`` (PC-DARTS: 15 of
    50 on CIFAR, 35 of 50 on ImageNet); before that no architecture batch is
    drawn, as in the reference. The architecture loader is re-shuffled
    (``sampler.set_epoch``) each time it runs out, and its position is part
    of the checkpoint, so a resumed search draws the same batches.

    ``arch_batches=k``: each architecture step averages its gradient over ``k`` batches of the
    architecture split (``DifferentiableSearch`` takes them as a list; first order only), so a
    noisy architecture gradient is averaged before the step; 1 (the default) is the papers'.

    The loop counts the architecture steps taken (the message hub's ``arch_steps``, kept in
    checkpoints; in a one-level search every step moves the architecture parameters) and states
    how many the whole search will take (``arch_steps_planned``), for the search-signal verdict
    (``core.signal``) and a cost term that is normalised by the search's length.

    Checkpoints may also be taken mid-epoch (``CheckpointHook`` with
    ``by_epoch=False``): the position in the weight split is saved too, and a
    resumed search skips the batches the checkpoint had already trained on.
    """

    resumes_mid_epoch = True  # so a Ctrl-C keeps the finished iteration (engine/interrupt.py)

    def __init__(self, runner, dataloader: Union[DataLoader, dict],
                 arch_dataloader: Union[DataLoader, dict, None], max_epochs: int,
                 arch_warmup_epochs: int = 0, arch_batches: int = 1, val_begin: int = 1,
                 val_interval: int = 1, dynamic_intervals: Optional[list] = None) -> None:
        super().__init__(runner, dataloader, max_epochs, val_begin, val_interval,
                         dynamic_intervals)
        if not 0 <= arch_warmup_epochs <= max_epochs:
            raise ValueError(f'arch_warmup_epochs must be in 0..max_epochs={max_epochs}, '
                             f'got {arch_warmup_epochs}')
        if isinstance(arch_batches, bool) or not isinstance(arch_batches, int) or arch_batches < 1:
            raise ValueError(f'train_cfg.arch_batches must be an integer >= 1, got {arch_batches!r}')
        if arch_batches > 1 and arch_dataloader is None:
            raise ValueError(f'train_cfg.arch_batches={arch_batches} needs an architecture split '
                             '(train_cfg.arch_dataloader); a one-level search has none')
        self.arch_batches = arch_batches
        if isinstance(arch_dataloader, dict):
            diff_rank_seed = runner._randomness_cfg.get('diff_rank_seed', False)
            arch_dataloader = runner.build_dataloader(
                arch_dataloader, seed=runner.seed, diff_rank_seed=diff_rank_seed)
        self.arch_dataloader = arch_dataloader
        self.arch_warmup_epochs = arch_warmup_epochs
        self.arch_epoch = 0      # passes started over the architecture split
        self.arch_consumed = 0   # batches drawn in the current pass
        self._arch_iter = None
        self.arch_steps = 0      # architecture steps taken (restored on resume)

    @property
    def arch_active(self) -> bool:
        return self.arch_dataloader is not None and self._epoch >= self.arch_warmup_epochs

    def _start_arch_pass(self, skip: int = 0) -> None:
        sampler = getattr(self.arch_dataloader, 'sampler', None)
        if hasattr(sampler, 'set_epoch'):
            sampler.set_epoch(self.arch_epoch)
        if skip and hasattr(sampler, 'skip_next'):
            # only after a resume: the same order, minus the batches already drawn
            sampler.skip_next(skip * self.arch_dataloader.batch_size)
            self._arch_iter = iter(self.arch_dataloader)
        else:
            self._arch_iter = iter(self.arch_dataloader)
            for _ in range(skip):  # a sampler that cannot skip: replay and drop
                next(self._arch_iter)
        self.arch_consumed = skip

    def next_arch_batch(self):
        if self._arch_iter is None:
            self._start_arch_pass(self.arch_consumed)
        try:
            batch = next(self._arch_iter)
        except StopIteration:
            self.arch_epoch += 1
            self._start_arch_pass()
            batch = next(self._arch_iter)
        self.arch_consumed += 1
        self.runner.message_hub.update_info(
            'arch_loader', dict(epoch=self.arch_epoch, consumed=self.arch_consumed))
        return batch

    def restore_arch_position(self) -> None:
        """Called after a resume: continue the architecture split where the checkpoint left it."""
        state = self.runner.message_hub.get_info('arch_loader')
        if state:
            self.arch_epoch, self.arch_consumed = state['epoch'], state['consumed']
            self._arch_iter = None
        self.arch_steps = self.runner.message_hub.get_info('arch_steps') or 0

    @property
    def arch_steps_planned(self) -> int:
        """Architecture steps the whole search takes: one per weight batch after the warm-up."""
        epochs = self._max_epochs - (self.arch_warmup_epochs if self.arch_dataloader is not None else 0)
        return epochs * len(self.dataloader)

    def run(self):
        self.restore_arch_position()
        self.runner.message_hub.update_info('arch_steps_planned', self.arch_steps_planned)
        return super().run()

    def _resumed_batches(self) -> int:
        """Batches of the current epoch a (mid-epoch) checkpoint already trained on."""
        state = self.runner.message_hub.get_info('train_loader')
        return state['consumed'] if state and state['epoch'] == self._epoch else 0

    def _weight_batches(self, skip: int) -> Iterable:
        if not skip:
            return self.dataloader
        sampler = getattr(self.dataloader, 'sampler', None)
        if hasattr(sampler, 'skip_next'):
            sampler.skip_next(skip * self.dataloader.batch_size)
            return self.dataloader
        print_log(f'resuming mid-epoch with a {type(sampler).__name__}, which cannot skip: '
                  f'reading and dropping {skip} batches (use ResumableSampler for an exact resume)',
                  logger='current', level=30)
        return itertools.islice(self.dataloader, skip, None)

    def run_epoch(self) -> None:
        self.runner.call_hook('before_train_epoch')
        self.runner.model.train()
        skip = self._resumed_batches()
        for idx, data_batch in enumerate(self._weight_batches(skip), start=skip):
            self.run_iter(idx, data_batch)
        self.runner.call_hook('after_train_epoch')
        self._epoch += 1

    def run_iter(self, idx, data_batch) -> None:
        self.runner.call_hook('before_train_iter', batch_idx=idx, data_batch=data_batch)
        arch_batch = None
        if self.arch_active:
            arch_batch = (self.next_arch_batch() if self.arch_batches == 1 else
                          [self.next_arch_batch() for _ in range(self.arch_batches)])
        outputs = self.runner.model.train_step(
            dict(weights=data_batch, arch=arch_batch), optim_wrapper=self.runner.optim_wrapper)
        if arch_batch is not None or self.arch_dataloader is None:
            self.arch_steps += 1
            self.runner.message_hub.update_info('arch_steps', self.arch_steps)
        # before after_train_iter, where a CheckpointHook with by_epoch=False saves
        self.runner.message_hub.update_info('train_loader', dict(epoch=self._epoch, consumed=idx + 1))
        self.runner.call_hook('after_train_iter', batch_idx=idx, data_batch=data_batch,
                              outputs=outputs)
        self._iter += 1
