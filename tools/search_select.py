"""Search several times and keep the best result by a short training in your detector (DARTS' selection).

    python tools/search_select.py configs/templates/search_my_data.py [--work-dir DIR] \
        [--cfg-options k=v ...]

CONFIG is a search config with a ``selection = dict(seeds=..., detector=...,
options=..., train_seeds=..., metric=..., workers=...)`` block
(``configs/templates/search_own_coco.py``). One search per seed runs in
WORK_DIR/search_seed<s>/ (``randomness.seed=s``); each result is trained in
``detector`` with the short schedule ``options`` on its training split and
scored by the validation ``metric``; the best is written as WORK_DIR/genotype.json
(architecture.json for Single-Path) and every search's result and score as
WORK_DIR/selection.json. Running it again resumes: finished searches and
trainings are kept. An earlier, different choice in WORK_DIR is never overwritten.
``--cfg-options`` apply to the searches.
"""
from __future__ import annotations

import argparse
import os.path as osp
import sys
from typing import Optional, Sequence

from mmengine.config import DictAction

import nas_backbones  # noqa: F401  registers the modules and the space families
from nas_backbones.evaluation.candidates import CandidateError
from nas_backbones.evaluation.selection import SelectionError, select


def main(argv: Optional[Sequence[str]] = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('config', help='search config with a selection = dict(...) block')
    p.add_argument('--work-dir', help='default: work_dirs/<config name>')
    p.add_argument('--cfg-options', nargs='+', action=DictAction, help='overrides for the searches')
    args = p.parse_args(argv)
    work_dir = args.work_dir or osp.join('work_dirs', osp.splitext(osp.basename(args.config))[0])
    try:
        return select(args.config, work_dir, args.cfg_options)
    except (SelectionError, CandidateError) as e:
        p.exit(2, f'{p.prog}: error: {e}\n')


if __name__ == '__main__':
    from nas_backbones.engine.launch import run_tool
    sys.exit(run_tool(main))
