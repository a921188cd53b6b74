"""A DefaultSampler that can resume in the middle of a pass without loading the skipped samples."""
from __future__ import annotations

import itertools
from typing import Iterator

from mmdet.registry import DATA_SAMPLERS
from mmengine.dataset import DefaultSampler


@DATA_SAMPLERS.register_module()
class ResumableSampler(DefaultSampler):
    """``DefaultSampler`` plus ``skip_next(n)``: the next pass starts after its first n indices.

    The order is the one the uninterrupted pass would have had (same seed,
    same epoch); skipping at the sampler means no image is read or augmented
    for the skipped batches, so a resumed run consumes no extra randomness.
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._skip = 0

    def skip_next(self, n: int) -> None:
        self._skip = n

    def __iter__(self) -> Iterator[int]:
        skip, self._skip = self._skip, 0
        return itertools.islice(super().__iter__(), skip, None)
