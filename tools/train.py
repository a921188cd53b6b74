"""Train a detector or classifier of this project with MMDetection 3.3's tools/train.py command line.

    python tools/train.py configs/ssd_pcdarts_demo.py
    python tools/train.py CONFIG --work-dir DIR --resume [CKPT] --amp --auto-scale-lr --cfg-options k=v ...
        [--launcher none|pytorch|slurm|mpi] [--overwrite] [--debug]

A work dir that holds an earlier run's checkpoints is refused (with the commands that continue it,
--resume, or start over, a new --work-dir or --overwrite). Each checkpoint records the backbone's
genotype / architecture, which tools/test.py then uses. A mistake in the input is one line
(--debug or NAS_DEBUG=1: its traceback); torch's threads are chosen from the free cores (logged).

nas_backbones is imported first, so its registrations and compatibility fixes apply.
Searches use tools/search.py, which shares this command line.
"""
import sys

import nas_backbones  # noqa: F401  registers modules, applies nas_backbones.compat
from nas_backbones.engine.launch import main_train, run_tool

if __name__ == '__main__':
    sys.exit(run_tool(lambda: main_train(__doc__.split('\n\n')[0])))
