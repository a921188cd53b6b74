"""Warm-starting a searchable trunk from another search's checkpoint: its weights, strictly, nothing else.

FNA (Fang et al., "Fast Neural Network Adaptation via Parameter Remapping", ICLR 2020) starts a
detection backbone search from a trained network instead of from scratch, so that the architecture
gradient is taken on weights that already compute something. Here the trunk of a detection
supernet takes the weights of the same trunk from a classification search (object crops, an
ImageNet subset): the stem and the search cells. The architecture parameters live beside the
trunk (``space.arch``), not in it, so they are never loaded: the detection search starts its own
alpha/beta.

mmengine's ``init_cfg=dict(type='Pretrained', prefix=...)`` loads what it finds and only logs what
is missing; a trunk that silently keeps half its random weights would make a search's result
meaningless, so this load is strict: every trunk weight must be in the checkpoint, with its shape.
"""
from __future__ import annotations

import warnings
from typing import Optional

import torch.nn as nn
from mmengine.logging import print_log
from mmengine.runner.checkpoint import CheckpointLoader

from ..compat import checkpoint_loading
from ..core.algorithm import renamed_key

MAX_NAMED = 8  # keys named in an error message


def _names(keys: list[str]) -> str:
    more = f' and {len(keys) - MAX_NAMED} more' if len(keys) > MAX_NAMED else ''
    return ', '.join(keys[:MAX_NAMED]) + more


def load_trunk_weights(module: nn.Module, checkpoint: str, prefix: str,
                       ignore: Optional[tuple[str, ...]] = None, what: str = 'warm_start') -> list[str]:
    """Load ``module``'s whole state (parameters and BatchNorm statistics) from the keys of
    ``checkpoint`` that start with ``prefix``; return the keys under ``prefix`` that were not used
    (e.g. a classifier's head). Raises naming the keys that are missing or of another shape."""
    if not isinstance(prefix, str) or not prefix.endswith('.'):
        raise ValueError(f'{what}.prefix: expected the key prefix of the trunk in the checkpoint, '
                         f"ending with '.' (e.g. 'space.model.'), got {prefix!r}")
    if renamed_key(prefix) != prefix:  # the names of before, in a checkpoint of either age
        warnings.warn(f"{what}.prefix={prefix!r} uses the old names (deprecated): write "
                      f"{renamed_key(prefix)!r}", FutureWarning, stacklevel=2)
        prefix = renamed_key(prefix)
    with checkpoint_loading():
        ckpt = CheckpointLoader.load_checkpoint(checkpoint, map_location='cpu')
    state = ckpt.get('state_dict', ckpt) if isinstance(ckpt, dict) else None
    if not isinstance(state, dict):
        raise ValueError(f'{what}.checkpoint: {checkpoint} holds no state dict')
    state = {renamed_key(k): v for k, v in state.items()}  # a search checkpoint from before the renames
    found = {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}
    if not found:
        tops = sorted({k.split('.')[0] + '.' for k in state})
        raise KeyError(f'{what}: no key of {checkpoint} starts with prefix {prefix!r} (its keys '
                       f'start with {_names(tops)}); a search checkpoint keeps its trunk under '
                       "'space.model.' (classification) or 'space.model.backbone.' (detection)")
    own = module.state_dict()
    # A classification search keeps its trunk as the model's backbone ('space.model.backbone.');
    # checkpoints from before keep it under 'architecture.supernet.'. The one prefix finds either.
    nested = {k[len('backbone.'):]: v for k, v in found.items() if k.startswith('backbone.')}
    if nested and not any(k in found for k in own) and any(k in nested for k in own):
        found = nested
    missing = sorted(k for k in own if k not in found)
    shapes = sorted(f'{k} ({tuple(found[k].shape)} in the checkpoint, {tuple(v.shape)} here)'
                    for k, v in own.items() if k in found and found[k].shape != v.shape)
    if missing or shapes:
        problems = []
        if missing:
            problems.append(f'{len(missing)} missing: {_names(missing)}')
        if shapes:
            problems.append(f'{len(shapes)} of another shape: {_names(shapes)}')
        raise ValueError(f'{what}: {checkpoint} (prefix {prefix!r}) is not a checkpoint of this trunk: '
                         + '; '.join(problems) + '. The trunk must be built with the same C, layers, '
                         'steps, stem, primitives and partial_k as the search that saved it.')
    module.load_state_dict({k: found[k] for k in own}, strict=True)
    unused = sorted(k for k in found if k not in own)
    print_log(f'{what}: {len(own)} trunk weights from {checkpoint} (prefix {prefix!r})'
              + (f'; not used: {_names(unused)}' if unused else ''), logger='current')
    return unused
