"""What the search core needs of a search space: the contract every space family implements.

The bilevel algorithm, second order, the optimizer constructor, DDP, the
loops and the hooks rely on this class and nothing else, so a space (DARTS
cells, Single-Path superkernels) or a task (classification, a detector's
loss) is added in its own folder without touching them.
"""
from __future__ import annotations

import warnings
from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import Any, ContextManager, Optional, Protocol, Union

import torch
import torch.nn as nn
from mmengine.model import BaseModule


class SearchResult(Protocol):
    """A derived architecture: small, validated, human-readable (``genotype.json``, ...)."""

    filename: str  # what the derivation hook writes it as, in the work dir

    def to_dict(self) -> dict: ...

    def to_json(self) -> str: ...

    def save(self, path: str) -> None: ...

    def gene_groups(self) -> list[tuple]:
        """The result's genes, one group per position (a DARTS node, a Single-Path layer): what two
        searches' results are compared by (``core.signal.agreement``)."""
        ...

    def random_like(self, seed: str) -> 'SearchResult':
        """A result of the same space drawn uniformly with ``seed``: the chance baseline."""
        ...


@dataclass
class Tracking:
    """What an experiment tracker shows of a search at an epoch (``SearchReportHook`` sends it
    through ``runner.visualizer``): scalars and texts by name, images as RGB uint8 arrays
    (height x width x 3) by name. The space family decides what they are."""

    scalars: dict[str, float] = field(default_factory=dict)
    images: dict[str, Any] = field(default_factory=dict)
    texts: dict[str, str] = field(default_factory=dict)


class SearchSpace(BaseModule):
    """A searchable architecture and the loss it is searched on.

    Subclasses set two child modules and implement the methods below:

    - ``model``: every weight (an ``nn.Module``: the model searched, e.g. a search
      classifier or a detector, whose backbone is the supernet);
    - ``arch``: every architecture parameter (``nn.Parameter``s only). They
      live apart so that the weight optimizer never sees them (SGD's
      momentum and weight decay would corrupt them) while DDP still averages
      their gradients and checkpoints still hold them.
    """

    model: nn.Module
    arch: nn.Module

    @property
    def supernet(self) -> nn.Module:
        """The old name of :attr:`model` (deprecated)."""
        warnings.warn(f'{type(self).__name__}.supernet is deprecated: use .model (the wrapped model)',
                      FutureWarning, stacklevel=2)
        return self.model

    # ------------------------------------------------------------------ task
    def forward(self, inputs: torch.Tensor, data_samples: Any = None,
                mode: str = 'tensor') -> Union[dict, list, torch.Tensor]:
        if mode == 'loss':
            return self.loss(inputs, data_samples)
        if mode == 'predict':
            return self.predict(inputs, data_samples)
        if mode == 'tensor':
            return self.tensor(inputs)
        raise ValueError(f"mode must be 'loss', 'predict' or 'tensor', got {mode!r}")

    def loss(self, inputs: torch.Tensor, data_samples: Any) -> dict[str, torch.Tensor]:
        """The task's losses (what ``BaseModel.parse_losses`` takes): the space owns its loss."""
        raise NotImplementedError

    def predict(self, inputs: torch.Tensor, data_samples: Any) -> list:
        raise NotImplementedError(f'{type(self).__name__} has no predict mode')

    def tensor(self, inputs: torch.Tensor) -> Any:
        raise NotImplementedError(f'{type(self).__name__} has no tensor mode')

    # ---------------------------------------------------------- architecture
    def derive(self) -> SearchResult:
        """The discrete architecture the current architecture parameters select."""
        raise NotImplementedError

    def snapshot(self) -> dict:
        """Plain values for the per-epoch history: the derived result and the parameters' state."""
        raise NotImplementedError

    def movement(self) -> Optional[dict]:
        """How far the architecture parameters are from where a search starts, for the search-signal
        verdict (``core.signal``): ``dict(distance=float, threshold=float, measure=str,
        details={name: number})``; ``distance < threshold`` reads "unmoved". None: not measured."""
        return None

    def cost(self) -> Optional[torch.Tensor]:
        """A differentiable resource term added to the architecture loss (None: none configured)."""
        return None

    def tracking(self, images: bool = True) -> Tracking:
        """The current state for an experiment tracker (``images=False``: scalars and texts only,
        nothing drawn). By default nothing: a family says what a user watches of its search."""
        return Tracking()

    def weight_step(self) -> ContextManager:
        """Entered around the weight step of a bilevel search (e.g. SDARTS perturbs alpha there)."""
        return nullcontext()

    def arch_parameters(self) -> list[nn.Parameter]:
        return list(self.arch.parameters())

    def weight_parameters(self) -> list[nn.Parameter]:
        return [p for p in self.model.parameters() if p.requires_grad]
