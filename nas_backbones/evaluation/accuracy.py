"""Top-k classification accuracy (the reference's top-1 / top-5 on ImageNet)."""
from __future__ import annotations

from typing import Any, Sequence

import torch
from mmdet.registry import METRICS
from mmengine.evaluator import BaseMetric


@METRICS.register_module()
class ClsAccuracy(BaseMetric):
    """Percentage of samples whose label is among the ``k`` highest scores, for each ``k`` in ``topk``.

    Reads ``pred_score`` and ``gt_label`` from the samples
    :class:`~nas_backbones.spaces.darts.GenotypeClassifier` predicts. Named to stay
    clear of any ``Accuracy`` in other OpenMMLab registries.
    """

    default_prefix = 'cls'

    def __init__(self, topk: Sequence[int] = (1, 5), collect_device: str = 'cpu',
                 prefix: str | None = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        topk = tuple(topk) if not isinstance(topk, int) else (topk,)
        if not topk or any(isinstance(k, bool) or not isinstance(k, int) or k < 1 for k in topk):
            raise ValueError(f'ClsAccuracy: topk must be positive integers, got {topk!r}')
        self.topk = topk

    def process(self, data_batch: Any, data_samples: Sequence[dict]) -> None:
        for i, sample in enumerate(data_samples):
            for key in ('pred_score', 'gt_label'):
                if key not in sample:
                    raise KeyError(f'ClsAccuracy: predicted sample {i} has no {key!r}')
            self.results.append((torch.as_tensor(sample['pred_score']).detach().cpu(),
                                 int(torch.as_tensor(sample['gt_label']).reshape(-1)[0])))

    def compute_metrics(self, results: list) -> dict[str, float]:
        if not results:
            raise ValueError('ClsAccuracy: no samples were evaluated')
        scores = torch.stack([s for s, _ in results])
        labels = torch.tensor([lbl for _, lbl in results])
        num_classes = scores.size(1)
        order = scores.argsort(dim=1, descending=True)
        hits = order == labels[:, None]
        metrics = {}
        for k in self.topk:
            # k above the number of classes counts every sample as a hit, as top-k would.
            acc = hits[:, :min(k, num_classes)].any(dim=1).float().mean().item() * 100
            metrics[f'top{k}'] = acc
        return metrics
