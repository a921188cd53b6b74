"""The DARTS / PC-DARTS cell space: ops, topology, genotypes, the supernet and the derived networks."""
from . import (  # noqa: F401  imported for what they register
    chance,  # tools/against_chance.py's candidates
    drop_path_hook,  # DropPathHook, the evaluation training's drop-path ramp
    report,  # the search report's DARTS sections (plotting is imported when one is written)
)
from .arch import ArchParameters
from .aux_head import AuxiliaryHeadCIFAR, AuxiliaryHeadImageNet
from .backbone import DartsBackbone
from .cell import GenotypeCell
from .classifier import GenotypeClassifier
from .cost import ResourceCost
from .derive import derive_genes, derive_genotype
from .encoding import DartsEncoding
from .layout import CellSpec, cell_plan
from .network_space import DartsNetworkSpace
from .ops import DEFAULT_PRIMITIVES, OPS, PARAMETER_FREE_OPS, build_op
from .published import PUBLISHED, load_genotype
from .relaxation import node_softmax
from .result import Genotype, GenotypeError
from .sample import random_genotype, random_genotypes
from .search_backbone import PCDartsSearchBackbone
from .search_space import DartsClassifierSpace
from .supernet import PCDartsSupernet, SearchTrunk

__all__ = ['ArchParameters', 'AuxiliaryHeadCIFAR', 'AuxiliaryHeadImageNet', 'DartsBackbone',
           'GenotypeCell', 'GenotypeClassifier', 'ResourceCost', 'derive_genes', 'derive_genotype',
           'node_softmax', 'Genotype', 'GenotypeError', 'CellSpec', 'cell_plan', 'DEFAULT_PRIMITIVES',
           'OPS', 'PARAMETER_FREE_OPS', 'build_op', 'PUBLISHED', 'load_genotype',
           'DartsClassifierSpace', 'PCDartsSearchBackbone', 'PCDartsSupernet', 'SearchTrunk',
           'random_genotype', 'random_genotypes', 'DartsEncoding', 'DartsNetworkSpace']
