"""Network-level multi-objective search: assemble found cells into networks (NSGA-II, Optuna).

    python tools/network_search.py configs/network_search/darts_tiny_cpu.py [--work-dir DIR]
        [--workers N] [--n-trials N] [--export-only] [--cfg-options k=v ...]

Writes WORK_DIR/pareto.json (the front: each point's architecture and
objectives), candidates.json (every trial), pareto.png and study.db (the
Optuna study). Run it again with the same work dir to resume: finished
candidates are not evaluated again. More workers on other machines:
point ``network_search.storage`` at a shared database URL and start this
command there too.

A point builds the networks directly, e.g.
``DartsBackbone(**pareto_point('WORK_DIR/pareto.json', 0)['backbone'])``, or
``python tools/analysis/complexity.py --pareto WORK_DIR/pareto.json --point 0``.
"""
from __future__ import annotations

import argparse
import sys
from typing import Optional, Sequence

from mmengine.config import DictAction
from mmengine.registry import init_default_scope

import nas_backbones  # noqa: F401  registers the models and the network spaces
from nas_backbones.engine.launch import load_config
from nas_backbones.network_search.space import SpaceDeclarationError


def main(argv: Optional[Sequence[str]] = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('config', help='a network-search config (its network_search = dict(...))')
    p.add_argument('--work-dir', help='where the study and the results go '
                   '(default ./work_dirs/<config name>)')
    p.add_argument('--workers', type=int, help='worker processes (default: network_search.workers)')
    p.add_argument('--n-trials', type=int, help='complete trials to reach (default: network_search.n_trials)')
    p.add_argument('--export-only', action='store_true',
                   help='write pareto.json / candidates.json / pareto.png from the study, evaluate nothing')
    p.add_argument('--cfg-options', nargs='+', action=DictAction, help='override config settings')
    args = p.parse_args(argv)
    args.launcher, args.local_rank = 'none', 0
    cfg = load_config(args)
    if args.n_trials is not None:
        cfg.merge_from_dict({'network_search.n_trials': args.n_trials})
    init_default_scope(cfg.get('default_scope', 'mmdet'))
    from nas_backbones.network_search.search import SearchSettings, export, run_search
    try:
        if args.export_only:
            front = export(SearchSettings(cfg, cfg.work_dir))
        else:
            front = run_search(cfg, cfg.work_dir, workers=args.workers)
    except (SpaceDeclarationError, FileNotFoundError, ValueError) as e:
        p.exit(2, f'{p.prog}: error: {e}\n')
    print(f'{len(front["points"])} Pareto points of {front["trials_complete"]} complete trials: '
          f'{cfg.work_dir}/pareto.json')
    for pt in front['points']:
        print(f'  trial {pt["trial"]}: ' + ', '.join(f'{k}={v:.4g}' for k, v in pt['objectives'].items()))
    return 0


if __name__ == '__main__':
    from nas_backbones.engine.launch import run_tool
    sys.exit(run_tool(main))
