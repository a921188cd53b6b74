"""Resuming in the middle of a pass: the sampler skips, and the loop falls back to dropping batches."""
from mmengine.dataset import DefaultSampler
from torch.utils.data import DataLoader

from nas_backbones.datasets.samplers import ResumableSampler
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
