"""A Runner that writes checkpoints atomically, runs distributed on CPUs, accepts mmdet's
dataloader defaults with ``num_workers=0``, loads mmengine checkpoints under torch's weights-only
loader, checks a config before the first step, and stops cleanly on Ctrl-C."""
from __future__ import annotations

import os
import os.path as osp
from typing import Dict, Optional, Union

import torch

# The root registry, not mmdet's: mmdet's tools/train.py looks `runner_type` up
# there before any default scope exists, and tools/test.py looks in mmdet's
# registry, which falls back to its parent only for unscoped names. So
# `runner_type='NASRunner'` works in both ('mmdet.NASRunner' fails in tools/test.py).
from mmengine.dist import is_main_process
from mmengine.registry import MODEL_WRAPPERS, RUNNERS
from mmengine.runner import Runner
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader

from ..compat import checkpoint_loading
from .checkpoints import ArchitectureMetaHook, CheckpointError, read_checkpoint, state_mismatch
from .interrupt import latest_checkpoint, run_interruptible
from .preflight import PreflightHook, config_problems, neck_problem, top_level_key_warnings


@RUNNERS.register_module()
class NASRunner(Runner):
    """``Runner`` with atomic checkpoints, CPU data parallelism, and ``persistent_workers`` off when ``num_workers=0``.

    mmdet's dataset configs set ``persistent_workers=True``; torch's DataLoader
    raises on that when ``num_workers=0`` (the usual setting on a small CPU
    machine or when debugging). MMEngine gives DDP ``device_ids=[LOCAL_RANK]``,
    which torch refuses for a CPU module. Select it with
    ``runner_type='NASRunner'``; mmdet's own ``tools/train.py`` and
    ``tools/test.py`` build it too, so everything below holds there as well:

    - checkpoints are loaded (resume, ``load_from``, a ``Pretrained``
      init_cfg) inside :func:`nas_backbones.compat.checkpoint_loading`;
    - a misspelt top-level config key is reported with the nearest known one,
      a backbone/neck channel mismatch is an error at build time, and the
      model's ``num_classes`` is checked against the training data before the
      first step (:mod:`nas_backbones.engine.preflight`);
    - an auto-resume that finds no checkpoint says so; a resume from a file that
      is no readable checkpoint, or one of another model, is refused with the
      file named (and an intact checkpoint beside it suggested)
      (:mod:`nas_backbones.engine.checkpoints`);
    - every checkpoint records the trained architecture in its meta
      (:class:`~nas_backbones.engine.checkpoints.ArchitectureMetaHook`), which
      ``tools/test.py`` uses;
    - Ctrl-C stops after the running iteration and keeps it
      (:mod:`nas_backbones.engine.interrupt`).
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        for message in top_level_key_warnings(self.cfg):
            self.logger.warning(message)
        problems = config_problems(self.cfg)
        if problems:
            raise ValueError('\n'.join(problems))
        self.register_hook(PreflightHook())
        self.register_hook(ArchitectureMetaHook())

    def build_model(self, model: Union[nn.Module, Dict]) -> nn.Module:
        built = super().build_model(model)
        if isinstance(model, dict):
            problem = neck_problem(model, built)
            if problem is not None:
                raise ValueError(problem)
        return built

    def load_checkpoint(self, *args, **kwargs):
        with checkpoint_loading():  # resume() loads through here too
            return super().load_checkpoint(*args, **kwargs)

    def resume(self, filename: str, *args, **kwargs) -> None:
        """Refuse, naming the file, a checkpoint that cannot be read or is not of this model.

        Without this a truncated file ends in torch's unpickling error and
        another model's checkpoint in an optimizer parameter-group error.
        """
        try:
            ckpt = read_checkpoint(filename)
        except CheckpointError as e:
            raise CheckpointError(f'--resume: {e}') from None
        problem = state_mismatch(ckpt.get('state_dict', ckpt), self.model)
        if problem:
            raise CheckpointError(
                f'--resume: {filename} is not a checkpoint of this model ({problem}). Resume a run of '
                'the same config and architecture, or start a new one in another --work-dir.')
        del ckpt
        return super().resume(filename, *args, **kwargs)

    def _init_model_weights(self) -> None:
        with checkpoint_loading():  # init_cfg=dict(type='Pretrained', ...) loads a checkpoint
            super()._init_model_weights()

    def load_or_resume(self) -> None:
        if self._resume and self._load_from is None and not self._has_loaded \
                and latest_checkpoint(self.work_dir) is None:
            self.logger.warning(f'resume: nothing to resume in {self.work_dir} (no checkpoint '
                                'there yet); starting from scratch')
            self._resume = False
        super().load_or_resume()

    def train(self) -> nn.Module:
        return run_interruptible(self, super().train)

    def wrap_model(self, model_wrapper_cfg: Optional[Dict], model: nn.Module) -> nn.Module:
        if self.distributed and not torch.cuda.is_available():
            cfg = dict(model_wrapper_cfg or dict(
                type='MMDistributedDataParallel', broadcast_buffers=False,
                find_unused_parameters=self.cfg.get('find_unused_parameters', False)))
            wrapper = MODEL_WRAPPERS.get(cfg.setdefault('type', 'MMDistributedDataParallel'))
            if isinstance(wrapper, type) and issubclass(wrapper, DistributedDataParallel):
                cfg.setdefault('device_ids', None)  # a CPU module: no device
            model_wrapper_cfg = cfg
        return super().wrap_model(model_wrapper_cfg, model)

    @staticmethod
    def build_dataloader(dataloader: Union[DataLoader, Dict],
                         seed: Optional[int] = None,
                         diff_rank_seed: bool = False) -> DataLoader:
        if isinstance(dataloader, dict):
            dataloader = dict(dataloader)  # shallow: the caller's config stays as it was
            if not dataloader.get('num_workers', 0):
                # Workers that do not exist cannot persist.
                dataloader['persistent_workers'] = False
        return Runner.build_dataloader(dataloader, seed=seed, diff_rank_seed=diff_rank_seed)

    def save_checkpoint(self, out_dir: str, filename: str, *args, **kwargs) -> None:
        """Write ``.filename.tmp``, then rename it: a kill mid-write never leaves a truncated checkpoint.

        ``--resume`` follows ``last_checkpoint``, which CheckpointHook updates only
        after this returns, so a resume never picks up a half-written file.
        Remote back ends (``s3://``...) are written as mmengine writes them.
        """
        if '://' in str(out_dir):
            return super().save_checkpoint(out_dir, filename, *args, **kwargs)
        tmp = f'.{filename}.tmp'
        try:
            super().save_checkpoint(out_dir, tmp, *args, **kwargs)
            if is_main_process():  # the only rank that writes
                os.replace(osp.join(out_dir, tmp), osp.join(out_dir, filename))
        except BaseException:
            if osp.exists(osp.join(out_dir, tmp)):
                os.unlink(osp.join(out_dir, tmp))
            raise
