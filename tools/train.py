"""Train a detector or classifier of this project with MMDetection 3.3's tools/train.py command line.

    python tools/train.py configs/ssd_pcdarts_demo.py
    python tools/train.py CONFIG --work-dir DIR --resume [CKPT] --amp --auto-scale-lr --cfg-options k=v ...
        [--launcher none|pytorch|slurm|mpi]

nas_backbones is imported first, so its registrations and compatibility fixes apply.
Searches use tools/search.py, which shares this command line.
"""
import nas_backbones  # noqa: F401  registers modules, applies nas_backbones.compat
from nas_backbones.engine.launch import main_train

if __name__ == '__main__':
    main_train(__doc__.split('\n\n')[0])
