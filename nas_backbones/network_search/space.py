"""What the network-level search needs of a macro space: the contract a space family implements.

A network space is declared in a config (``network_search.space``, with a
``type`` registered in :data:`NETWORK_SPACES`). The driver knows nothing
else of it: it asks the space for an architecture from an Optuna trial
(:meth:`NetworkSpace.suggest`, plain JSON values), builds the network
(:meth:`NetworkSpace.build`) to measure it, and stores what
:meth:`NetworkSpace.point` says a Pareto point is (for DARTS: the keyword
arguments of ``DartsBackbone`` and the input size).
"""
from __future__ import annotations

import json
from typing import Any, Callable, Optional

import torch
import torch.nn as nn
from mmengine.registry import Registry

NETWORK_SPACES = Registry('network space')


class SpaceDeclarationError(ValueError):
    """A network space or search is declared wrongly; the message names the field and value."""


def choices(value: Any, field: str, check: Callable[[Any], Optional[str]]) -> list:
    """``value`` as a non-empty list of distinct choices (a single value: one choice).

    ``field`` is the full name the errors give (``network_search.space.C``);
    ``check(v)`` returns None or why ``v`` is wrong.
    """
    if value is None:
        raise SpaceDeclarationError(f'{field}: missing (a list of choices)')
    values = list(value) if isinstance(value, (list, tuple)) else [value]
    if not values:
        raise SpaceDeclarationError(f'{field}: needs at least one choice, got []')
    for i, v in enumerate(values):
        why = check(v)
        if why:
            raise SpaceDeclarationError(f'{field}[{i}]: {v!r} {why}')
    if len({json.dumps(v, sort_keys=True) for v in values}) != len(values):
        raise SpaceDeclarationError(f'{field}: duplicate choices in {values}')
    return values


def int_at_least(low: int) -> Callable[[Any], Optional[str]]:
    def check(v: Any) -> Optional[str]:
        if isinstance(v, bool) or not isinstance(v, int):
            return 'is not an integer'
        return None if v >= low else f'is below {low}'
    return check


class NetworkSpace:
    """A declared space of whole networks (macro-architectures of found blocks).

    Subclasses implement :meth:`suggest`, :meth:`build`, :meth:`input_shape`
    and :meth:`point`; :meth:`encode` and :meth:`predictor_encoding` when a
    latency predictor can cost their networks. The declaration (the config
    dict) is validated in ``__init__``; :meth:`declaration` is what the study
    remembers, so a resumed search refuses a changed space.
    """

    where = 'network_search.space'
    # What a point's ``architecture`` builds, one sentence of the search report (empty: none).
    builds = ''

    def __init__(self, **declaration: Any) -> None:
        self._declaration = declaration

    def declaration(self) -> dict:
        return json.loads(json.dumps(self._declaration, sort_keys=True, default=str))

    def suggest(self, trial: Any) -> dict:
        """An architecture (JSON values) from an Optuna trial's ``suggest_categorical``."""
        raise NotImplementedError

    def key(self, arch: dict) -> str:
        """Equal for the same network: the driver evaluates each network once."""
        return json.dumps(arch, sort_keys=True)

    def build(self, arch: dict, template: Optional[dict] = None, training: bool = False) -> nn.Module:
        """The network of ``arch``: an mmengine model (``mode='tensor'|'loss'|'predict'``).

        ``template``: the config's ``model``, which the architecture overrides;
        ``training``: with what only training runs (an auxiliary head), else the deployed network.
        """
        raise NotImplementedError

    def input_shape(self, arch: dict) -> tuple[int, ...]:
        """``(C, H, W)`` of one input image."""
        raise NotImplementedError

    def check_template(self, template: Optional[dict]) -> None:
        """Raise :class:`SpaceDeclarationError` where the config's ``model`` cannot take this space's networks.

        Called once, before any trial, so that a declaration that contradicts
        the template is named in the config's own terms (default: no check).
        """

    def point(self, arch: dict) -> dict:
        """What a Pareto point stores to rebuild the network with the existing tools."""
        return dict(arch)

    def encode(self, arch: dict) -> torch.Tensor:
        """The latency predictor's features of ``arch``."""
        raise NotImplementedError(f'{type(self).__name__} has no latency-predictor encoding')

    def predictor_encoding(self) -> dict:
        """The encoding's description, compared with a predictor file's."""
        raise NotImplementedError(f'{type(self).__name__} has no latency-predictor encoding')

    def macro_values(self, arch: dict) -> dict[str, float]:
        """Numbers a predictor checks against the ranges it was measured on."""
        return {}


def build_network_space(cfg: dict) -> NetworkSpace:
    if not isinstance(cfg, dict) or 'type' not in cfg:
        raise SpaceDeclarationError(f'network_search.space: expected dict(type=..., ...), got {cfg!r}')
    cls = NETWORK_SPACES.get(cfg['type'])
    if cls is None:
        raise SpaceDeclarationError(f'network_search.space.type: unknown space {cfg["type"]!r}; '
                                    f'known: {sorted(NETWORK_SPACES.module_dict)}')
    kwargs = {k: v for k, v in cfg.items() if k != 'type'}
    try:
        return cls(**kwargs)
    except TypeError as e:  # an unknown field
        raise SpaceDeclarationError(f'network_search.space ({cfg["type"]}): {e}') from None

