"""Search an architecture (a cell with PC-DARTS / DARTS: WORK_DIR/genotype.json).

    python tools/search.py configs/search/pcdarts_tiny_imagenet.py [--work-dir DIR] [--resume [CKPT]]
        [--amp [--amp-dtype bfloat16]] [--cfg-options k=v ...] [--launcher none|pytorch|slurm|mpi]
        [--overwrite] [--debug]

A work dir that holds an earlier search's result is refused unless --resume or --overwrite (a
read-only genotype.json always is), and so is a config that is not a search (no DerivationHook).

The genotype file plugs into the backbone directly, e.g.
``--cfg-options model.backbone.genotype=WORK_DIR/genotype.json`` for configs/ssd_pcdarts_coco.py.
"""
import os.path as osp
import sys

from mmengine.model import is_model_wrapper

import nas_backbones  # noqa: F401  registers the modules and applies the compatibility fixes
from nas_backbones.engine.launch import main_train, run_tool


def main(argv=None) -> int:
    runner = main_train(__doc__.split('\n\n')[0], argv, script='tools/search.py',
                        search=True)
    model = runner.model.module if is_model_wrapper(runner.model) else runner.model
    path = osp.join(runner.work_dir, type(model.derive()).filename)
    if runner.rank == 0:
        if not osp.isfile(path):
            print(f'search finished but wrote no {path}: is DerivationHook in custom_hooks?',
                  file=sys.stderr)
            return 1
        print(f'result: {path}')
    return 0


if __name__ == '__main__':
    sys.exit(run_tool(main))
