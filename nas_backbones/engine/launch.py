"""The command line shared by tools/train.py and tools/search.py (MMDetection's train.py options)."""
from __future__ import annotations

import argparse
import os
import os.path as osp
import warnings
from contextlib import nullcontext
from typing import ContextManager, Optional, Sequence

from mmengine.config import Config, DictAction
from mmengine.registry import RUNNERS
from mmengine.runner import Runner


AMP_DTYPES = ('float16', 'bfloat16')


def train_arg_parser(description: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument('config', help='config file path')
    parser.add_argument('--work-dir', help='the dir to save logs and models')
    parser.add_argument('--amp', action='store_true', help='enable automatic-mixed-precision training')
    parser.add_argument('--amp-dtype', choices=AMP_DTYPES,
                        help='with --amp: the autocast dtype (default float16 on CUDA, with dynamic '
                        'loss scaling, as MMDetection; bfloat16 needs no loss scaling)')
    parser.add_argument('--auto-scale-lr', action='store_true',
                        help='scale the learning rates by total batch size / auto_scale_lr.base_batch_size')
    parser.add_argument('--resume', nargs='?', type=str, const='auto',
                        help='resume from this checkpoint, or from the latest one in the work dir '
                             'when no path is given (a work dir that does not exist is an error; '
                             'one without a checkpoint yet is started from scratch, with a message)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config settings, key=value (e.g. train_dataloader.batch_size=8)')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'], default='none',
                        help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    return parser


def load_config(args: argparse.Namespace) -> Config:
    """The config with the options train, search and test share: launcher, --cfg-options and
    the work dir (command line > config > ./work_dirs/<config name>)."""
    if not osp.isfile(args.config):
        raise FileNotFoundError(f'config file not found: {args.config}')
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    from mmdet.utils import setup_cache_size_limit_of_dynamo
    setup_cache_size_limit_of_dynamo()  # as mmdet's tools: fewer torch.compile recompiles
    cfg = Config.fromfile(args.config)
    cfg.launcher = args.launcher
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = osp.join('./work_dirs', osp.splitext(osp.basename(args.config))[0])
    return cfg


def load_train_config(args: argparse.Namespace) -> Config:
    cfg = load_config(args)
    if getattr(args, 'amp_dtype', None) and not args.amp:
        raise ValueError('--amp-dtype needs --amp')
    if args.amp:
        enable_amp(cfg.optim_wrapper, getattr(args, 'amp_dtype', None))
    if args.auto_scale_lr:
        if 'auto_scale_lr' not in cfg or 'base_batch_size' not in cfg.auto_scale_lr:
            raise KeyError(f'{args.config}: --auto-scale-lr needs auto_scale_lr.base_batch_size '
                           'in the config')
        cfg.auto_scale_lr.enable = True
    if args.resume == 'auto':
        cfg.resume, cfg.load_from = True, None
        check_resumable(cfg.work_dir)
    elif args.resume is not None:
        if not osp.isfile(args.resume):
            raise FileNotFoundError(f'--resume: checkpoint not found: {args.resume}')
        cfg.resume, cfg.load_from = True, args.resume
    return cfg


def check_resumable(work_dir: str) -> None:
    """``--resume`` without a path: the work dir must exist; a typo in it must not start a new run.

    An existing work dir without a checkpoint (a first start of a job that
    always passes ``--resume``) is fine: NASRunner says there was nothing to
    resume and starts from scratch.
    """
    if '://' in str(work_dir) or osp.isdir(work_dir):
        return
    raise FileNotFoundError(
        f'--resume: work dir {work_dir} does not exist, so there is nothing to resume. Check '
        '--work-dir (or the config name it defaults to); to start a new run, leave out --resume '
        'or create the folder first.')


def enable_amp(optim_wrapper: dict, dtype: Optional[str] = None) -> None:
    """Turn every optimizer wrapper of a config into an ``AmpOptimWrapper``, in place.

    A search has one wrapper per parameter set (``weights``, ``arch``), and both
    phases must autocast: each runs its forward under its own wrapper's
    context. Only activations change precision: the parameters (alpha and beta
    too) and their gradients stay float32. float16 (the default) needs loss
    scaling; bfloat16 has float32's range, so its scaler is off, which is
    also what lets a second-order search (unrolled), whose gradients are
    taken directly, run in AMP.
    """
    if dtype is not None and dtype not in AMP_DTYPES:
        raise ValueError(f'--amp-dtype must be one of {AMP_DTYPES}, got {dtype!r}')
    wrappers = ([optim_wrapper[k] for k in ('weights', 'arch') if k in optim_wrapper]
                if optim_wrapper.get('constructor') == 'SearchOptimWrapperConstructor'
                else [optim_wrapper])
    for w in wrappers:
        if w.get('type', 'OptimWrapper') not in ('OptimWrapper', 'AmpOptimWrapper'):
            raise ValueError(f'--amp: optim_wrapper type {w["type"]!r} is not an OptimWrapper')
        w['type'] = 'AmpOptimWrapper'
        if dtype is not None:
            w['dtype'] = dtype
        w.setdefault('loss_scale', dict(enabled=False) if dtype == 'bfloat16' else 'dynamic')


def init_cpu_distributed(cfg: Config) -> None:
    """Start a gloo process group for ``--launcher pytorch`` or ``slurm`` on a machine without CUDA.

    mmengine 0.10.7's launchers call ``torch.cuda.set_device`` (its slurm
    set-up also divides the task id by the number of GPUs, 0 here); with the
    group already up, the runner skips its own initialisation. Configs
    inherited from MMDetection ask for nccl, which cannot run without CUDA,
    so gloo is used whatever the config says (with a warning).
    """
    import torch
    import torch.distributed as dist
    launcher = cfg.get('launcher', 'none')
    if launcher not in ('pytorch', 'slurm') or torch.cuda.is_available() or dist.is_initialized():
        return
    dist_cfg = cfg.get('env_cfg', {}).get('dist_cfg', {})
    backend = dist_cfg.get('backend', 'gloo')
    if backend != 'gloo':
        warnings.warn(f'--launcher {launcher} without CUDA: using the gloo backend instead of the '
                      f'config\'s {backend!r} (env_cfg.dist_cfg.backend)')
    if launcher == 'slurm':
        slurm_environment(dist_cfg.get('port'))
    dist.init_process_group(backend='gloo')


def slurm_environment(port: Optional[int] = None) -> None:
    """torch.distributed's environment from slurm's, as mmengine's slurm set-up writes it,
    without GPUs: rank = SLURM_PROCID, world size = SLURM_NTASKS, local rank = SLURM_LOCALID,
    the master the first host of SLURM_NODELIST (unless MASTER_ADDR is set), port ``port``,
    else MASTER_PORT, else 29500."""
    import subprocess
    missing = [v for v in ('SLURM_PROCID', 'SLURM_NTASKS', 'SLURM_NODELIST') if v not in os.environ]
    if missing:
        raise KeyError(f'--launcher slurm: {", ".join(missing)} not set; start the job with srun')
    if 'MASTER_ADDR' not in os.environ:
        nodes = os.environ['SLURM_NODELIST']
        try:
            out = subprocess.run(['scontrol', 'show', 'hostnames', nodes], capture_output=True,
                                 text=True, check=True).stdout.split()
        except (OSError, subprocess.CalledProcessError) as e:
            raise RuntimeError(f'--launcher slurm: cannot resolve SLURM_NODELIST={nodes!r} with '
                               f'scontrol ({e}); set MASTER_ADDR to the first node') from None
        os.environ['MASTER_ADDR'] = out[0]
    if port is not None:
        os.environ['MASTER_PORT'] = str(port)
    os.environ.setdefault('MASTER_PORT', '29500')
    os.environ['WORLD_SIZE'] = os.environ['SLURM_NTASKS']
    os.environ['RANK'] = os.environ['SLURM_PROCID']
    os.environ['LOCAL_RANK'] = os.environ.get('SLURM_LOCALID', '0')


def build_runner(cfg: Config) -> Runner:
    init_cpu_distributed(cfg)
    return RUNNERS.build(cfg) if 'runner_type' in cfg else Runner.from_cfg(cfg)


def main_train(description: str, argv: Optional[Sequence[str]] = None) -> Runner:
    args = train_arg_parser(description).parse_args(argv)
    runner = build_runner(load_train_config(args))
    with loading_scope(runner):
        runner.train()
    return runner


def loading_scope(runner: Runner) -> ContextManager:
    """Where a plain Runner (a config without ``runner_type='NASRunner'``) loads checkpoints,
    the weights-only allow-list that NASRunner applies itself."""
    from ..compat import checkpoint_loading
    from .runner import NASRunner
    return nullcontext() if isinstance(runner, NASRunner) else checkpoint_loading()
