"""Pictures and reports of a search, for any space family: the search report's frame, the per-epoch
curves, tracking, the network-level search's front and the comparison against chance.

A family's own pictures (DARTS cells, the Single-Path network strip, their
histories) live in its folder (``spaces/<family>/diagram.py``, ``pictures.py``)
and its sections of the report in ``spaces/<family>/report.py``, registered
in :mod:`.families` when the family is imported. Only that small registry is
imported with ``nas_backbones``; matplotlib stays out of the import path of
training and search: import the submodules you need (``report``,
``report_hook``, ``curves``, ``tracking``, ``pareto``, ``chance``). Configs
import ``report_hook``, which loads matplotlib lazily.
"""
