"""The genotype: what a DARTS-family search produces and a derived network is built from.

A cell has two inputs (index 0 = c_{k-2}, 1 = c_{k-1}) and ``len(genes) // 2``
intermediate nodes; node ``i`` (state index ``i + 2``) sums two genes
``(op, input_index)`` with ``input_index < i + 2``. The cell output
concatenates the states listed in ``*_concat``.

Files are JSON (see :meth:`Genotype.to_json`). The ``Genotype(normal=[...], ...)``
text that DARTS-family code prints is accepted too and parsed with :mod:`ast`,
never evaluated.
"""
from __future__ import annotations

import ast
import json
import os
from dataclasses import dataclass, field
from typing import Any, ClassVar, Iterable, Optional, Sequence, Union

from ...utils.result_file import ResultFile, parse_json
from .ops import DEFAULT_PRIMITIVES, OPS

KNOWN_OPS = frozenset(OPS)

FORMAT = 'nas_backbones.genotype/1'
MAX_LITERAL_LEN = 1024

Gene = tuple[str, int]


class GenotypeError(ValueError):
    """A genotype is malformed; the message names the field and value at fault."""


@dataclass(frozen=True)
class Genotype(ResultFile):
    filename: ClassVar[str] = 'genotype.json'  # what a search writes it as
    FORMAT: ClassVar[str] = FORMAT
    ERROR: ClassVar[type] = GenotypeError
    WHAT: ClassVar[str] = 'genotype'
    FORMAT_REQUIRED: ClassVar[bool] = False  # a hand-written genotype may leave the tag out
    normal: tuple[Gene, ...]
    normal_concat: tuple[int, ...]
    reduce: tuple[Gene, ...]
    reduce_concat: tuple[int, ...]
    # The op vocabulary the genotype was searched with (alpha column order).
    primitives: tuple[str, ...] = field(default=tuple(DEFAULT_PRIMITIVES))

    def __post_init__(self) -> None:
        # Normalise containers so that equality and hashing are by value.
        object.__setattr__(self, 'normal', _genes('normal', self.normal))
        object.__setattr__(self, 'reduce', _genes('reduce', self.reduce))
        object.__setattr__(self, 'normal_concat',
                           _ints('normal_concat', self.normal_concat))
        object.__setattr__(self, 'reduce_concat',
                           _ints('reduce_concat', self.reduce_concat))
        prims = self.primitives
        if isinstance(prims, (str, bytes)) or not isinstance(prims, Iterable):
            raise GenotypeError(
                f'primitives: expected a list of op names, got {prims!r}')
        object.__setattr__(self, 'primitives', tuple(prims))
        self.validate()

    # ------------------------------------------------------------------ checks
    def validate(self) -> None:
        for i, p in enumerate(self.primitives):
            if not isinstance(p, str):
                raise GenotypeError(f'primitives[{i}]: expected a string, got {p!r}')
            if p not in KNOWN_OPS:
                raise GenotypeError(
                    f'primitives[{i}]: unknown op {p!r}; known ops: {sorted(KNOWN_OPS)}')
        if len(set(self.primitives)) != len(self.primitives):
            raise GenotypeError(f'primitives: duplicate op names in {list(self.primitives)}')
        for kind in ('normal', 'reduce'):
            genes = getattr(self, kind)
            if not genes:
                raise GenotypeError(f'{kind}: a cell needs at least one node (two genes)')
            if len(genes) % 2:
                raise GenotypeError(
                    f'{kind}: each node takes exactly 2 genes, got {len(genes)} genes')
            for g, (op, idx) in enumerate(genes):
                node = g // 2
                if op not in self.primitives:
                    raise GenotypeError(
                        f'{kind}[{g}]: unknown op {op!r}; this genotype\'s ops are '
                        f'{list(self.primitives)}')
                if op == 'none':
                    raise GenotypeError(
                        f"{kind}[{g}]: op 'none' cannot be a gene (derivation excludes it)")
                if not 0 <= idx < node + 2:
                    raise GenotypeError(
                        f'{kind}[{g}]: input index {idx} out of range for node {node} '
                        f'(valid: 0..{node + 1})')
            concat = getattr(self, kind + '_concat')
            n_states = len(genes) // 2 + 2
            if not concat:
                raise GenotypeError(f'{kind}_concat: must name at least one state')
            for c in concat:
                if not 0 <= c < n_states:
                    raise GenotypeError(
                        f'{kind}_concat: index {c} out of range (valid: 0..{n_states - 1})')
                if c < 2:
                    # The diagram and every network built from a cell take its output from
                    # its nodes; a reduction cell's inputs are not even at its output's size.
                    raise GenotypeError(
                        f'{kind}_concat: index {c} is one of the cell\'s two inputs; the output '
                        f'concatenates nodes, 2..{n_states - 1} (e.g. {list(range(2, n_states))})')
            if len(set(concat)) != len(concat):
                raise GenotypeError(f'{kind}_concat: duplicate index in {list(concat)}')

    # ---------------------------------------------------------------- accessors
    @property
    def steps(self) -> int:
        return len(self.normal) // 2

    def genes(self, reduction: bool) -> tuple[Gene, ...]:
        return self.reduce if reduction else self.normal

    def concat(self, reduction: bool) -> tuple[int, ...]:
        return self.reduce_concat if reduction else self.normal_concat

    # ---------------------------------------------------------------- encoding
    def to_dict(self) -> dict[str, Any]:
        return {
            'format': FORMAT,
            'primitives': list(self.primitives),
            'normal': [[op, idx] for op, idx in self.normal],
            'normal_concat': list(self.normal_concat),
            'reduce': [[op, idx] for op, idx in self.reduce],
            'reduce_concat': list(self.reduce_concat),
        }

    def to_json(self) -> str:
        d = self.to_dict()
        # One gene per line keeps the file readable and diffable.
        lines = ['{']
        lines.append(f'  "format": {json.dumps(d["format"])},')
        lines.append(f'  "primitives": {json.dumps(d["primitives"])},')
        for kind in ('normal', 'reduce'):
            genes = ',\n'.join(f'    {json.dumps(g)}' for g in d[kind])
            lines.append(f'  "{kind}": [\n{genes}\n  ],')
            sep = ',' if kind == 'normal' else ''
            lines.append(f'  "{kind}_concat": {json.dumps(d[kind + "_concat"])}{sep}')
        lines.append('}')
        return '\n'.join(lines) + '\n'

    def __str__(self) -> str:  # the form DARTS-family code prints
        return (f'Genotype(normal={list(self.normal)}, normal_concat='
                f'{list(self.normal_concat)}, reduce={list(self.reduce)}, '
                f'reduce_concat={list(self.reduce_concat)})')

    @classmethod
    def from_dict(cls, d: Any, source: str = 'genotype') -> 'Genotype':
        d = cls.check(d, source)
        required = ('normal', 'normal_concat', 'reduce', 'reduce_concat')
        missing = [k for k in required if k not in d]
        if missing:
            raise GenotypeError(f'{source}: missing field(s) {missing}')
        unknown = set(d) - set(required) - {'format', 'primitives'}
        if unknown:
            raise GenotypeError(f'{source}: unknown field(s) {sorted(unknown)}')
        kwargs = {k: d[k] for k in required}
        if 'primitives' in d:
            kwargs['primitives'] = d['primitives']
        try:
            return cls(**kwargs)
        except GenotypeError as e:
            raise GenotypeError(f'{source}: {e}') from None

    @classmethod
    def from_text(cls, text: str, source: str = 'genotype text',
                  primitives: Optional[Sequence[str]] = None) -> 'Genotype':
        """Parse JSON or the ``Genotype(normal=[...], ...)`` repr, without eval.

        ``primitives`` gives the op vocabulary of a repr, which does not carry
        one (default: the DARTS search space).
        """
        stripped = text.strip()
        if stripped.startswith('{'):
            return cls.from_dict(parse_json(stripped, source, GenotypeError), source)
        fields = _parse_repr(stripped, source)
        if primitives is not None:
            fields['primitives'] = list(primitives)
        return cls.from_dict(fields, source)

    @classmethod
    def load(cls, path: Union[str, os.PathLike]) -> 'Genotype':
        path = os.fspath(path)
        if not os.path.isfile(path):
            raise FileNotFoundError(f'genotype file not found: {path}')
        with open(path, encoding='utf-8') as f:
            return cls.from_text(f.read(), source=path)

    # ------------------------------------------------------- agreement of searches
    def gene_groups(self) -> list[tuple[Gene, ...]]:
        """One group per node of each cell (normal, then reduce): the node's two (op, input) genes."""
        return [tuple(cell[i:i + 2]) for cell in (self.normal, self.reduce)
                for i in range(0, len(cell), 2)]

    def random_like(self, seed: str) -> 'Genotype':
        """A random genotype of this space (its steps, concatenated nodes and ops), drawn with ``seed``."""
        from .sample import random_genotype
        return random_genotype(seed, self.steps, len(self.normal_concat), self.primitives)


def _genes(kind: str, value: Any) -> tuple[Gene, ...]:
    if isinstance(value, (str, bytes, dict)) or not isinstance(value, Iterable):
        raise GenotypeError(f'{kind}: expected a list of [op, input_index] pairs, got {value!r}')
    out = []
    for g, gene in enumerate(value):
        if isinstance(gene, (str, bytes)) or not isinstance(gene, Sequence) or len(gene) != 2:
            raise GenotypeError(f'{kind}[{g}]: expected an [op, input_index] pair, got {gene!r}')
        op, idx = gene
        if not isinstance(op, str):
            raise GenotypeError(f'{kind}[{g}]: op must be a string, got {op!r}')
        if isinstance(idx, bool) or not isinstance(idx, int):
            raise GenotypeError(f'{kind}[{g}]: input index must be an integer, got {idx!r}')
        out.append((op, idx))
    return tuple(out)


def _ints(name: str, value: Any) -> tuple[int, ...]:
    if isinstance(value, (str, bytes, dict)) or not isinstance(value, Iterable):
        raise GenotypeError(f'{name}: expected a list of integers, got {value!r}')
    out = []
    for v in value:
        if isinstance(v, bool) or not isinstance(v, int):
            raise GenotypeError(f'{name}: expected integers, got {v!r}')
        out.append(v)
    return tuple(out)


def _parse_repr(text: str, source: str) -> dict[str, Any]:
    try:
        tree = ast.parse(text, mode='eval')
    except SyntaxError as e:
        raise GenotypeError(f'{source}: not JSON and not a Genotype(...) expression: {e.msg}') from None
    call = tree.body
    if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Name)
            and call.func.id == 'Genotype'):
        raise GenotypeError(f'{source}: expected Genotype(normal=..., normal_concat=..., '
                            'reduce=..., reduce_concat=...)')
    if call.args:
        raise GenotypeError(f'{source}: Genotype(...) takes keyword arguments only')
    out: dict[str, Any] = {}
    for kw in call.keywords:
        if kw.arg is None:
            raise GenotypeError(f'{source}: **kwargs are not allowed in Genotype(...)')
        out[kw.arg] = _literal(kw.value, f'{source}: field {kw.arg!r}')
    return out


def _literal(node: ast.AST, where: str) -> Any:
    # ``range(a, b)`` is what the reference genotypes use for concat lists.
    if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
            and node.func.id == 'range' and not node.keywords):
        args = [_literal(a, where) for a in node.args]
        if not 1 <= len(args) <= 3 or not all(isinstance(a, int) for a in args):
            raise GenotypeError(f'{where}: range() takes 1 to 3 integers')
        r = range(*args)
        if len(r) > MAX_LITERAL_LEN:  # a concat list, not a way to exhaust memory
            raise GenotypeError(f'{where}: range() of {len(r)} items is too long')
        return list(r)
    try:
        return ast.literal_eval(node)
    except ValueError:
        raise GenotypeError(f'{where}: only literals and range() are allowed, '
                            f'got {ast.unparse(node)!r}') from None
