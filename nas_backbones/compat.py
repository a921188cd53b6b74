"""Fixes for mmdet 3.3.0 / mmengine 0.10.7 on torch 2.13 (see ../shared/reference/stack.md).

Applied once, at ``import nas_backbones`` (which ``custom_imports`` does), so
that no user has to know about them:

1. ``SSDHead`` never builds ``loss_cls`` (it computes its own cross-entropy),
   but mmdet's shared prediction code reads ``self.loss_cls``: SSD validation
   and testing fail with ``'SSDHead' object has no attribute 'loss_cls'``
   (mmdet #11063, #11305; the fix #11524 was never merged). A class-level
   ``loss_cls = None`` is what that code expects. The patch waits until
   mmdet's ``ssd_head`` module is imported, so ``import nas_backbones`` does
   not pull in all of ``mmdet.models``.
2. torch >= 2.6 loads checkpoints with ``weights_only=True``, and mmengine
   0.10.7 pickles its message hub (``HistoryBuffer`` objects holding numpy
   arrays and scalars) into every checkpoint, so ``--resume``, ``load_from``
   and testing a checkpoint fail (mmengine #1655). The few types involved are
   registered with ``torch.serialization.add_safe_globals``; the weights-only
   loader stays on, and any other class in a checkpoint is still refused.
   ``HistoryBuffer`` pickles its statistics methods as ``getattr(HistoryBuffer,
   'mean')``; instead of allowing ``getattr`` itself (which would open the
   loader to arbitrary attribute chains), a ``getattr`` that only resolves
   those methods is registered under that name.

The third breakage (``persistent_workers=True`` with ``num_workers=0``) is
fixed in :class:`nas_backbones.engine.runner.NASRunner`.
"""
from __future__ import annotations

import importlib.abc
import json
import importlib.util
import inspect
import pickle
import sys
import types
from typing import Any, Callable, Optional, Sequence

import numpy as np
import torch
from mmengine.logging import HistoryBuffer

SSD_HEAD_MODULE = 'mmdet.models.dense_heads.ssd_head'


# --------------------------------------------------------------- 1. SSDHead
def patch_ssd_head(module: types.ModuleType) -> None:
    """Give mmdet's SSDHead the ``loss_cls = None`` that its prediction code reads."""
    head = module.SSDHead
    if not hasattr(head, 'loss_cls'):
        head.loss_cls = None


class _AfterImport(importlib.abc.MetaPathFinder):
    """Run ``hook(module)`` right after the module ``name`` is first executed."""

    def __init__(self, name: str, hook: Callable[[types.ModuleType], None]) -> None:
        self.name = name
        self.hook = hook

    def find_spec(self, fullname: str, path: Optional[Sequence[str]], target=None):
        if fullname != self.name:
            return None
        sys.meta_path.remove(self)  # one shot; also keeps the lookup below from finding us
        spec = importlib.util.find_spec(fullname)
        if spec is None or spec.loader is None:
            return spec
        loader, hook = spec.loader, self.hook
        exec_module = loader.exec_module

        def exec_then_hook(module: types.ModuleType) -> None:
            exec_module(module)
            hook(module)

        loader.exec_module = exec_then_hook
        return spec


def after_import(name: str, hook: Callable[[types.ModuleType], None]) -> None:
    """``hook(module)`` now if ``name`` is imported, else as soon as it is."""
    if name in sys.modules:
        hook(sys.modules[name])
    elif not any(isinstance(f, _AfterImport) and f.name == name and f.hook is hook
                 for f in sys.meta_path):
        sys.meta_path.insert(0, _AfterImport(name, hook))


# ------------------------------------------------- 2. weights-only checkpoints
def _history_buffer_method(obj: Any, name: str) -> Callable:
    """``getattr`` as mmengine checkpoints use it: only ``HistoryBuffer``'s statistics methods."""
    if obj is HistoryBuffer and isinstance(name, str) and not name.startswith('_'):
        value = inspect.getattr_static(HistoryBuffer, name, None)
        if isinstance(value, types.FunctionType):
            return getattr(HistoryBuffer, name)
    raise pickle.UnpicklingError(
        f'weights-only checkpoint load: getattr({obj!r}, {name!r}) is not allowed '
        '(nas_backbones.compat only resolves mmengine HistoryBuffer statistics methods)')


def checkpoint_safe_globals() -> list:
    """What mmengine 0.10.7 pickles into a checkpoint besides tensors and builtins."""
    core = getattr(np, '_core', None) or np.core  # numpy 2 / numpy 1
    reconstruct = core.multiarray._reconstruct
    scalar = core.multiarray.scalar
    # numpy 2 restores a dtype as an instance of its class (Float64DType, ...);
    # only numeric and bool ones: object arrays would carry arbitrary objects.
    numeric_dtypes = {type(np.dtype(code)) for code in
                      '?' + np.typecodes['AllInteger'] + np.typecodes['AllFloat']}
    return [
        HistoryBuffer,
        (_history_buffer_method, 'builtins.getattr'),
        np.ndarray,
        np.dtype,
        *sorted(numeric_dtypes, key=lambda t: t.__name__),
        # numpy 2 pickles under numpy._core, numpy 1 under numpy.core.
        (reconstruct, 'numpy._core.multiarray._reconstruct'),
        (reconstruct, 'numpy.core.multiarray._reconstruct'),
        (scalar, 'numpy._core.multiarray.scalar'),
        (scalar, 'numpy.core.multiarray.scalar'),
    ]


def allow_mmengine_checkpoints() -> None:
    torch.serialization.add_safe_globals(checkpoint_safe_globals())


# ------------------------------------------------- 3. COCO annotation files
COCO_MODULE = 'mmdet.datasets.coco'


def name_bad_annotation_files(module: types.ModuleType) -> None:
    """Make CocoDataset name the annotation file when it is empty, not JSON, or has no images.

    mmdet reports an empty file as a bare ``JSONDecodeError: Expecting value``.
    (Zero-size and out-of-image boxes are dropped and box-less images are
    filtered for training by mmdet itself.)
    """
    dataset = module.CocoDataset
    original = dataset.load_data_list
    if getattr(original, '_names_file', False):
        return

    def load_data_list(self):
        try:
            data_list = original(self)
        except json.JSONDecodeError as e:
            raise ValueError(f'annotation file {self.ann_file} is not valid JSON ({e}); '
                             'is it empty or truncated?') from None
        except KeyError as e:
            raise ValueError(f'annotation file {self.ann_file}: missing COCO field {e}') from None
        if not data_list:
            raise ValueError(f'annotation file {self.ann_file} lists no images')
        return data_list

    load_data_list._names_file = True
    dataset.load_data_list = load_data_list


def apply() -> None:
    after_import(SSD_HEAD_MODULE, patch_ssd_head)
    after_import(COCO_MODULE, name_bad_annotation_files)
    allow_mmengine_checkpoints()


apply()
