"""Records the search: the genotype each epoch, the alpha/beta history, and the final genotype file."""
from __future__ import annotations

import json
import os.path as osp
from typing import Optional

import torch
from mmdet.registry import HOOKS
from mmengine.dist import (all_reduce, broadcast_object_list, get_rank, get_world_size,
                           is_distributed, master_only)
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from ..utils.io import atomic_write_text

HISTORY_FILE = 'search_history.json'
GENOTYPE_FILE = 'genotype.json'


def unwrap(model):
    return model.module if is_model_wrapper(model) else model


@HOOKS.register_module()
class GenotypeHook(Hook):
    """After every epoch: derive the genotype, write it and the alpha/beta history, log one line.

    ``WORK_DIR/genotype.json`` always holds the latest derived genotype (the
    last epoch's at the end, which is what PC-DARTS reports) and
    ``WORK_DIR/search_history.json`` the per-epoch history; both are written
    atomically. The history also travels in checkpoints, so a resumed search
    keeps it. Under distributed search the ranks' alpha/beta are compared
    at every epoch end and the search stops if they differ.
    """

    priority = 'LOW'  # after the parameter updates of the epoch, before checkpointing

    def __init__(self, check_ranks: bool = True, atol: float = 0.) -> None:
        self.history: list[dict] = []
        self.check_ranks = check_ranks
        self.atol = atol

    # ------------------------------------------------------------ checkpoints
    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        checkpoint.setdefault('meta', {})['search_history'] = self.history

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        self.history = list(checkpoint.get('meta', {}).get('search_history', []))

    # ----------------------------------------------------------------- epochs
    def after_train_epoch(self, runner) -> None:
        algo = unwrap(runner.model)
        if self.check_ranks and is_distributed():
            check_ranks_agree(algo.arch, runner.epoch + 1, self.atol)
            runner.logger.info(f'alpha/beta are identical on all {get_world_size()} ranks')
        genotype = algo.genotype()
        entry = {'epoch': runner.epoch + 1, 'iter': runner.iter,
                 'arch_active': bool(getattr(runner.train_loop, 'arch_active', True)),
                 'genotype': genotype.to_dict()}
        entry.update(algo.arch.snapshot())
        self.history.append(entry)
        # One line: the genotype itself is in genotype.json and the history file.
        runner.logger.info(f'epoch {runner.epoch + 1}: genotype -> {GENOTYPE_FILE}, alpha/beta -> '
                           f'{HISTORY_FILE} ({_summary(genotype)})')
        self._write(runner, genotype)

    @master_only
    def _write(self, runner, genotype) -> None:
        atomic_write_text(osp.join(runner.work_dir, HISTORY_FILE),
                          json.dumps({'history': self.history}, indent=1))
        genotype.save(osp.join(runner.work_dir, GENOTYPE_FILE))


def _summary(genotype) -> str:
    """How many of each cell's genes are parameter-free (the skip-connect collapse DARTS users watch)."""
    free = ('skip_connect', 'max_pool_3x3', 'avg_pool_3x3')
    parts = []
    for kind, genes in (('normal', genotype.normal), ('reduce', genotype.reduce)):
        n = sum(op in free for op, _ in genes)
        parts.append(f'{kind}: {n} of {len(genes)} genes parameter-free')
    return ', '.join(parts)


def check_ranks_agree(arch: torch.nn.Module, epoch: int, atol: float = 0.) -> None:
    """Raise on every rank if any rank's alpha/beta differ from rank 0's."""
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
            'the ranks would derive different genotypes. Stopping.')
