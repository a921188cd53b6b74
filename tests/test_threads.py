import pytest

from nas_backbones.utils.threads import available_cores, threads_per_process


def test_free_cores_are_shared_among_the_processes():
    assert threads_per_process(1, cores=8, busy=0) == 8
    assert threads_per_process(2, cores=8, busy=0) == 4
    assert threads_per_process(2, cores=8, busy=2) == 3  # 6 free cores for 2 processes
    assert threads_per_process(3, cores=2, busy=0) == 1  # never fewer than one


def test_a_busy_machine_gets_one_thread_not_an_oversubscribed_pool():
    assert threads_per_process(1, cores=2, busy=2) == 1
    assert threads_per_process(1, cores=2, busy=5) == 1


def test_defaults_read_this_machine():
    assert 1 <= threads_per_process(1) <= available_cores()


@pytest.mark.parametrize('bad', [0, -1, 1.5, True, '2'])
def test_bad_process_count_is_named(bad):
    with pytest.raises(ValueError, match='processes'):
        threads_per_process(bad)
