"""The training workers of the against-chance and selection tools (nas_backbones/evaluation/jobs.py)."""
import os
import subprocess
import sys
import time

import pytest

from tests.conftest import ROOT

# A parent that starts one spawned worker, waits until it is up, then dies without reaping it
# (as a tool does when it is killed).
PARENT = '''
import multiprocessing as mp, os, sys, time
from nas_backbones.evaluation.jobs import die_with_parent

def child(path, ask):
    if ask:
        die_with_parent()
    with open(path + '.tmp', 'w') as f:
        f.write(str(os.getpid()))
    os.replace(path + '.tmp', path)
    time.sleep(60)

if __name__ == '__main__':
    p = mp.get_context('spawn').Process(target=child, args=(sys.argv[1], sys.argv[2] == '1'))
    p.start()
    while not os.path.exists(sys.argv[1]):
        time.sleep(0.05)
    os._exit(0)
'''


def alive(pid: int) -> bool:
    try:
        with open(f'/proc/{pid}/stat') as f:
            return f.read().rsplit(')', 1)[1].split()[0] != 'Z'  # a zombie has ended
    except FileNotFoundError:
        return False


@pytest.mark.skipif(not sys.platform.startswith('linux'), reason='PR_SET_PDEATHSIG is Linux only')
@pytest.mark.parametrize('ask', [True, False])
def test_a_worker_ends_with_its_killed_parent_only_when_it_asked(tmp_path, ask):
    script, pidfile = tmp_path / 'parent.py', tmp_path / 'child.pid'
    script.write_text(PARENT)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get('PYTHONPATH', '')]))
    subprocess.run([sys.executable, str(script), str(pidfile), '1' if ask else '0'], env=env,
                   check=True, timeout=120)
    pid = int(pidfile.read_text())
    try:
        deadline = time.time() + (10 if ask else 2)
        while alive(pid) and time.time() < deadline:
            time.sleep(0.1)
        assert alive(pid) is not ask  # asked: gone with its parent; not asked: it trains on, orphaned
    finally:
        if alive(pid):
            os.kill(pid, 9)
