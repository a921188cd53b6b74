"""Resuming in the middle of a pass: the sampler skips (or the loop drops batches), and each
sample's augmentation is seeded by (seed, epoch, index), so workers do not change it."""
import torch
from mmengine.dataset import DefaultSampler
from torch.utils.data import DataLoader

from nas_backbones.datasets.samplers import ResumableSampler, SeededIndex
from nas_backbones.engine.search_loop import SearchLoop


def test_skip_next_continues_the_same_order_once():
    data = list(range(23))
    plain = DefaultSampler(data, shuffle=True, seed=3)
    resumable = ResumableSampler(data, shuffle=True, seed=3)
    for s in (plain, resumable):
        s.set_epoch(2)
    order = list(plain)
    resumable.skip_next(10)
    assert list(resumable) == order[10:]
    assert list(resumable) == order  # the skip applies to one pass only


def loop_over(sampler) -> SearchLoop:
    """A SearchLoop with only what _weight_batches reads."""
    loop = SearchLoop.__new__(SearchLoop)
    loop.dataloader = DataLoader(list(range(10)), batch_size=2, sampler=sampler)
    return loop


def test_weight_batches_skip_at_the_sampler():
    sampler = ResumableSampler(list(range(10)), shuffle=True, seed=0)
    full = [b.tolist() for b in DataLoader(list(range(10)), batch_size=2, sampler=sampler)]
    rest = [b.tolist() for b in loop_over(sampler)._weight_batches(3)]
    assert rest == full[3:]


def test_weight_batches_without_a_skipping_sampler_drop_batches_and_warn(monkeypatch):
    import nas_backbones.engine.search_loop as search_loop
    logged = []
    monkeypatch.setattr(search_loop, 'print_log', lambda msg, **kw: logged.append(msg))
    loop = loop_over(DefaultSampler(list(range(10)), shuffle=False))
    assert [b.tolist() for b in loop._weight_batches(3)] == [[6, 7], [8, 9]]
    assert len(logged) == 1 and 'DefaultSampler, which cannot skip' in logged[0]
    assert [b.tolist() for b in loop._weight_batches(0)][0] == [0, 1]  # nothing to skip: the whole pass


# ------------------------------------------------------------------ per-sample augmentation seeds

def small_folder_dataset(root):
    import cv2
    import numpy as np
    from mmengine.registry import DefaultScope

    from nas_backbones.datasets import ImageNetDataset
    rng = np.random.RandomState(0)
    for c in ('a', 'b'):
        (root / c).mkdir(parents=True)
        for i in range(3):
            cv2.imwrite(str(root / c / f'{i}.png'), (rng.rand(40, 50, 3) * 255).astype(np.uint8))
    pipeline = [dict(type='LoadImageFromFile'), dict(type='RandomResizedCrop', size=16),
                dict(type='RandomFlip', prob=0.5, direction='horizontal'), dict(type='PackClsInputs')]
    with DefaultScope.overwrite_default_scope('mmdet'):
        return ImageNetDataset(data_prefix=str(root), pipeline=pipeline)


def test_seeded_index_survives_pickling_to_a_worker():
    import pickle
    idx = pickle.loads(pickle.dumps(SeededIndex(7, (0, 3, 7))))
    assert isinstance(idx, SeededIndex) and idx == 7 and idx.seed == (0, 3, 7)


def test_augmentation_depends_on_the_seed_only(tmp_path):
    import numpy as np
    ds = small_folder_dataset(tmp_path / 'imgs')
    first = ds[SeededIndex(4, (0, 1, 4))]['inputs']
    np.random.rand(13)  # whatever was drawn before (another worker's history, a resume)...
    state = np.random.get_state()[1].copy()
    again = ds[SeededIndex(4, (0, 1, 4))]['inputs']
    assert torch.equal(first, again)  # ...the same crop and flip
    assert np.array_equal(np.random.get_state()[1], state)  # and the global stream is left as it was
    other_epochs = [ds[SeededIndex(4, (0, e, 4))]['inputs'] for e in range(2, 8)]
    assert any(not torch.equal(first, x) for x in other_epochs)  # a new draw each epoch


def test_sampler_hands_out_epoch_seeds():
    sampler = ResumableSampler(list(range(6)), shuffle=True, seed=5)
    sampler.set_epoch(3)
    idx = list(sampler)
    assert all(isinstance(i, SeededIndex) and i.seed == (5, 3, int(i)) for i in idx)
    assert not any(isinstance(i, SeededIndex) for i in ResumableSampler(list(range(6)), seed_samples=False))
