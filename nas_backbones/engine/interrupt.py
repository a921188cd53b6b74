"""Ctrl-C during training or a search: finish the iteration, keep it in a checkpoint, say how to resume.

The first Ctrl-C only asks to stop: the running iteration completes (a
checkpoint taken mid-step would hold half an update), then, where the train
loop resumes mid-epoch (``SearchLoop``, mmengine's ``IterBasedTrainLoop``),
``iter_N.pth`` is written -- atomically, as every NASRunner checkpoint -- and
``last_checkpoint`` points to it, exactly what an iteration checkpoint of
``CheckpointHook`` holds. A loop that restarts its epoch on resume (mmengine's
``EpochBasedTrainLoop``, used for detectors) gets no mid-epoch checkpoint,
which it would train on twice; the message names the checkpoint ``--resume``
continues from. A second Ctrl-C stops at once. Either way the run ends with
exit status 130 and a message, not a traceback.

Only single-process runs are handled: under ``torchrun`` the launcher
terminates the workers itself, and the epoch checkpoints are what remains.
"""
from __future__ import annotations

import os
import os.path as osp
import shlex
import signal
import sys
import threading
from typing import Optional

from mmengine.hooks import Hook
from mmengine.runner import IterBasedTrainLoop

from ..utils.io import atomic_write_text

EXIT_CODE = 130  # 128 + SIGINT, what a shell reports for a Ctrl-C'd command


class TrainingInterrupted(SystemExit):
    """Raised by ``NASRunner.train`` after a Ctrl-C; a ``SystemExit``, so no traceback is printed."""

    def __init__(self, message: str, checkpoint: Optional[str]) -> None:
        super().__init__(EXIT_CODE)
        self.message = message
        self.checkpoint = checkpoint


class _StopNow(Exception):
    def __init__(self, saved: Optional[str]) -> None:
        super().__init__(saved)
        self.saved = saved


def resumes_mid_epoch(loop) -> bool:
    return isinstance(loop, IterBasedTrainLoop) or bool(getattr(loop, 'resumes_mid_epoch', False))


def latest_checkpoint(work_dir: str) -> Optional[str]:
    path = osp.join(work_dir, 'last_checkpoint')
    if not osp.isfile(path):
        return None
    with open(path, encoding='utf-8') as f:
        return f.read().strip() or None


class InterruptHook(Hook):
    """Turns a requested stop into a checkpoint at the end of the current iteration (see module doc)."""

    priority = 'LOWEST'  # after CheckpointHook, which may have saved this very iteration

    def __init__(self) -> None:
        self.requested = False
        self.training = False

    def before_train(self, runner) -> None:
        self.training = True

    def after_train(self, runner) -> None:
        self.training = False

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        if self.requested:
            raise _StopNow(self._save(runner) if resumes_mid_epoch(runner.train_loop) else None)

    def after_val_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        if self.requested:  # the epoch's training is done and checkpointed by CheckpointHook
            raise _StopNow(None)

    @staticmethod
    def _save(runner) -> str:
        filename = f'iter_{runner.iter + 1}.pth'
        path = osp.join(runner.work_dir, filename)
        if latest_checkpoint(runner.work_dir) == path and osp.isfile(path):
            return path  # CheckpointHook has just saved this iteration
        runner.save_checkpoint(runner.work_dir, filename, save_optimizer=True,
                               save_param_scheduler=True, by_epoch=False)
        atomic_write_text(osp.join(runner.work_dir, 'last_checkpoint'), path)
        return path


def resume_command(work_dir: str) -> str:
    """The command line that ran, with ``--resume`` (and ``--work-dir``) to continue it."""
    argv, out, skip = list(sys.argv), [], False
    for i, a in enumerate(argv):
        if skip:
            skip = False
            continue
        if a == '--resume':
            nxt = argv[i + 1] if i + 1 < len(argv) else ''
            skip = bool(nxt) and not nxt.startswith('-') and (nxt.endswith('.pth') or nxt == 'auto')
            continue
        if a.startswith('--resume='):
            continue
        out.append(a)
    if '--work-dir' not in out and not any(a.startswith('--work-dir=') for a in out):
        out += ['--work-dir', work_dir]
    return ' '.join(shlex.quote(a) for a in ['python', *out, '--resume'])


def run_interruptible(runner, train):
    """``train()`` with Ctrl-C handled as the module doc says; other runs call ``train()`` as is."""
    if runner.distributed or threading.current_thread() is not threading.main_thread():
        return train()
    hook = InterruptHook()
    runner.register_hook(hook)
    owner = os.getpid()

    def on_sigint(signum, frame) -> None:
        if os.getpid() != owner:
            # A forked dataloader worker inherits this handler; a terminal's Ctrl-C reaches the
            # whole process group. The main process decides; the worker keeps serving batches.
            return
        if not hook.training or hook.requested:
            raise KeyboardInterrupt
        hook.requested = True
        os.write(2, b'\nCtrl-C: stopping after this iteration and saving it '
                    b'(Ctrl-C again to stop at once)\n')

    previous = signal.signal(signal.SIGINT, on_sigint)
    try:
        return train()
    except _StopNow as stop:
        raise _interrupted(runner, stop.saved, finished_iteration=True) from None
    except KeyboardInterrupt:
        raise _interrupted(runner, None, finished_iteration=False) from None
    finally:
        signal.signal(signal.SIGINT, previous)


def _interrupted(runner, saved: Optional[str], finished_iteration: bool) -> TrainingInterrupted:
    done = runner.iter + int(finished_iteration)  # _StopNow leaves before the loop counts the iteration
    where = f'epoch {runner.epoch + 1} ({done} iterations done in all)'
    latest = saved or latest_checkpoint(runner.work_dir)
    if saved:
        kept = f'saved that iteration to {saved}'
    elif finished_iteration and not resumes_mid_epoch(runner.train_loop):
        kept = (f'{type(runner.train_loop).__name__} restarts an epoch on resume, so no mid-epoch '
                'checkpoint was written')
    else:
        kept = 'stopped at once'
    if latest:
        how = f'continues from {latest}: {resume_command(runner.work_dir)}'
    else:
        how = 'has nothing to continue from yet (no checkpoint was saved): run the command again'
    message = f'Interrupted (Ctrl-C) at {where}; {kept}. --resume {how}'
    runner.logger.warning(message)
    return TrainingInterrupted(message, latest)
