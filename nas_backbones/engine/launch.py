"""The command line shared by tools/train.py and tools/search.py (MMDetection's train.py options)."""
from __future__ import annotations

import argparse
import os
import os.path as osp
import shlex
import sys
import warnings
from contextlib import nullcontext
from typing import ContextManager, Iterable, Optional, Sequence

from mmengine.config import Config, DictAction
from mmengine.registry import RUNNERS
from mmengine.runner import Runner

from ..package import resolve_config

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
    parser.add_argument('--overwrite', action='store_true',
                        help='start over in a work dir that holds an earlier run\'s result '
                             '(checkpoints, genotype.json / architecture.json), replacing it; '
                             'without it such a work dir is refused (a read-only result always is)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config settings, key=value (e.g. train_dataloader.batch_size=8)')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'], default='none',
                        help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    return parser


def load_config(args: argparse.Namespace) -> Config:
    """The config with the options train, search and test share: launcher, --cfg-options and
    the work dir (command line > config > ./work_dirs/<config name>). ``nas_backbones::NAME``
    names a config shipped with the package (``nas-train nas_backbones::ssd_pcdarts_demo.py``)."""
    args.config = resolve_config(args.config)
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
    overwrite = getattr(args, 'overwrite', False)
    if args.resume is not None and overwrite:
        raise ValueError('--resume continues the run in the work dir and --overwrite starts it over: '
                         'give one of them')
    if args.resume == 'auto':
        cfg.resume, cfg.load_from = True, None
        check_resumable(cfg.work_dir)
    elif args.resume is not None:
        if not osp.isfile(args.resume):
            raise FileNotFoundError(f'--resume: checkpoint not found: {args.resume}')
        cfg.resume, cfg.load_from = True, args.resume
    else:
        refuse_earlier_result(cfg.work_dir, overwrite=overwrite,
                              command=getattr(args, 'command', None))
    return cfg


class ResultExistsError(FileExistsError):
    """A run would replace the result of an earlier one (:func:`refuse_earlier_result`)."""


# What a finished (or checkpointed) run leaves in its work dir, besides ``*.pth``.
RESULT_FILES = ('genotype.json', 'architecture.json', 'search_history.json', 'last_checkpoint')


def earlier_results(work_dir: str, names: Iterable[str] = RESULT_FILES,
                    patterns: Iterable[str] = ('*.pth',)) -> list[str]:
    """The files of ``work_dir`` (not its sub-folders) that an earlier run left: ``names`` or ``patterns``."""
    import fnmatch
    if '://' in str(work_dir) or not osp.isdir(work_dir):
        return []
    names, patterns = set(names), tuple(patterns)
    return sorted(f for f in os.listdir(work_dir)
                  if (f in names or any(fnmatch.fnmatch(f, p) for p in patterns))
                  and osp.isfile(osp.join(work_dir, f)))


def command_line(argv: Optional[Sequence[str]] = None, drop: Iterable[str] = ('--resume', '--overwrite')) -> str:
    """The command that ran (``python`` + ``sys.argv``, or ``argv`` when given whole), less the ``drop`` flags.

    ``--resume``'s optional checkpoint path goes with it.
    """
    argv = list(sys.argv if argv is None else argv)
    drop, out, i = set(drop), [], 0
    while i < len(argv):
        a = argv[i]
        if a.split('=', 1)[0] in drop:
            if a == '--resume' and i + 1 < len(argv) and argv[i + 1].endswith('.pth'):
                i += 1
        else:
            out.append(a)
        i += 1
    return ' '.join(shlex.quote(a) for a in ['python', *out])


def read_only(path: str) -> bool:
    """Whether a file was made read-only (its owner's write bit is off; root may write it anyway)."""
    import stat
    return not os.access(path, os.W_OK) or not os.stat(path).st_mode & stat.S_IWUSR


def refuse_earlier_result(work_dir: str, overwrite: bool = False, command: Optional[str] = None,
                          names: Iterable[str] = RESULT_FILES, patterns: Iterable[str] = ('*.pth',),
                          resumable: bool = True) -> None:
    """Raise :class:`ResultExistsError` where ``work_dir`` holds an earlier run's result.

    A search or training is hours of work: running the same command again
    without ``--resume`` must not replace its checkpoints and its
    ``genotype.json`` / ``architecture.json`` without a word. The message
    names the files and gives the two commands that go on: continue it
    (``--resume``, where ``resumable``) or start over (a new ``--work-dir``,
    or ``--overwrite``). With ``overwrite=True`` the run goes ahead, except
    where a result file is read-only: a user protected it, so it is refused
    even then. ``command``: the command line to quote (default: this
    process's, see :func:`command_line`). Every tool that writes results into
    a work dir calls this before writing anything (``names``/``patterns``:
    the files that tool leaves).
    """
    found = earlier_results(work_dir, names, patterns)
    if not found:
        return
    locked = [f for f in found if read_only(osp.join(work_dir, f))]
    if overwrite and not locked:
        return
    if overwrite:
        raise ResultExistsError(
            f'{osp.join(work_dir, locked[0])} is read-only: an earlier result someone protected, which '
            'this run would replace. Give another --work-dir (or make the file writable yourself).')
    cmd = command or command_line()
    shown = ', '.join(found[:4]) + (f' and {len(found) - 4} more' if len(found) > 4 else '')
    lines = [f'{work_dir} holds the result of an earlier run ({shown}); it is kept, and nothing was '
             'started. Either']
    if resumable:
        lines.append(f'  continue that run:  {cmd} --resume')
    fresh = ' '.join(shlex.quote(a) for a in _without_option(shlex.split(cmd), '--work-dir'))
    lines.append(f'  {"or start a new one" if resumable else "start a new one"}: {fresh} --work-dir NEW_DIR')
    lines.append(f'  (or replace it:     {cmd} --overwrite)' if not locked else
                 f'  ({locked[0]} is read-only, so --overwrite is refused too)')
    raise ResultExistsError('\n'.join(lines))


def _without_option(argv: list[str], option: str) -> list[str]:
    """``argv`` less ``option VALUE`` / ``option=VALUE``."""
    out, skip = [], False
    for a in argv:
        if skip:
            skip = False
        elif a == option:
            skip = True
        elif not a.startswith(option + '='):
            out.append(a)
    return out


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


def choose_threads(processes: int = 1) -> str:
    """Set torch's threads for a training process from the cores it may use; return the log line.

    torch starts one thread per core, and when other jobs hold some of the
    cores its threads wait on each other at every step: a shared two-core
    machine ran an SSD iteration 70 times slower, not 2-3 times
    (``nas_backbones/utils/threads.py``). So a tool that trains takes
    :func:`~nas_backbones.utils.threads.threads_per_process`: the cores of its
    affinity mask less the busy ones (1-minute load average), shared among
    ``processes``. An ``OMP_NUM_THREADS`` already set wins -- the user's (or a
    launcher's, or the test suite's) choice -- and is only reported. The choice
    is made once, at the start: a job that starts later is not accounted for.
    """
    import torch

    from ..utils.threads import available_cores, busy_cores, threads_per_process
    if os.environ.get('OMP_NUM_THREADS'):
        return (f'threads: {torch.get_num_threads()} a process (OMP_NUM_THREADS='
                f'{os.environ["OMP_NUM_THREADS"]} is set)')
    cores, busy = available_cores(), busy_cores()
    n = threads_per_process(processes, cores, busy)
    torch.set_num_threads(n)
    return (f'threads: {n} a process for {processes} process(es): {cores} core(s) this process may '
            f'use, {min(busy, cores)} busy with other work (1-minute load average); set '
            'OMP_NUM_THREADS to choose')


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


def main_train(description: str, argv: Optional[Sequence[str]] = None,
               script: Optional[str] = None, search: bool = False) -> Runner:
    """Train (or, ``search=True``, search) as the command line says.

    ``script``: the tool's path as messages quote it when ``argv`` is given
    (called from Python). ``search``: the config must be a search
    (:func:`check_search_config`).
    """
    args = train_arg_parser(description).parse_args(argv)
    if argv is not None:
        args.command = command_line([script or sys.argv[0], *argv])
    cfg = load_train_config(args)
    if search:
        check_search_config(cfg, args.config)
    threads = choose_threads(int(os.environ.get('LOCAL_WORLD_SIZE', 1)))
    runner = build_runner(cfg)
    runner.logger.info(threads)
    with loading_scope(runner):
        runner.train()
    return runner


def check_search_config(cfg: Config, path: str) -> None:
    """Refuse a config that is not a search: it would train its model and write no result.

    A search writes its result (``genotype.json`` / ``architecture.json``)
    through ``DerivationHook``; a training config has none.
    """
    hooks = [str(h.get('type', '')) for h in cfg.get('custom_hooks') or [] if isinstance(h, dict)]
    if any(h.split('.')[-1] == 'DerivationHook' for h in hooks):
        return
    model = cfg.get('model', {}).get('type', '?') if isinstance(cfg.get('model'), dict) else '?'
    raise ValueError(f'{path} is not a search config: it has no DerivationHook in custom_hooks, so '
                     f'tools/search.py would train its model ({model}) and write no genotype.json or '
                     'architecture.json. Train it with tools/train.py, or search with a config of '
                     'configs/search/ (or one with custom_hooks=[dict(type=\'DerivationHook\')]).')


def loading_scope(runner: Runner) -> ContextManager:
    """Where a plain Runner (a config without ``runner_type='NASRunner'``) loads checkpoints,
    the weights-only allow-list that NASRunner applies itself."""
    from ..compat import checkpoint_loading
    from .runner import NASRunner
    return nullcontext() if isinstance(runner, NASRunner) else checkpoint_loading()


# ----------------------------------------------------------- errors the user caused
# The kinds of error the project's own checks raise to name a fault in what the user gave
# (a config field, a file, a value): GenotypeError, ArchitectureError, ... are ValueErrors.
USER_ERROR_TYPES = (ValueError, KeyError, FileNotFoundError, FileExistsError, NotADirectoryError,
                    IsADirectoryError)
_PACKAGE = osp.dirname(osp.dirname(osp.abspath(__file__)))
_OWN_CODE = (osp.join(_PACKAGE, ''), osp.join(osp.dirname(_PACKAGE), 'tools', ''))  # nas_backbones/, tools/


def debug_requested() -> bool:
    return os.environ.get('NAS_DEBUG', '').lower() not in ('', '0', 'false', 'no')


def user_error(error: BaseException) -> bool:
    """Whether ``error`` is one of the project's checks naming a fault of the user's input.

    That is an error of :data:`USER_ERROR_TYPES` raised by the project's own
    code (``nas_backbones/`` or ``tools/``): the error itself, or one it was
    raised from -- mmengine's registry re-raises a constructor's error with
    the class name prefixed, which keeps the message and the type. A
    ``KeyError`` counts only with a sentence for a message (a failed lookup
    ``KeyError: 'bbox'`` names nothing). Errors raised inside torch,
    mmengine, mmdet (or of any other type) are unexpected here: their
    traceback is what a bug report needs, so they keep it.
    """
    if not isinstance(error, USER_ERROR_TYPES):
        return False
    link, seen = error, set()
    while isinstance(link, USER_ERROR_TYPES) and id(link) not in seen:
        seen.add(id(link))
        tb = link.__traceback__
        while tb is not None and tb.tb_next is not None:
            tb = tb.tb_next
        own = tb is not None and osp.abspath(tb.tb_frame.f_code.co_filename).startswith(_OWN_CODE)
        lookup = isinstance(link, KeyError) and ' ' not in str(link.args[0] if link.args else '')
        if own and not lookup:
            return True
        link = link.__cause__ or (None if link.__suppress_context__ else link.__context__)
    return False


def run_tool(main, argv: Optional[Sequence[str]] = None) -> int:
    """Run a tool's ``main`` the way a user meets it: an error they caused is one message, not a traceback.

    A mistake in a config, a genotype or a file the user gave is named by
    the project's checks in the last line of the traceback; the frames
    above it are the toolkit's insides and only bury that line. So such an
    error (:func:`user_error`) is printed as ``<tool>: error: <message>``
    with exit status 2. ``--debug`` on the command line (taken out before
    ``main`` parses it) or ``NAS_DEBUG=1`` re-raises it with its traceback;
    every other error keeps its traceback anyway. Returns ``main``'s exit
    status (0 for ``None``).
    """
    args = sys.argv if argv is None else argv
    if '--debug' in args[1:]:
        args[:] = [a for i, a in enumerate(args) if i == 0 or a != '--debug']
        os.environ['NAS_DEBUG'] = '1'
    try:
        status = main()
    except BaseException as e:  # noqa: B902  SystemExit and KeyboardInterrupt pass through below
        if debug_requested() or not isinstance(e, Exception) or not user_error(e):
            raise
        message = e.args[0] if isinstance(e, KeyError) and len(e.args) == 1 else e
        print(f'{osp.basename(args[0])}: error: {message}\n(--debug or NAS_DEBUG=1 prints the traceback)',
              file=sys.stderr)
        return 2
    return status if isinstance(status, int) else 0
