"""Test (and evaluate) a checkpoint: MMDetection 3.3's tools/test.py command line, with
nas_backbones imported first so its registrations and fixes apply.

    python tools/test.py configs/ssd_pcdarts_demo.py work_dirs/ssd_pcdarts_demo/epoch_24.pth
    python tools/test.py CONFIG CKPT --work-dir DIR --out results.pkl --show-dir vis --cfg-options k=v ...

A checkpoint that tools/train.py wrote records the genotype / Single-Path architecture it was
trained with, and that one is used: no --cfg-options model.backbone.genotype=... is needed (one
that contradicts the checkpoint is refused). A file that is not a checkpoint, or a checkpoint
whose weights do not fit the model (keys or shapes), is refused with a few of them named.
"""
import argparse
import sys

from mmdet.engine.hooks.utils import trigger_visualization_hook
from mmdet.evaluation import DumpDetResults
from mmengine.config import DictAction

import nas_backbones  # noqa: F401  registers modules, applies nas_backbones.compat
from nas_backbones.engine.checkpoints import (
    CheckpointError,
    apply_recorded_architecture,
    architecture_contradiction,
    read_checkpoint,
    state_mismatch,
)
from nas_backbones.engine.launch import build_runner, load_config, loading_scope, run_tool


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Test (and evaluate) a model')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--work-dir', help='the directory to save the file containing evaluation metrics')
    parser.add_argument('--out', type=str, help='dump predictions to a pickle file for offline evaluation')
    parser.add_argument('--show', action='store_true', help='show prediction results')
    parser.add_argument('--show-dir', help='save painted images under work_dir/<timestamp>/SHOW_DIR')
    parser.add_argument('--wait-time', type=float, default=2, help='the interval of show (s)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override settings of the config, key=value (lists: key="[a,b]" or key=a,b; '
                        'nested: key="[(a,b),(c,d)]"; quotes needed, no white space)')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'], default='none',
                        help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    if args.out is not None and not args.out.endswith(('.pkl', '.pickle')):
        raise ValueError(f'--out {args.out}: the dump file must be a .pkl or .pickle file')
    ckpt = read_checkpoint(args.checkpoint)  # or an error naming the file, before anything is built
    cfg = load_config(args)
    cfg.load_from = args.checkpoint
    applied = apply_recorded_architecture(cfg, ckpt, args.cfg_options)
    if args.show or args.show_dir:
        cfg = trigger_visualization_hook(cfg, args)

    runner = build_runner(cfg)  # --launcher pytorch without CUDA: a gloo group
    for key in applied:
        runner.logger.info(f'{key}: the one {args.checkpoint} was trained with (recorded in its meta)')
    problem = architecture_contradiction(ckpt, runner.model, args.checkpoint)
    mismatch = state_mismatch(ckpt.get('state_dict', ckpt), runner.model)
    if problem is None and mismatch:
        problem = (f'{args.checkpoint} is not a checkpoint of the model {args.config} builds: {mismatch}. '
                   'Its mAP would be that of untrained weights; give the config it was trained with '
                   '(and, for a checkpoint without a recorded architecture, its genotype or arch in '
                   '--cfg-options).')
    if problem:
        raise CheckpointError(problem)
    del ckpt
    if args.out is not None:
        runner.test_evaluator.metrics.append(DumpDetResults(out_file_path=args.out))
    with loading_scope(runner):  # NASRunner loads the checkpoint under compat.checkpoint_loading itself
        runner.test()


if __name__ == '__main__':
    sys.exit(run_tool(main))
