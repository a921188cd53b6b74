"""Random-number state in checkpoints, so that a resumed run continues the same random stream."""
from __future__ import annotations

import random

import numpy as np
import torch
from mmdet.registry import HOOKS
from mmengine.hooks import Hook


def get_rng_state() -> dict:
    np_state = np.random.get_state(legacy=False)
    return {
        'python': random.getstate(),
        # as plain ints so that weights-only loading accepts it
        'numpy': {'bit_generator': np_state['bit_generator'],
                  'key': np_state['state']['key'].tolist(), 'pos': int(np_state['state']['pos']),
                  'has_gauss': int(np_state['has_gauss']), 'gauss': float(np_state['gauss'])},
        'torch': torch.get_rng_state(),
    }


def set_rng_state(state: dict) -> None:
    py = state['python']
    random.setstate((py[0], tuple(py[1]), py[2]))
    n = state['numpy']
    np.random.set_state({'bit_generator': n['bit_generator'],
                         'state': {'key': np.asarray(n['key'], dtype=np.uint32), 'pos': n['pos']},
                         'has_gauss': n['has_gauss'], 'gauss': n['gauss']})
    torch.set_rng_state(state['torch'])


@HOOKS.register_module()
class RNGStateHook(Hook):
    """Saves python/numpy/torch RNG states with each checkpoint and restores them on resume.

    MMEngine reseeds at start-up, so without this a resumed run would draw
    dropout and drop-path masks (and, with ``num_workers=0``, augmentations
    not seeded per sample) differently from the uninterrupted run. The
    search configs' augmentations are seeded per sample
    (:mod:`nas_backbones.datasets.samplers`), which also covers worker processes.
    """

    priority = 'VERY_LOW'

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        checkpoint.setdefault('meta', {})['rng_state'] = get_rng_state()

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        state = checkpoint.get('meta', {}).get('rng_state')
        if state is not None:
            set_rng_state(state)
