"""Convert the Single-Path NAS authors' per-layer runtime model (``pixel1_runtime_model.json``
of dstamoulis/single-path-nas, Apache-2.0) into the project's latency-table format.

    python tools/analysis/convert_singlepath_runtime.py path/to/pixel1_runtime_model.json \\
        --out nas_backbones/spaces/singlepath/tables/pixel1.json

The source holds, per MBConv layer "0".."21" of the reference's 22-layer layout
at 224x224, four milliseconds in the order k3e3, k3e6, k5e3, k5e6. The 20
searchable layers ("1".."20") become entries of the project's keys (the variant
built at the layer's input size); layers with the same key (the identical
stride-1 layers of a block, measured separately) get the mean of their numbers.
The rows of the two fixed layers are not used by the reference's formula, whose
constant (19.5999 ms, ``--const``) covers stem, fixed layers, head and
classifier; it becomes the table's entry for the fixed parts together. Numbers
are stored in seconds, as every latency table is.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
from typing import Optional, Sequence

from nas_backbones.core.latency import LATENCY_TABLE_FORMAT
from nas_backbones.spaces.singlepath import VARIANTS, make_layout
from nas_backbones.spaces.singlepath.cost import fixed_key, pieces
from nas_backbones.utils.io import atomic_write_text

INPUT_SIZE, NUM_CLASSES = (224, 224), 1000


def convert(source: dict, const_ms: float, where: str) -> dict:
    """The latency table (a dict in the project's format) of the reference's runtime model."""
    layout = make_layout()
    variants, fixed = pieces(layout, INPUT_SIZE, NUM_CLASSES)
    if not isinstance(source, dict):
        raise ValueError(f'{where}: expected an object of layers, got {type(source).__name__}')
    found: dict[str, list[float]] = {}
    for spec, layer in zip(layout.searchable, variants):
        row = source.get(str(spec.index))
        if not isinstance(row, dict) or sorted(row) != [str(i) for i in range(len(VARIANTS))]:
            raise ValueError(f'{where}: layer "{spec.index}" must map "0".."3" to milliseconds, '
                             f'got {row!r}')
        for col, (key, _, _) in enumerate(layer):
            ms = row[str(col)]
            if isinstance(ms, bool) or not isinstance(ms, (int, float)) or ms <= 0:
                raise ValueError(f'{where}: layer "{spec.index}" variant "{col}": not a positive '
                                 f'number of milliseconds: {ms!r}')
            found.setdefault(key, []).append(float(ms))
    entries = {key: statistics.fmean(ms) / 1e3 for key, ms in found.items()}
    entries[fixed_key(fixed)] = const_ms / 1e3
    return dict(format=LATENCY_TABLE_FORMAT, device='pixel1', batch=1, unit='seconds',
                scope='the reference layout (width 1.0) at 224x224 with 1000 classes only',
                source='dstamoulis/single-path-nas nas-search/pixel1_runtime_model.json '
                       '(Apache-2.0): Pixel 1, TFLite, 1 thread; fixed parts: the constant '
                       f'{const_ms} ms of its runtime formula',
                entries=dict(sorted(entries.items())))


def main(argv: Optional[Sequence[str]] = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('source', help="the reference's pixel1_runtime_model.json")
    p.add_argument('--out', required=True, help='the latency table to write')
    p.add_argument('--const', type=float, default=19.5999,
                   help="the reference's constant for the fixed parts, ms (default %(default)s)")
    args = p.parse_args(argv)
    with open(args.source) as f:
        try:
            source = json.load(f)
        except json.JSONDecodeError as e:
            raise ValueError(f'{args.source}: not valid JSON ({e})') from None
    table = convert(source, args.const, args.source)
    atomic_write_text(args.out, json.dumps(table, indent=1) + '\n')
    print(f'{args.out}: {len(table["entries"])} entries from {args.source}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
