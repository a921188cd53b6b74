"""Work-arounds for mmdet 3.3.0 / mmengine 0.10.7 on torch 2.13, each as narrow as it can be.

``docs/compat.md`` lists every one with the upstream issue it works around.

1. ``SSDHead.loss_cls`` (mmdet #11063, #11305; the fix #11524 was never merged)
   -- **automatic**, and the only fix ``import nas_backbones`` makes to
   another package (the other change is a feature, not a fix: the
   ``nas_backbones::`` config prefix, ``nas_backbones/package.py``). SSDHead never builds
   ``loss_cls`` (it computes its own
   cross-entropy) but mmdet's shared prediction code reads it, so SSD
   validation and testing fail with ``'SSDHead' object has no attribute
   'loss_cls'``. The class gets the ``loss_cls = None`` that code expects, and
   only once mmdet's ``ssd_head`` module is imported (``import nas_backbones``
   does not pull in ``mmdet.models``). It is automatic so that a user's own
   SSD configs that import us keep working, under MMDetection's tools too.
2. Weights-only checkpoint loading (mmengine #1655) -- **scoped**, not
   process-wide. torch >= 2.6 loads with ``weights_only=True`` and mmengine
   0.10.7 pickles its message hub (``HistoryBuffer`` objects, numpy arrays and
   scalars) into every checkpoint, so resuming, ``load_from``, a ``Pretrained``
   init_cfg and testing a checkpoint all fail. :func:`checkpoint_loading` is a
   ``torch.serialization.safe_globals`` scope allowing exactly those types;
   :class:`~nas_backbones.engine.runner.NASRunner` opens it around its own
   checkpoint loads and weight initialisation (so under MMDetection's tools
   too); our ``tools/train.py``, ``search.py`` and ``test.py`` open it around
   the run when a config has no ``runner_type='NASRunner'``. Outside it,
   torch's loader is as strict as it ships.
   ``HistoryBuffer`` pickles its statistics methods as ``getattr(HistoryBuffer,
   'mean')``; instead of allowing ``getattr`` itself (which would open the
   loader to arbitrary attribute chains), a ``getattr`` that only resolves
   those methods is allowed under that name.
3. ``persistent_workers=True`` with ``num_workers=0`` (mmdet's dataset configs)
   -- in :class:`~nas_backbones.engine.runner.NASRunner`, which our configs
   select with ``runner_type``.

4. setuptools >= 81's ``pkg_resources is deprecated`` warning, which mmengine
   triggers on every command -- filtered at import, by its message only.

Errors about annotation files are not a patch of mmdet's ``CocoDataset`` but
a subclass our configs use: :class:`nas_backbones.datasets.coco.CheckedCocoDataset`.
"""
from __future__ import annotations

import importlib.abc
import importlib.util
import inspect
import pickle
import sys
import types
import warnings
from contextlib import contextmanager
from typing import Any, Callable, Iterator, Optional, Sequence

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


@contextmanager
def checkpoint_loading() -> Iterator[None]:
    """A scope in which ``torch.load`` (weights-only) accepts mmengine 0.10.7 checkpoints.

    Only the types of :func:`checkpoint_safe_globals` are added, only inside
    the ``with`` block; any other class in a checkpoint is still refused.
    """
    with torch.serialization.safe_globals(checkpoint_safe_globals()):
        yield


# ------------------------------------------------ 4. pkg_resources warning
# setuptools >= 81 warns on every `import pkg_resources`; mmengine imports (and
# reloads) it to find installed packages, e.g. for each `mmdet::` base config.
# Only that message is silenced; other warnings from pkg_resources still show.
PKG_RESOURCES_MESSAGE = r'pkg_resources is deprecated as an API'


def silence_pkg_resources_deprecation() -> None:
    warnings.filterwarnings('ignore', message=PKG_RESOURCES_MESSAGE, category=UserWarning)


def apply() -> None:
    after_import(SSD_HEAD_MODULE, patch_ssd_head)
    silence_pkg_resources_deprecation()


apply()
