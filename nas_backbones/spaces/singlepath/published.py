"""Published Single-Path NAS networks by name, and the loader that also takes files and dicts.

``SPNAS_Pixel1`` is the network the Single-Path NAS paper found for the Pixel 1
phone (74.96% ImageNet top-1 at 79.48 ms), in the reference's block table:
k3e1 to 16 | 3 x k3e3 and a skip (24) | k5e6, 3 x k3e3 (40) | k5e6, 3 x k3e3 (80)
| k5e6, 3 x k5e3 (96) | 4 x k5e6 (192) | k3e6 (320); stem 32, head 1280. Its
ImageNet classifier has 4,421,616 parameters (conv weights, BN weights and
biases, the 1000-way FC), the published 4.42M.
"""
from __future__ import annotations

import os
from typing import Union

from ...utils.result_file import load_result
from .layout import DEFAULT_BLOCKS
from .result import Architecture, LayerChoice


def _ops(text: str) -> tuple[LayerChoice, ...]:
    out = []
    for op in text.split():
        if op == 'skip':
            out.append(LayerChoice(skip=True))
        else:
            k, e = op[1:].split('e')
            out.append(LayerChoice(int(k), int(e)))
    return tuple(out)


_PIXEL1 = ('k3e1', 'k3e3 k3e3 k3e3 skip', 'k5e6 k3e3 k3e3 k3e3', 'k5e6 k3e3 k3e3 k3e3',
           'k5e6 k5e3 k5e3 k5e3', 'k5e6 k5e6 k5e6 k5e6', 'k3e6')

PUBLISHED: dict[str, Architecture] = {
    'SPNAS_Pixel1': Architecture(DEFAULT_BLOCKS, tuple(_ops(b) for b in _PIXEL1),
                                 source='published architecture SPNAS_Pixel1'),
}

ArchitectureSpec = Union[str, os.PathLike, dict, Architecture]


def load_architecture(spec: ArchitectureSpec) -> Architecture:
    """An architecture from a published name, an ``architecture.json`` file, a dict or an Architecture."""
    return load_result(spec, Architecture, PUBLISHED)
