"""Versioned JSON result files: one reader and one writer for every result the toolkit keeps.

A search's output is hours of compute kept in a small file a person reads and
edits (``genotype.json``, ``architecture.json``, a latency table or predictor,
``pareto.json``). Each carries a ``format`` tag (``'nas_backbones.<kind>/<version>'``)
so an old or foreign file is refused by name instead of half-read, is written
atomically (:func:`nas_backbones.utils.io.atomic_write_text`), and fails to
load with the file named: missing, not JSON, not an object, another format.
:class:`ResultFile` is the base of the result classes; :func:`read_json`,
:func:`check_format` and :func:`write_json` serve results kept as plain dicts.
:func:`load_result` is every family's loader of what a user writes where a result
is expected (a published name, a file, a dict, the result itself).
"""
from __future__ import annotations

import json
import os
from typing import Any, ClassVar, Mapping, Union

from .io import atomic_write_text

PathLike = Union[str, os.PathLike]


def parse_json(text: str, source: str, error: type = ValueError) -> Any:
    """``json.loads`` whose error names ``source`` (a file, or what the text is)."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise error(f'{source}: not valid JSON ({e})') from None


def read_json(path: PathLike, what: str, error: type = ValueError) -> Any:
    """The parsed JSON of ``path``; ``what`` names the kind of file in the errors."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f'{what} file not found: {path}')
    with open(path, encoding='utf-8') as f:
        return parse_json(f.read(), f'{what} {path}', error)


def check_format(data: Any, fmt: str, source: str, error: type = ValueError,
                 required: bool = True) -> dict:
    """``data`` as a dict whose ``format`` is ``fmt``; ``required=False`` also takes a file
    without the tag (hand-written result files may leave it out)."""
    if not isinstance(data, dict):
        raise error(f'{source}: expected a JSON object, got {type(data).__name__}')
    got = data.get('format', None if required else fmt)
    if got != fmt:
        raise error(f'{source}: "format" is {got!r}, expected {fmt!r}')
    return data


def write_json(path: PathLike, data: Any, indent: int = 1) -> None:
    """``data`` as indented JSON, written atomically."""
    atomic_write_text(path, json.dumps(data, indent=indent) + '\n')


class ResultFile:
    """Base of a result kept as a versioned JSON file.

    A subclass sets ``FORMAT`` (the tag), ``ERROR`` (its exception type) and
    ``WHAT`` (how errors name the file), implements ``to_dict()`` (with the tag)
    and ``from_dict(d, source)`` (validating every field; :meth:`check` does the
    tag), and may override ``to_json()`` for a more readable layout.
    """

    FORMAT: ClassVar[str]
    ERROR: ClassVar[type] = ValueError
    WHAT: ClassVar[str] = 'result'
    FORMAT_REQUIRED: ClassVar[bool] = True

    def to_dict(self) -> dict:
        raise NotImplementedError

    @classmethod
    def from_dict(cls, d: Any, source: str = ''):
        raise NotImplementedError

    @classmethod
    def check(cls, d: Any, source: str) -> dict:
        """``d`` as a dict tagged with this class's format (or untagged, where that is allowed)."""
        return check_format(d, cls.FORMAT, source, cls.ERROR, cls.FORMAT_REQUIRED)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=1) + '\n'

    def save(self, path: PathLike) -> None:
        atomic_write_text(path, self.to_json())

    @classmethod
    def from_json(cls, text: str, source: str = ''):
        return cls.from_dict(parse_json(text, source or cls.WHAT, cls.ERROR), source or cls.WHAT)

    @classmethod
    def load(cls, path: PathLike):
        path = os.fspath(path)
        data = read_json(path, cls.WHAT, cls.ERROR)
        return cls.from_dict(data, path)


def _did_you_mean(name: str, known: Mapping[str, Any]) -> str:
    """The nearest published name, where ``name`` looks like a name rather than a file path."""
    if '/' in name or os.sep in name or '.' in name:
        return ''
    # imported here: the engine package imports the core, and the core imports this module
    from ..engine.preflight import did_you_mean
    return did_you_mean(name, known)


def load_result(spec: Any, cls: type, published: Mapping[str, Any]) -> Any:
    """A family's result (an instance of ``cls``, a :class:`ResultFile`) from a published name in
    ``published``, a result file (``cls.load``), a dict (``cls.from_dict``) or the result itself.

    The one loader of every family: a family names its result class and its table of published
    results (``load_genotype``, ``load_architecture``). Errors are ``cls.ERROR`` naming the spec,
    the published names and, for a mistyped name, the nearest one.
    """
    what = cls.WHAT
    if isinstance(spec, cls):
        return spec
    if isinstance(spec, dict):
        return cls.from_dict(spec, source=f'{what} dict')
    if isinstance(spec, (str, os.PathLike)):
        s = os.fspath(spec)
        if s in published:
            return published[s]
        if os.path.isfile(s):
            return cls.load(s)
        raise cls.ERROR(f'{what} {s!r} is neither a published name ({", ".join(sorted(published))}) '
                        f'nor an existing file.{_did_you_mean(s, published)}')
    article = 'an' if cls.__name__[0] in 'AEIOU' else 'a'
    raise cls.ERROR(f'{what}: expected a name, a path, a dict or {article} {cls.__name__}, got {spec!r}')
