"""The search space: candidate operations, genotypes and the cell-stacking plan."""
from .genotype import Genotype, GenotypeError
from .macro import CellSpec, cell_plan
from .ops import DEFAULT_PRIMITIVES, OPS, PARAMETER_FREE_OPS, build_op
from .published import PUBLISHED, load_genotype

__all__ = ['Genotype', 'GenotypeError', 'CellSpec', 'cell_plan', 'DEFAULT_PRIMITIVES',
           'OPS', 'PARAMETER_FREE_OPS', 'build_op', 'PUBLISHED', 'load_genotype']
