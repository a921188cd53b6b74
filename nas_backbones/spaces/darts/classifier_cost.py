"""Parameters and FLOPs of a genotype's ImageNet classifier, as tools/analysis/complexity.py counts.

The network is :class:`~nas_backbones.spaces.darts.classifier.GenotypeClassifier`
without its auxiliary head (training only): DartsBackbone (ImageNet stem,
``layers`` cells with ``C`` channels per node) + global average pool +
Linear. FLOPs are multiply-adds counted by mmengine's FlopAnalyzer (the
counter behind ``mmengine.analysis.get_model_complexity_info``, without its
activation count, which would trace the network a second time).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Optional

from .result import Genotype


@dataclass(frozen=True)
class CostSpec:
    """The network a genotype is measured as; the defaults are the DARTS ImageNet setting."""
    C: int = 48
    layers: int = 14
    input_size: int = 224
    num_classes: int = 1000

    def describe(self) -> str:
        return (f'ImageNet classifier: DartsBackbone (C={self.C}, {self.layers} cells) + global '
                f'average pool + Linear({self.num_classes}), no auxiliary head, '
                f'{self.input_size}x{self.input_size} input')

    def short(self) -> str:
        """The network in a few words, for table headers."""
        return f'classifier C={self.C}, {self.layers} cells, {self.input_size} px'

    def to_dict(self) -> dict:
        return asdict(self)


def classifier_cost(genotype: Genotype, spec: CostSpec = CostSpec()) -> dict[str, int]:
    """``{'params': ..., 'flops': ...}`` of ``genotype``'s classifier (integers)."""
    import torch
    from mmengine.analysis import FlopAnalyzer, parameter_count

    from .classifier import GenotypeClassifier
    model = GenotypeClassifier(genotype=genotype, C=spec.C, layers=spec.layers,
                               num_classes=spec.num_classes, auxiliary=False).eval()
    x = torch.zeros(1, 3, spec.input_size, spec.input_size)
    analyzer = FlopAnalyzer(model, (x,))
    analyzer.unsupported_ops_warnings(False)
    analyzer.uncalled_modules_warnings(False)
    with torch.no_grad():
        flops = int(analyzer.total())
    return {'params': int(parameter_count(model)['']), 'flops': flops}


class CostCache:
    """Measures each distinct genotype once: consecutive epochs often derive the same one."""

    def __init__(self, spec: Optional[CostSpec] = CostSpec()) -> None:
        self.spec = spec
        self._cache: dict[Genotype, dict[str, int]] = {}

    def __call__(self, genotype: Genotype) -> Optional[dict[str, int]]:
        if self.spec is None:
            return None
        if genotype not in self._cache:
            self._cache[genotype] = classifier_cost(genotype, self.spec)
        return self._cache[genotype]

    def __len__(self) -> int:
        return len(self._cache)
