"""The differentiable search: supernet, architecture parameters, derivation and the bilevel algorithm."""
from .algorithm import DartsSearch
from .arch_params import ArchParameters
from .derive import derive_genes, derive_genotype, node_softmax
from .supernet import PCDartsSupernet

__all__ = ['DartsSearch', 'ArchParameters', 'derive_genes', 'derive_genotype', 'node_softmax',
           'PCDartsSupernet']
