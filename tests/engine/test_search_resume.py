"""A search killed with SIGKILL mid-epoch and resumed ends exactly where an uninterrupted one ends."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import nas_backbones  # noqa: F401
from tests.conftest import (
    ROOT,
    assert_same_search,
    kill_then_resume,
    log_text,
    search,
    shared_data,
    tiny_imagenet_search_config,
)

pytestmark = pytest.mark.slow

@pytest.fixture(scope='module')
def full_search(tmp_path_factory) -> Path:
    """One uninterrupted run of TINY_IMAGENET_SEARCH, the reference of every test here. The variants below add
    dataloader workers, iteration checkpoints and hooks, none of which changes what is computed:
    each test's resumed run must equal this one bit for bit."""
    tmp = tmp_path_factory.mktemp('full')
    full = search(tiny_imagenet_search_config(shared_data('tiny-imagenet-10'), tmp), tmp / 'full')
    assert full.wait(timeout=300) == 0, full.stderr.read().decode()[-3000:]
    return tmp / 'full'


def test_sigkill_mid_epoch_then_resume_is_exact(tiny_imagenet, tmp_path, full_search):
    cfg = tiny_imagenet_search_config(tiny_imagenet, tmp_path)

    killed = search(cfg, tmp_path / 'killed')
    deadline = time.time() + 300
    # Kill it in the middle of epoch 3, after the epoch-2 checkpoint (arch loader mid-pass).
    while 'Epoch(train) [3][2/' not in log_text(tmp_path / 'killed'):
        assert killed.poll() is None, 'the run ended before it could be killed'
        assert time.time() < deadline
        time.sleep(0.2)
    os.kill(killed.pid, signal.SIGKILL)
    killed.wait()
    assert not (tmp_path / 'killed/epoch_3.pth').exists()
    assert not list((tmp_path / 'killed').glob('.*.tmp')), 'a temporary checkpoint was left behind'

    resumed = search(cfg, tmp_path / 'killed', '--resume')
    assert resumed.wait(timeout=300) == 0, resumed.stderr.read().decode()[-3000:]

    assert_same_search(full_search, tmp_path / 'killed', 'epoch_3.pth')
    history = json.loads((tmp_path / 'killed/search_history.json').read_text())['history']
    assert [h['epoch'] for h in history] == [1, 2, 3]


MID_EPOCH = """
# checkpoints every 4 iterations (5 per epoch): iter_12 is taken after batch 2 of epoch 3
default_hooks['checkpoint'].update(by_epoch=False, interval=4)  # in place: keep the logger's interval
# persistent worker processes: a resumed run restarts them, yet each sample's augmentation is the same
for loader in (train_dataloader, train_cfg['arch_dataloader']):
    loader.update(num_workers=1, persistent_workers=True)
custom_imports = dict(imports=['nas_backbones', 'kill_hook'])
custom_hooks = [dict(type='DerivationHook'), dict(type='RNGStateHook'),
                dict(type='KillAfterIter')]
"""


def test_iteration_checkpoint_mid_epoch_with_workers_then_resume_is_exact(tiny_imagenet, tmp_path, monkeypatch,
                                                                          full_search):
    cfg = tiny_imagenet_search_config(tiny_imagenet, tmp_path, MID_EPOCH)
    ckpt, log = kill_then_resume(cfg, tmp_path / 'killed', 12, monkeypatch)
    assert (ckpt['meta']['epoch'], ckpt['meta']['iter']) == (2, 12)  # mid-epoch: epoch 3 not finished
    # the resumed run trains only the rest of epoch 3: batches 3-5
    assert 'Epoch(train) [3][3/5]' in log and 'Epoch(train) [3][2/5]' not in log

    assert_same_search(full_search, tmp_path / 'killed', ('epoch_3.pth', 'iter_15.pth'))  # the same end state


CTRL_C_HOOK = '''
import os, signal
from mmdet.registry import HOOKS
from mmengine.hooks import Hook


@HOOKS.register_module()
class CtrlCInIter(Hook):
    """SIGINT to the whole process group (main process and dataloader workers), as a terminal's
    Ctrl-C does, at the start of iteration CTRL_C_AT_ITER: mid-step."""
    priority = 'HIGHEST'

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        if runner.iter + 1 == int(os.environ.get('CTRL_C_AT_ITER', '0')):
            os.killpg(os.getpgrp(), signal.SIGINT)
'''
CTRL_C = """
for loader in (train_dataloader, train_cfg['arch_dataloader']):  # workers get the Ctrl-C too
    loader.update(num_workers=1, persistent_workers=True)
custom_imports = dict(imports=['nas_backbones', 'ctrl_c_hook'])
custom_hooks = [dict(type='DerivationHook'), dict(type='RNGStateHook'),
                dict(type='CtrlCInIter')]
"""


def test_ctrl_c_mid_epoch_keeps_the_iteration_and_the_resumed_search_is_exact(tiny_imagenet, tmp_path,
                                                                            monkeypatch, full_search):
    """Ctrl-C in iteration 12 (epoch 3, only epoch checkpoints configured, worker processes): exit 130
    with a message, no traceback; iter_12.pth is written, and resuming from it ends bit-identical
    to a full run."""
    (tmp_path / 'ctrl_c_hook.py').write_text(CTRL_C_HOOK)
    monkeypatch.setenv('PYTHONPATH', os.pathsep.join(filter(None, [str(tmp_path), os.environ.get('PYTHONPATH')])))
    cfg = tiny_imagenet_search_config(tiny_imagenet, tmp_path, CTRL_C)

    monkeypatch.setenv('CTRL_C_AT_ITER', '12')
    stopped = subprocess.Popen([sys.executable, 'tools/search.py', str(cfg), '--work-dir',
                                str(tmp_path / 'stopped')], cwd=ROOT, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, start_new_session=True)  # its own process group
    assert stopped.wait(timeout=300) == 130
    err = stopped.stderr.read().decode()
    assert 'Traceback' not in err and 'KeyboardInterrupt' not in err, err[-3000:]
    assert err.count('Ctrl-C: stopping after this iteration') == 1  # said by the main process only
    log = log_text(tmp_path / 'stopped')
    assert f"saved that iteration to {tmp_path / 'stopped/iter_12.pth'}" in log
    assert f"--resume continues from {tmp_path / 'stopped/iter_12.pth'}: python tools/search.py" in log
    assert (tmp_path / 'stopped/last_checkpoint').read_text().strip().endswith('iter_12.pth')

    monkeypatch.delenv('CTRL_C_AT_ITER')
    resumed = search(cfg, tmp_path / 'stopped', '--resume')
    assert resumed.wait(timeout=300) == 0, resumed.stderr.read().decode()[-3000:]
    assert 'Epoch(train) [3][3/5]' in log_text(tmp_path / 'stopped')
    assert_same_search(full_search, tmp_path / 'stopped', 'epoch_3.pth')
