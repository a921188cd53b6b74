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


@pytest.fixture
def machine(monkeypatch):
    """A 4-core machine whose busy cores a test sets; torch's thread count restored afterwards."""
    import torch

    import nas_backbones.utils.threads as threads
    state = dict(busy=0)
    monkeypatch.setattr(threads, 'available_cores', lambda: 4)
    monkeypatch.setattr(threads, 'busy_cores', lambda: state['busy'])
    monkeypatch.delenv('OMP_NUM_THREADS', raising=False)
    before = torch.get_num_threads()
    yield state
    torch.set_num_threads(before)


def test_a_training_tool_takes_the_free_cores_and_says_so(machine):
    import torch

    from nas_backbones.engine.launch import choose_threads
    machine['busy'] = 3
    assert choose_threads(1) == ('threads: 1 a process for 1 process(es): 4 core(s) this process may use, '
                                 '3 busy with other work (1-minute load average); set OMP_NUM_THREADS to choose')
    assert torch.get_num_threads() == 1
    machine['busy'] = 0
    assert choose_threads(2).startswith('threads: 2 a process for 2 process(es)')
    assert torch.get_num_threads() == 2


def test_a_set_omp_num_threads_wins(machine, monkeypatch):
    import torch

    from nas_backbones.engine.launch import choose_threads
    torch.set_num_threads(1)
    monkeypatch.setenv('OMP_NUM_THREADS', '1')
    machine['busy'] = 0
    assert choose_threads(1) == 'threads: 1 a process (OMP_NUM_THREADS=1 is set)'
    assert torch.get_num_threads() == 1


def test_the_demo_chooses_once_for_all_its_steps(machine, capsys):
    import importlib.util

    from tests.conftest import ROOT
    spec = importlib.util.spec_from_file_location('demo_tool', ROOT / 'tools/demo.py')
    demo = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(demo)
    machine['busy'] = 1
    demo.available_cores, demo.busy_cores = (lambda: 4), (lambda: machine['busy'])  # as imported there
    assert demo.step_environment()['OMP_NUM_THREADS'] == '3'
    assert 'threads: each step runs 3 (OMP_NUM_THREADS): 4 core(s) this process may use, 1 busy' in \
        capsys.readouterr().out
