"""A sampler that resumes mid-pass, and augmentation randomness that depends on the sample, not the worker.

Exact resume needs each image of a pass to get the same random crop and flip
in the resumed run as in the uninterrupted one. With the usual per-worker
random streams that fails as soon as worker processes are used: a restarted
worker begins its stream again, while the original had already drawn from
it for the batches before the kill. So :class:`ResumableSampler` hands out
:class:`SeededIndex` es, and datasets that know them (``ImageNetDataset``)
run the pipeline under a seed made of (sampler seed, epoch, index):
the same in every run, whatever the number of workers, their persistence,
or where the pass was resumed. A dataset that does not know them sees plain
ints.
"""
from __future__ import annotations

import itertools
import random
from contextlib import contextmanager
from typing import Iterator

import numpy as np
from mmdet.registry import DATA_SAMPLERS
from mmengine.dataset import DefaultSampler
from torch.utils.data import get_worker_info


class SeededIndex(int):
    """A dataset index carrying the seed of that sample's augmentation in the current pass."""

    seed: tuple[int, ...]

    def __new__(cls, index: int, seed: tuple[int, ...]) -> 'SeededIndex':
        obj = super().__new__(cls, index)
        obj.seed = seed
        return obj

    def __reduce__(self):  # to worker processes with its seed
        return SeededIndex, (int(self), self.seed)


class SeededSamples:
    """Dataset mixin: a :class:`SeededIndex` runs the pipeline under its seed (``seeded_augmentation``),
    a plain index as usual. Put it before the dataset class: ``class D(SeededSamples, CocoDataset)``."""

    def __getitem__(self, idx: int) -> dict:
        seed = getattr(idx, 'seed', None)
        if seed is None:
            return super().__getitem__(idx)
        with seeded_augmentation(seed):
            return super().__getitem__(int(idx))


@contextmanager
def seeded_augmentation(seed: tuple[int, ...]) -> Iterator[None]:
    """NumPy's and Python's global generators (what mmcv's and our transforms draw from) seeded
    with ``seed``; in the main process they are put back as they were afterwards (a worker
    process uses them for nothing else, and saving NumPy's state costs more than the seeding)."""
    in_main = get_worker_info() is None
    if in_main:
        np_state, py_state = np.random.get_state(), random.getstate()
    np.random.seed([s % 2**32 for s in seed])
    random.seed(hash(seed))
    try:
        yield
    finally:
        if in_main:
            np.random.set_state(np_state)
            random.setstate(py_state)


@DATA_SAMPLERS.register_module()
class ResumableSampler(DefaultSampler):
    """``DefaultSampler`` plus ``skip_next(n)`` (the next pass starts after its first n
    indices) and per-sample augmentation seeds (``seed_samples``).

    The order is the one the uninterrupted pass would have had (same seed,
    same epoch); skipping at the sampler means no image is read or augmented
    for the skipped batches.
    """

    def __init__(self, *args, seed_samples: bool = True, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.seed_samples = seed_samples
        self._skip = 0

    def skip_next(self, n: int) -> None:
        self._skip = n

    def __iter__(self) -> Iterator[int]:
        skip, self._skip = self._skip, 0
        indices = itertools.islice(super().__iter__(), skip, None)
        if not self.seed_samples:
            return indices
        seed, epoch = self.seed, self.epoch
        return (SeededIndex(i, (seed, epoch, i)) for i in indices)
