"""Why a short search on crops gives a poor cell: quick measurements of what alpha learns.

For a task of ``search_vs_random.py`` and a search setting (the template, or the
template with overrides), runs a few searches and reports:

- ``supernet_train_acc`` per epoch (does the task saturate before alpha moves?);
- ``arch_steps`` and how far alpha moved (max |alpha_T - alpha_0|; the init is
  1e-3 * randn);
- the relative entropy of softmax(alpha) (1 = uniform) and the mean gap between
  the strongest and the second op of an edge;
- ``init_agreement``: the share of genes of the final genotype that the genotype
  derived from the *initial* alpha/beta already had (chance level is printed);
- agreement between searches that differ only in alpha's init
  (``--vary alpha``) or only in the data order and weight init (``--vary data``);
- the parameter-free ops of the derived cells.

    python benchmarks/search_diagnostics.py --task shapes --vary alpha data
    python benchmarks/search_diagnostics.py --task crops --setting long --json out.json
"""
from __future__ import annotations

import argparse
import itertools
import math
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Optional

if __package__ in (None, ''):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch

from benchmarks.common import benchmark_parser, fmt_table, run_benchmark, setup
from benchmarks.search_vs_random import TASK_BUILDERS, TEMPLATES, VARIANTS, gene_agreement, run_search

# Settings to diagnose: overrides of the template (VARIANTS of search_vs_random are included).
SETTINGS: dict[str, dict] = {
    **VARIANTS,
    'long': {'train_cfg.max_epochs': 8, 'train_cfg.arch_warmup_epochs': 2,
             'param_scheduler.weights.0.T_max': 8, 'param_scheduler.weights.0.end': 8},
    'arch_lr_x10': {'optim_wrapper.arch.optimizer.lr': 6e-2},
    'k1': {'model.space.model.backbone.partial_k': 1},
    'c16': {'model.space.model.backbone.C': 16},
}


def chance_agreement(n: int = 2000) -> float:
    """Gene agreement of two independently drawn random genotypes (the level of 'no relation')."""
    from nas_backbones.spaces.darts.sample import random_genotypes
    a, b = random_genotypes(101, n), random_genotypes(202, n)
    return statistics.fmean(gene_agreement(x, y) for x, y in zip(a, b))


def top_gap(state: dict) -> float:
    """Mean over edges of softmax(alpha) top-1 minus top-2 among the non-none ops."""
    gaps = []
    for k in ('alphas_normal', 'alphas_reduce'):
        p = torch.softmax(state[k], -1)[:, 1:]  # column 0 is none
        top = p.topk(2, -1).values
        gaps.append(float((top[:, 0] - top[:, 1]).mean()))
    return statistics.fmean(gaps)


def gradient_snr(runner, batches: int = 12) -> dict:
    """Signal-to-noise of the architecture gradient at the end of the search.

    The gradient of the architecture loss w.r.t. alpha on ``batches`` batches
    of the architecture split (weights and alpha as the search left them, no
    update): per entry, |mean| / std over batches. Adam's step is about lr
    whatever the gradient's size, so with a per-batch ratio well below 1 each
    step's direction is mostly noise, and a few steps only add noise up.
    """
    algo = getattr(runner.model, 'module', runner.model)
    loader = runner.train_loop.arch_dataloader
    grads = []
    it = iter(loader)
    algo.train()
    for _ in range(batches):
        try:
            batch = next(it)
        except StopIteration:
            it = iter(loader)
            batch = next(it)
        data = algo.data_preprocessor(batch, True)
        algo.zero_all_grads()
        with algo.weights_frozen():
            loss, _ = algo.loss_of(algo, data)
            loss.backward()
        arch = algo.space.arch
        grads.append(torch.cat([arch.alphas_normal.grad.flatten(),
                                arch.alphas_reduce.grad.flatten()]).clone())
        algo.zero_all_grads()
    g = torch.stack(grads)
    snr = g.mean(0).abs() / g.std(0).clamp_min(1e-12)
    return dict(snr_median=float(snr.median()), snr_mean=float(snr.mean()),
                snr_share_above_1=float((snr > 1).float().mean()), batches=batches)


def summarise(found: dict) -> dict:
    from nas_backbones.spaces.darts.derive import derive_genotype
    from nas_backbones.spaces.darts.pictures import parameter_free_counts
    path = found['alpha_path']
    a0, aT = path[0], path[-1]

    def geno(state):
        return derive_genotype(state['alphas_normal'], state['alphas_reduce'],
                               state.get('betas_normal'), state.get('betas_reduce'),
                               found['primitives'], found['steps'], found['multiplier'])
    ent = []
    for k in ('alphas_normal', 'alphas_reduce'):
        p = torch.softmax(aT[k], -1)
        ent.append(float((-(p * p.log()).sum(-1) / math.log(p.size(-1))).mean()))
    moves = {k: float((aT[k] - a0[k]).abs().max()) for k in aT}
    g = found['genotype']
    return dict(seed=found['seed'], alpha_seed=found['alpha_seed'], seconds=found['seconds'],
                supernet_train_acc=found['supernet_train_acc'], arch_steps=found['arch_steps'],
                alpha_max_move=max(v for k, v in moves.items() if k.startswith('alphas')),
                beta_max_move=max([v for k, v in moves.items() if k.startswith('betas')] or [0.]),
                alpha_entropy_rel=statistics.fmean(ent), top_gap=top_gap(aT), top_gap_init=top_gap(a0),
                init_agreement=gene_agreement(geno(a0), g), genotype=g, **(found['after'] or {}),
                **parameter_free_counts(g))


def pairwise(genotypes: list) -> Optional[float]:
    pairs = list(itertools.combinations(genotypes, 2))
    return statistics.fmean(gene_agreement(a, b) for a, b in pairs) if pairs else None


def run(args: argparse.Namespace) -> dict:
    result = dict(machine=setup(args), settings={k: v for k, v in vars(args).items() if k != 'json'},
                  chance_agreement=chance_agreement(), runs={})
    work = Path(args.work_dir) if args.work_dir else Path(tempfile.mkdtemp(prefix='search_diag_'))
    task = TASK_BUILDERS[args.task](args, work)
    template = TEMPLATES[args.task]
    for setting in args.setting:
        overrides = SETTINGS[setting]
        entry = {}
        for vary in args.vary:
            runs = []
            for i in range(args.n):
                seed, alpha_seed = (args.base_seed, i) if vary == 'alpha' else (i, args.base_seed)
                found = run_search(task, template, seed, overrides, work, alpha_seed=alpha_seed,
                                   after=gradient_snr)
                runs.append(summarise(found))
                r = runs[-1]
                print(f'[{args.task} {setting} vary={vary} {i}] {r["seconds"]:.0f}s '
                      f'acc {r["supernet_train_acc"]} move {r["alpha_max_move"]:.3g} '
                      f'init-agree {r["init_agreement"]:.2f} pf {r["normal_param_free"]}/'
                      f'{r["reduce_param_free"]}', file=sys.stderr, flush=True)
            agree = pairwise([r['genotype'] for r in runs])
            for r in runs:
                r['genotype'] = r['genotype'].to_dict()
            entry[vary] = dict(runs=runs, pairwise_agreement=agree)
        result['runs'][setting] = entry
    return result


def table(result: dict) -> str:
    rows = []
    for setting, entry in result['runs'].items():
        for vary, e in entry.items():
            runs = e['runs']
            f = lambda k: statistics.fmean(r[k] for r in runs)  # noqa: E731
            rows.append(dict(
                setting=setting, vary=vary, n=len(runs), steps=runs[0]['arch_steps'],
                acc=' '.join(f'{a:.2f}' for a in runs[0]['supernet_train_acc'] if a is not None),
                move=f'{f("alpha_max_move"):.3g}', ent=f'{f("alpha_entropy_rel"):.4f}',
                gap=f'{f("top_gap"):.2g} (init {f("top_gap_init"):.2g})',
                init=f'{f("init_agreement"):.2f}',
                pair=f'{e["pairwise_agreement"]:.2f}' if e['pairwise_agreement'] is not None else '',
                snr=f'{f("snr_median"):.2f}',
                pf=f'{f("normal_param_free"):.1f} / {f("reduce_param_free"):.1f}'))
    return (f'chance gene agreement of two random genotypes: {result["chance_agreement"]:.3f}\n\n'
            + fmt_table(rows, [('setting', 'setting'), ('vary', 'varied'), ('n', 'n'),
                               ('steps', 'arch steps'), ('acc', 'supernet train acc / epoch (run 0)'),
                               ('move', 'max |d alpha|'), ('ent', 'entropy (1 = uniform)'),
                               ('gap', 'top1-top2 softmax gap'), ('init', 'genes kept from init'),
                               ('pair', 'pairwise agreement'), ('snr', 'gradient SNR (median)'),
                               ('pf', 'param-free normal / reduce')]))


def parser() -> argparse.ArgumentParser:
    p = benchmark_parser(__doc__, repeats=1)
    p.add_argument('--task', default='shapes', choices=sorted(TASK_BUILDERS))
    p.add_argument('--setting', nargs='+', default=['default'], choices=sorted(SETTINGS))
    p.add_argument('--vary', nargs='+', default=['alpha', 'data'], choices=['alpha', 'data'])
    p.add_argument('--n', type=int, default=3, help='searches per varied factor (default 3)')
    p.add_argument('--base-seed', type=int, default=0)
    p.add_argument('--train-per-class', type=int, default=200)
    p.add_argument('--min-crops', type=int, default=20)
    p.add_argument('--cap-crops', type=int, default=60)
    p.add_argument('--work-dir')
    return p


def main(argv: Optional[list[str]] = None) -> dict:
    return run_benchmark(parser(), run, table, argv)


if __name__ == '__main__':
    main()
