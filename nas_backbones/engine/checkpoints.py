"""What a checkpoint must be before it is used: a checkpoint, of this model, of this architecture.

mmengine loads a checkpoint non-strictly: a file of another detector (an SSD
checkpoint under the SSDLite config) or of another genotype loads "fine" with a
warning list, and a test then reports the mAP of mostly untrained weights. A file
that is no checkpoint at all ends in an error of torch's unpickler (``KeyError: 101``),
or in torch's advice to load it with ``weights_only=False``, which must not be
followed for a file of unknown origin. Here each of those is named:

- :func:`read_checkpoint`: the file is read (weights-only) or the error names it;
- :func:`state_mismatch`: the keys and shapes of its weights against the model's;
- :class:`ArchitectureMetaHook`: training records the architecture of every module
  that declares one (``architecture_options()``: a DARTS backbone's ``genotype``,
  a Single-Path backbone's ``arch``) in the checkpoint's ``meta['architecture']``,
  as the config options that rebuild it (``{'model.backbone.genotype': {...}}``), so
  that ``tools/test.py`` needs no ``--cfg-options model.backbone.genotype=...``
  (:func:`apply_recorded_architecture`) and refuses one that contradicts it
  (:func:`architecture_contradiction`).
"""
from __future__ import annotations

import json
import os
import os.path as osp
from typing import Any, Optional

from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from torch import nn

META_KEY = 'architecture'


class CheckpointError(ValueError):
    """A checkpoint file that cannot be used, named with why."""


def _intact_neighbour(path: str) -> Optional[str]:
    """The newest other ``.pth`` beside ``path`` that torch can read, if any."""
    folder = osp.dirname(osp.abspath(path))
    others = sorted((f for f in os.listdir(folder) if f.endswith('.pth')
                     and osp.join(folder, f) != osp.abspath(path)),
                    key=lambda f: osp.getmtime(osp.join(folder, f)), reverse=True)
    for name in others:
        try:
            read_checkpoint(osp.join(folder, name), suggest=False)
        except CheckpointError:
            continue
        return osp.join(folder, name)
    return None


def _load_failure(error: Exception) -> str:
    """The reason in torch's message, without its advice to load with ``weights_only=False``."""
    text = str(error).strip()
    if 'WeightsUnpickler error:' in text:
        text = text.split('WeightsUnpickler error:', 1)[1].split('Check the documentation', 1)[0]
        text = ' '.join(text.split())
        if text.startswith('Unsupported global'):
            return f'it holds an object of a type that is not allowed ({text[:150]})'
        return text or 'not a pickle torch can read'
    return text.splitlines()[0] if text else 'no message'


def read_checkpoint(path: str, suggest: bool = True) -> dict:
    """``torch.load(path)`` weights-only (mmengine's types allowed), or :class:`CheckpointError` naming it.

    A checkpoint is a dict of tensors (a bare state dict) or a dict with a
    ``state_dict``. ``suggest``: name the newest intact checkpoint beside a
    corrupt one (what ``--resume`` can use instead).
    """
    import torch

    from ..compat import checkpoint_loading
    if not osp.isfile(path):
        raise CheckpointError(f'checkpoint {path} does not exist')
    try:
        with checkpoint_loading():
            ckpt = torch.load(path, map_location='cpu', weights_only=True)
    except Exception as e:  # noqa: BLE001  torch's unpickler raises many kinds
        reason = _load_failure(e)
        message = (f'{path} is not a checkpoint this toolkit can read ({type(e).__name__}: '
                   f'{reason[:200]}): a truncated or corrupt file, or not a .pth that tools/train.py '
                   'or tools/search.py wrote')
        neighbour = _intact_neighbour(path) if suggest else None
        if neighbour:
            message += f'. The checkpoint beside it is intact: {neighbour}'
        raise CheckpointError(message) from None
    state = ckpt.get('state_dict', ckpt) if isinstance(ckpt, dict) else None
    if not isinstance(state, dict) or not state or not all(
            isinstance(v, torch.Tensor) for v in state.values()):
        raise CheckpointError(f'{path} is not a checkpoint: no state_dict of tensors in it (a '
                              f'{type(ckpt).__name__}); give a .pth that tools/train.py wrote')
    return ckpt


def renamed_as_loaded(state: dict, model: nn.Module) -> dict:
    """``state`` with its keys as loading it into ``model`` renames them: each module's load-state-dict
    pre-hooks, parents first, as ``load_state_dict`` runs them (a search checkpoint from before the
    renames keeps ``architecture.supernet.`` where the model has ``space.model.``)."""
    state = dict(state)
    for name, module in model.named_modules():
        for hook in module._load_state_dict_pre_hooks.values():
            hook(state, f'{name}.' if name else '', {}, True, [], [], [])
    return state


def state_mismatch(state: dict, model: nn.Module, examples: int = 3) -> Optional[str]:
    """What differs between a checkpoint's weights and ``model``'s, or None where they fit.

    Keys are compared after mmengine's default revision (a ``module.`` prefix
    of a DDP-wrapped save is dropped) and the model's own renaming
    (:func:`renamed_as_loaded`), shapes where both have the key.
    """
    model = model.module if is_model_wrapper(model) else model
    have = {(k[len('module.'):] if k.startswith('module.') else k): v for k, v in state.items()}
    have = renamed_as_loaded(have, model)
    want = model.state_dict()
    missing = [k for k in want if k not in have]
    unexpected = [k for k in have if k not in want]
    shapes = [f'{k} {tuple(have[k].shape)} vs {tuple(want[k].shape)}' for k in want
              if k in have and tuple(have[k].shape) != tuple(want[k].shape)]
    if not (missing or unexpected or shapes):
        return None
    parts = []
    if missing:
        parts.append(f'{len(missing)} of the model\'s {len(want)} weights are not in it '
                     f'(e.g. {", ".join(missing[:examples])})')
    if unexpected:
        parts.append(f'{len(unexpected)} of its {len(have)} weights are not in the model '
                     f'(e.g. {", ".join(unexpected[:examples])})')
    if shapes:
        parts.append(f'{len(shapes)} have another shape (checkpoint vs model: '
                     f'{"; ".join(shapes[:examples])})')
    return '; '.join(parts)


# ------------------------------------------------------------- the architecture
def architecture_options(model: nn.Module) -> dict[str, Any]:
    """``{'model.<module>.<option>': value}`` for every module that declares ``architecture_options()``."""
    model = model.module if is_model_wrapper(model) else model
    found, skip = {}, []
    for name, module in model.named_modules():
        if any(name.startswith(s + '.') for s in skip) or not hasattr(module, 'architecture_options'):
            continue
        prefix = f'model.{name}.' if name else 'model.'
        found.update({prefix + k: v for k, v in module.architecture_options().items()})
        skip.append(name)
    return found


class ArchitectureMetaHook(Hook):
    """Writes :func:`architecture_options` of the trained model into every checkpoint's meta."""

    priority = 'VERY_LOW'

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        options = architecture_options(runner.model)
        if options:
            checkpoint.setdefault('meta', {})[META_KEY] = options


def recorded_architecture(ckpt: dict) -> dict[str, Any]:
    meta = ckpt.get('meta') if isinstance(ckpt, dict) else None
    recorded = meta.get(META_KEY) if isinstance(meta, dict) else None
    return dict(recorded) if isinstance(recorded, dict) else {}


def apply_recorded_architecture(cfg, ckpt: dict, given: Optional[dict]) -> list[str]:
    """Set the options the checkpoint records that the command line (``given``) does not give; return them.

    An option is set where its parent exists in the config (``model.backbone``);
    what the command line gives is left alone and checked after the model is
    built (:func:`architecture_contradiction`).
    """
    applied = []
    for key, value in recorded_architecture(ckpt).items():
        if given and key in given:
            continue
        *parents, leaf = key.split('.')
        node = cfg
        for p in parents:
            node = node.get(p) if hasattr(node, 'get') else None
        if hasattr(node, '__setitem__') and hasattr(node, 'get'):
            node[leaf] = value
            applied.append(key)
    return applied


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def architecture_contradiction(ckpt: dict, model: nn.Module, path: str) -> Optional[str]:
    """A message where the built model's architecture is not the one the checkpoint was trained with."""
    recorded = recorded_architecture(ckpt)
    if not recorded:
        return None
    built = architecture_options(model)
    for key, value in recorded.items():
        if key in built and _canonical(built[key]) != _canonical(value):
            return (f'{path} was trained with another {key.split(".")[-1]} than the one this model is '
                    f'built with ({key}): the checkpoint records {_canonical(value)[:300]}, the model '
                    f'has {_canonical(built[key])[:300]}. Leave {key} out of --cfg-options: the '
                    'checkpoint\'s own is then used.')
    return None
