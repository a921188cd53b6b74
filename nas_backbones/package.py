"""Where an installed nas_backbones keeps its configs and tools, and the ``nas_backbones::`` config prefix.

A wheel of this repository ships ``configs/`` and ``tools/`` inside the
package, at ``nas_backbones/.mim/configs`` and ``nas_backbones/.mim/tools``
(MMDetection's layout for ``mmdet::``); ``setup.py`` copies them there at
build time. In a clone (or an editable install) they are the repository's own
``configs/`` and ``tools/``, next to the package folder.

``import nas_backbones`` lets a config inherit ours by the package path::

    _base_ = 'nas_backbones::ssd_pcdarts_coco.py'

mmengine 0.10.7 resolves ``package::path`` only for the OpenMMLab packages
in its fixed table (``MODULE2PACKAGE``) and only for paths with a folder, so
the prefix is resolved here, before mmengine's own resolution: the file is
the shipped config, and, unlike ``mmdet::``, no ``_scope_`` is set on the
inherited dicts, since our configs build in MMDetection's scope
(``default_scope='mmdet'``). The prefix works wherever nas_backbones was
imported before the config is parsed: our commands (``nas-train`` and the
others, ``tools/*.py``) do that.
"""
from __future__ import annotations

import os.path as osp

PREFIX = 'nas_backbones::'
_PACKAGE_DIR = osp.dirname(osp.abspath(__file__))


def shipped_dir(name: str) -> str:
    """The folder ``name`` ('configs' or 'tools'): inside the installed package, or the clone's."""
    for path in (osp.join(_PACKAGE_DIR, '.mim', name), osp.join(osp.dirname(_PACKAGE_DIR), name)):
        if osp.isdir(path):
            return path
    raise FileNotFoundError(
        f'nas_backbones has no {name}/ folder: looked in {_PACKAGE_DIR}/.mim/{name} (an installed '
        f'wheel) and {osp.dirname(_PACKAGE_DIR)}/{name} (a clone). Reinstall the package from the '
        'repository (pip install .), which copies it in.')


def config_path(name: str) -> str:
    """The absolute path of a shipped config, e.g. ``config_path('search/pcdarts_demo.py')``;
    ``name`` may carry the ``nas_backbones::`` prefix."""
    rel = name[len(PREFIX):] if name.startswith(PREFIX) else name
    root = shipped_dir('configs')
    path = osp.normpath(osp.join(root, rel))
    if not path.startswith(root + osp.sep) or not osp.isfile(path):
        raise FileNotFoundError(f'nas_backbones has no config {rel!r} (looked for {path}); the '
                                f'shipped configs are under {root}')
    return path


def tool_path(name: str) -> str:
    """The absolute path of a shipped tool script, e.g. ``tool_path('analysis/complexity.py')``."""
    root = shipped_dir('tools')
    path = osp.join(root, name)
    if not osp.isfile(path):
        raise FileNotFoundError(f'nas_backbones has no tool {name!r} (looked for {path})')
    return path


def resolve_config(path: str) -> str:
    """A command line's config argument: ``nas_backbones::NAME`` becomes the shipped file, any
    other path is returned as given."""
    return config_path(path) if path.startswith(PREFIX) else path


def install_config_prefix() -> None:
    """Make mmengine's ``Config`` resolve ``_base_ = 'nas_backbones::NAME'`` (once; idempotent)."""
    from mmengine.config import Config
    original = Config.__dict__['_get_cfg_path'].__func__
    if getattr(original, 'nas_backbones_prefix', False):
        return

    def _get_cfg_path(cfg_path: str, filename: str):
        if cfg_path.startswith(PREFIX):
            try:
                return config_path(cfg_path), None
            except FileNotFoundError as e:
                raise FileNotFoundError(f'{filename}: _base_ {cfg_path!r}: {e}') from None
        return original(cfg_path, filename)

    _get_cfg_path.nas_backbones_prefix = True
    _get_cfg_path.__doc__ = original.__doc__
    Config._get_cfg_path = staticmethod(_get_cfg_path)
