"""The network-level search: from found blocks to whole networks, under several objectives.

Space-agnostic: a space family declares its macro space as a
:class:`NetworkSpace` (registered in :data:`NETWORK_SPACES`; the DARTS one
is ``spaces/darts/network_space.py``), and :func:`run_search` runs Optuna's
NSGA-II over it (``search.py``, imported on use: Optuna is loaded only by
a search). ``tools/network_search.py CONFIG`` is the command line.
"""
from .pareto import load_pareto, non_dominated, pareto_point
from .space import NETWORK_SPACES, NetworkSpace, SpaceDeclarationError

__all__ = ['NETWORK_SPACES', 'NetworkSpace', 'SpaceDeclarationError', 'load_pareto', 'non_dominated',
           'pareto_point']
