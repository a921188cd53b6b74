"""Networks derived from a genotype."""
from .aux_head import AuxiliaryHeadCIFAR, AuxiliaryHeadImageNet
from .backbone import DartsBackbone
from .cell import GenotypeCell
from .classifier import GenotypeClassifier

__all__ = ['AuxiliaryHeadCIFAR', 'AuxiliaryHeadImageNet', 'DartsBackbone', 'GenotypeCell',
           'GenotypeClassifier']
