"""Pictures of a search: cell diagrams, alpha/beta history plots and the search report.

Nothing here is imported by ``nas_backbones`` itself, so matplotlib stays out of
the import path of training and search; import the submodules you need
(``cell_diagram``, ``history``, ``report``, ``report_hook``, ``pareto``: the
network-level search's front). Only
``report_hook`` is imported by configs, and it loads matplotlib lazily.
"""
