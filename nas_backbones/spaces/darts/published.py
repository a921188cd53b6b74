"""Published genotypes, in the text their authors printed (DARTS / PC-DARTS ``genotypes.py``)."""
from __future__ import annotations

import os
from typing import Union

from ...engine.preflight import did_you_mean
from .result import Genotype, GenotypeError

_TEXT = {
    'NASNet': "Genotype(normal=[('sep_conv_5x5', 1), ('sep_conv_3x3', 0), ('sep_conv_5x5', 0), ('sep_conv_3x3', 0), ('avg_pool_3x3', 1), ('skip_connect', 0), ('avg_pool_3x3', 0), ('avg_pool_3x3', 0), ('sep_conv_3x3', 1), ('skip_connect', 1)], normal_concat=[2, 3, 4, 5, 6], reduce=[('sep_conv_5x5', 1), ('sep_conv_7x7', 0), ('max_pool_3x3', 1), ('sep_conv_7x7', 0), ('avg_pool_3x3', 1), ('sep_conv_5x5', 0), ('skip_connect', 3), ('avg_pool_3x3', 2), ('sep_conv_3x3', 2), ('max_pool_3x3', 1)], reduce_concat=[4, 5, 6])",
    'AmoebaNet': "Genotype(normal=[('avg_pool_3x3', 0), ('max_pool_3x3', 1), ('sep_conv_3x3', 0), ('sep_conv_5x5', 2), ('sep_conv_3x3', 0), ('avg_pool_3x3', 3), ('sep_conv_3x3', 1), ('skip_connect', 1), ('skip_connect', 0), ('avg_pool_3x3', 1)], normal_concat=[4, 5, 6], reduce=[('avg_pool_3x3', 0), ('sep_conv_3x3', 1), ('max_pool_3x3', 0), ('sep_conv_7x7', 2), ('sep_conv_7x7', 0), ('avg_pool_3x3', 1), ('max_pool_3x3', 0), ('max_pool_3x3', 1), ('conv_7x1_1x7', 0), ('sep_conv_3x3', 5)], reduce_concat=[3, 4, 6])",
    'DARTS_V1': "Genotype(normal=[('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('skip_connect', 0), ('sep_conv_3x3', 1), ('skip_connect', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('skip_connect', 2)], normal_concat=[2, 3, 4, 5], reduce=[('max_pool_3x3', 0), ('max_pool_3x3', 1), ('skip_connect', 2), ('max_pool_3x3', 0), ('max_pool_3x3', 0), ('skip_connect', 2), ('skip_connect', 2), ('avg_pool_3x3', 0)], reduce_concat=[2, 3, 4, 5])",
    'DARTS_V2': "Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 1), ('skip_connect', 0), ('skip_connect', 0), ('dil_conv_3x3', 2)], normal_concat=[2, 3, 4, 5], reduce=[('max_pool_3x3', 0), ('max_pool_3x3', 1), ('skip_connect', 2), ('max_pool_3x3', 1), ('max_pool_3x3', 0), ('skip_connect', 2), ('skip_connect', 2), ('max_pool_3x3', 1)], reduce_concat=[2, 3, 4, 5])",
    'PC_DARTS_cifar': "Genotype(normal=[('sep_conv_3x3', 1), ('skip_connect', 0), ('sep_conv_3x3', 0), ('dil_conv_3x3', 1), ('sep_conv_5x5', 0), ('sep_conv_3x3', 1), ('avg_pool_3x3', 0), ('dil_conv_3x3', 1)], normal_concat=range(2, 6), reduce=[('sep_conv_5x5', 1), ('max_pool_3x3', 0), ('sep_conv_5x5', 1), ('sep_conv_5x5', 2), ('sep_conv_3x3', 0), ('sep_conv_3x3', 3), ('sep_conv_3x3', 1), ('sep_conv_3x3', 2)], reduce_concat=range(2, 6))",
    'PC_DARTS_image': "Genotype(normal=[('skip_connect', 1), ('sep_conv_3x3', 0), ('sep_conv_3x3', 0), ('skip_connect', 1), ('sep_conv_3x3', 1), ('sep_conv_3x3', 3), ('sep_conv_3x3', 1), ('dil_conv_5x5', 4)], normal_concat=range(2, 6), reduce=[('sep_conv_3x3', 0), ('skip_connect', 1), ('dil_conv_5x5', 2), ('max_pool_3x3', 1), ('sep_conv_3x3', 2), ('sep_conv_3x3', 1), ('sep_conv_5x5', 0), ('sep_conv_3x3', 3)], reduce_concat=range(2, 6))",
}
# NASNet and AmoebaNet use ops outside the DARTS search space.
_EXTENDED = ('none', 'max_pool_3x3', 'avg_pool_3x3', 'skip_connect', 'sep_conv_3x3',
             'sep_conv_5x5', 'sep_conv_7x7', 'dil_conv_3x3', 'dil_conv_5x5', 'conv_7x1_1x7')


def _parse(name: str, text: str) -> Genotype:
    prims = _EXTENDED if name in ('NASNet', 'AmoebaNet') else None
    return Genotype.from_text(text, source=f'published genotype {name}', primitives=prims)


PUBLISHED: dict[str, Genotype] = {name: _parse(name, text) for name, text in _TEXT.items()}
PUBLISHED['DARTS'] = PUBLISHED['DARTS_V2']          # quark0/darts' alias
PUBLISHED['PCDARTS'] = PUBLISHED['PC_DARTS_cifar']  # PC-DARTS' default --arch

GenotypeSpec = Union[str, os.PathLike, dict, Genotype]


def _did_you_mean(name: str, known) -> str:
    """The nearest published name, where ``name`` looks like a name rather than a file path."""
    return '' if '/' in name or os.sep in name or '.' in name else did_you_mean(name, known)


def load_genotype(spec: GenotypeSpec) -> Genotype:
    """A genotype from a published name, a file (JSON or ``Genotype(...)`` text) or a dict."""
    if isinstance(spec, Genotype):
        return spec
    if isinstance(spec, dict):
        return Genotype.from_dict(spec, source='genotype dict')
    if isinstance(spec, (str, os.PathLike)):
        s = os.fspath(spec)
        if s in PUBLISHED:
            return PUBLISHED[s]
        if os.path.isfile(s):
            return Genotype.load(s)
        raise GenotypeError(
            f'genotype {s!r} is neither a published name ({", ".join(sorted(PUBLISHED))}) '
            f'nor an existing file.{_did_you_mean(s, PUBLISHED)}')
    raise GenotypeError(f'genotype: expected a name, a path, a dict or a Genotype, got {spec!r}')
