"""Which space family writes a search's report: a registry keyed by the format tag of its result.

Every entry of ``search_history.json`` holds the result derived that epoch as
a tagged dict (``genotype``: ``'nas_backbones.genotype/1'`` for DARTS cells,
``architecture``: ``'nas_backbones.singlepath/1'`` for Single-Path networks).
A family registers a :class:`ReportFamily` for its tag, in its own
``report.py``, imported with the family's package: how its history is read
and checked, and the sections of the README it writes (with their pictures).
:func:`~.report.write_report` finds the family from the history's last entry
and puts its sections around the parts every search shares: the title and
summary, the search-signal verdict, the settings table and the config that
ran. A new family adds its ``report.py``; nothing here changes.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Optional, Sequence


@dataclass
class ReportContext:
    """What a family's sections are written from.

    Attributes:
        work_dir: the search's work dir.
        out_dir: the report folder; pictures are written here, named the same on every call.
        cost: the family's cost network (what its ``cost`` built), or None for no cost.
        log: a line for the search's log (a no-op without a logger).
    """
    work_dir: str
    out_dir: str
    cost: Any
    log: Callable[[str], None]


@dataclass
class ReportSections:
    """A family's part of the README.

    Attributes:
        phases: the summary's note on the search's phases (``α/β frozen in 1 of them``).
        result: the final result and its cost, before the search-signal verdict.
        evolution: how the result got there, after the settings (may be empty).
        settings: ``(label, dotted config key)`` rows of the settings table; missing keys are left out.
    """
    phases: str
    result: list[str]
    evolution: list[str] = field(default_factory=list)
    settings: Sequence[tuple[str, str]] = ()


@dataclass(frozen=True)
class ReportFamily:
    """How one family's search is reported.

    Attributes:
        format: the format tag of its result (``Genotype.FORMAT``, ``Architecture.FORMAT``).
        field: the history entry's field that holds the result (``genotype``, ``architecture``).
        load: ``(entries, source) -> history``: the entries read and checked (an error names
            ``source``, the entry and the field at fault).
        sections: ``(history, ReportContext) -> ReportSections``: draws the pictures, writes the text.
        label: what the summary line starts with (``Single-Path NAS``; empty: nothing).
        cost: ``options -> cost network``: what the report measures the results as, from
            ``SearchReportHook(cost=...)`` or the report tool's ``--cost-*`` options (``{}``: the
            family's default); raises ``ValueError`` naming an option it does not take. None: the
            family measures no cost network (the options are ignored).
    """
    format: str
    field: str
    load: Callable[[list, str], Any]
    sections: Callable[[Any, ReportContext], ReportSections]
    label: str = ''
    cost: Optional[Callable[[dict], Any]] = None


REPORT_FAMILIES: dict[str, ReportFamily] = {}


def register_report_family(family: ReportFamily) -> ReportFamily:
    """Register ``family`` for histories whose result carries ``family.format``."""
    REPORT_FAMILIES[family.format] = family
    return family


def check_entry_fields(entries: Sequence, source: str, required: Sequence[str]) -> None:
    """Every entry of a history is an object with the ``required`` fields; an error names the file,
    the entry and the missing fields (each family's ``load`` calls it with the fields it reads)."""
    for n, e in enumerate(entries):
        where = f'{source}: history[{n}]'
        if not isinstance(e, dict):
            raise ValueError(f'{where}: expected an object, got {type(e).__name__}')
        missing = [k for k in required if k not in e]
        if missing:
            raise ValueError(f'{where}: missing field(s) {missing}')


def report_family(entries: list, source: str) -> ReportFamily:
    """The family whose result the last entry of a history holds; an error naming the file if none.

    A result written before results carried a format tag is recognised by its field.
    """
    last = entries[-1] if isinstance(entries[-1], dict) else {}
    for family in REPORT_FAMILIES.values():
        result = last.get(family.field)
        if isinstance(result, dict) and result.get('format', family.format) == family.format:
            return family
    known = ', '.join(f'{f.field!r} ({f.format})' for f in REPORT_FAMILIES.values())
    raise ValueError(f'{source}: the last entry holds no result of a known space family; a search '
                     f'writes one of {known}')
