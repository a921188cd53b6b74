"""Are two checkpoints (or two initial state dicts) the same, bit for bit, up to renamed key prefixes?

    python benchmarks/compare_checkpoints.py A.pth B.pth [--map OLD=NEW ...] [--no-optimizer]

What "behaviour unchanged" is checked by after a refactoring (issue 20's done-means): run the
same fixed-seed search before and after, then compare the two last checkpoints here. Compared:

- ``state_dict``: the same keys once A's are renamed by the ``--map`` prefixes (applied in the
  order given, each to the result of the one before, e.g. ``--map architecture.=space.
  --map space.supernet.=space.model.`` for the renames of issue 20), and every tensor equal in
  dtype, shape and every element (``torch.equal``, NaN never equal);
- ``optimizer``: the optimizer wrappers' state (momentum buffers, Adam moments, step counts, the
  parameter groups' settings), all tensors and numbers equal; parameters are numbered, not named,
  so equal state also says the parameters are in the same order;
- ``param_schedulers``: equal, where both have them.

A bare state dict (no ``state_dict`` key) is compared as such. Prints each difference (at most 20
per part) and exits 1 if any, 0 if the two are the same.
"""
from __future__ import annotations

import argparse
import sys
from typing import Any, Iterator, Optional, Sequence

import torch

MAX_SHOWN = 20


def renamed(key: str, maps: Sequence[tuple[str, str]]) -> str:
    for old, new in maps:
        if key.startswith(old):
            key = new + key[len(old):]
    return key


def _differences(a: Any, b: Any, path: str) -> Iterator[str]:
    """Where two nested values (dicts, lists, tensors, numbers) differ."""
    if isinstance(a, torch.Tensor) or isinstance(b, torch.Tensor):
        if not (isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor)):
            yield f'{path}: a tensor against a {type(b if isinstance(a, torch.Tensor) else a).__name__}'
        elif a.dtype != b.dtype or a.shape != b.shape:
            yield f'{path}: {a.dtype} {tuple(a.shape)} vs {b.dtype} {tuple(b.shape)}'
        elif not torch.equal(a, b):
            diff = (a.double() - b.double()).abs().max().item() if a.is_floating_point() else 'n/a'
            yield f'{path}: values differ (largest difference {diff})'
    elif isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b), key=str):
            if k not in a or k not in b:
                yield f'{path}.{k}: only in {"B" if k not in a else "A"}'
            else:
                yield from _differences(a[k], b[k], f'{path}.{k}')
    elif isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        if len(a) != len(b):
            yield f'{path}: {len(a)} vs {len(b)} items'
        for i, (x, y) in enumerate(zip(a, b)):
            yield from _differences(x, y, f'{path}[{i}]')
    elif a != b:
        yield f'{path}: {a!r} vs {b!r}'


def compare(a: dict, b: dict, maps: Sequence[tuple[str, str]] = (),
            optimizer: bool = True) -> list[str]:
    """Every difference between checkpoints ``a`` and ``b`` (A's keys renamed by ``maps``)."""
    sa, sb = a.get('state_dict', a), b.get('state_dict', b)
    sa = {renamed(k, maps): v for k, v in sa.items()}
    problems = list(_differences(sa, sb, 'state_dict'))
    parts = ('optimizer', 'param_schedulers') if optimizer else ()
    for part in parts:
        if part in a or part in b:
            problems += list(_differences(a.get(part), b.get(part), part))
    return problems


def _load(path: str) -> dict:
    from nas_backbones.compat import checkpoint_loading
    with checkpoint_loading():
        return torch.load(path, map_location='cpu', weights_only=True)


def main(argv: Optional[Sequence[str]] = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('a', help='the checkpoint of before (its keys are renamed by --map)')
    p.add_argument('b', help='the checkpoint of after')
    p.add_argument('--map', action='append', default=[], metavar='OLD=NEW',
                   help="rename A's key prefix OLD to NEW (repeatable, applied in order)")
    p.add_argument('--no-optimizer', action='store_true',
                   help='compare the state dicts only (e.g. two initial models)')
    args = p.parse_args(argv)
    maps = []
    for m in args.map:
        if '=' not in m:
            p.error(f'--map {m!r}: expected OLD=NEW')
        maps.append(tuple(m.split('=', 1)))
    a, b = _load(args.a), _load(args.b)
    problems = compare(a, b, maps, optimizer=not args.no_optimizer)
    n = len(b.get('state_dict', b))
    for line in problems[:MAX_SHOWN]:
        print(line)
    if problems:
        print(f'{len(problems)} difference(s) between {args.a} and {args.b}')
        return 1
    print(f'same: {n} tensors' + ('' if args.no_optimizer else ', optimizer and scheduler state')
          + f' ({args.a} vs {args.b})')
    return 0


if __name__ == '__main__':
    sys.exit(main())
