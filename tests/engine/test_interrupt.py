"""Ctrl-C during training: the iteration finishes, is kept where the loop can resume it, and the run says how."""
import os
import signal
from pathlib import Path

import pytest
import torch
import torch.nn as nn
from mmengine.model import BaseModel
from torch.utils.data import Dataset

import nas_backbones  # noqa: F401
from nas_backbones.compat import checkpoint_loading
from nas_backbones.engine.interrupt import EXIT_CODE, TrainingInterrupted, resume_command
from nas_backbones.engine.runner import NASRunner


class CtrlCModel(BaseModel):
    """Sends itself SIGINT in the middle of training steps number ``at`` (1-based), as a user's Ctrl-C."""

    def __init__(self, at=()) -> None:
        super().__init__()
        torch.manual_seed(0)  # the same initial weights in every run
        self.linear = nn.Linear(2, 1)
        self.at = set(at)
        self.steps = 0

    def forward(self, inputs, data_samples=None, mode='tensor'):
        y = self.linear(torch.stack(inputs))
        return dict(loss=(y - 1).pow(2).mean()) if mode == 'loss' else y

    def train_step(self, data, optim_wrapper):
        self.steps += 1
        if self.steps in self.at:
            os.kill(os.getpid(), signal.SIGINT)  # arrives before the update below
        return super().train_step(data, optim_wrapper)


class Numbers(Dataset):
    metainfo = dict(classes=('a',))

    def __len__(self) -> int:
        return 8

    def __getitem__(self, i: int) -> dict:
        return dict(inputs=torch.tensor([float(i), 1.]))


def runner(work_dir: Path, model: BaseModel, by_epoch: bool, **kwargs) -> NASRunner:
    train_cfg = dict(by_epoch=True, max_epochs=3) if by_epoch else dict(by_epoch=False, max_iters=6)
    return NASRunner(
        model=model, work_dir=str(work_dir),
        train_dataloader=dict(dataset=Numbers(), sampler=dict(type='DefaultSampler', shuffle=True),
                              batch_size=4, num_workers=0),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.01, momentum=0.9)),
        train_cfg=train_cfg,
        default_hooks=dict(checkpoint=dict(type='CheckpointHook', interval=1 if by_epoch else 100,
                                           by_epoch=by_epoch)),
        randomness=dict(seed=0), **kwargs)


def weights(model: nn.Module) -> list:
    return [p.detach().clone() for p in model.parameters()]


def test_ctrl_c_saves_the_finished_iteration_and_the_resumed_run_ends_the_same(tmp_path, capfd):
    full = runner(tmp_path / 'full', CtrlCModel(), by_epoch=False)
    full.train()

    interrupted = runner(tmp_path / 'run', CtrlCModel(at={3}), by_epoch=False)
    with pytest.raises(TrainingInterrupted) as stop:
        interrupted.train()
    assert stop.value.code == EXIT_CODE == 130
    saved = tmp_path / 'run' / 'iter_3.pth'
    assert stop.value.checkpoint == str(saved)
    assert (tmp_path / 'run' / 'last_checkpoint').read_text() == str(saved)
    with checkpoint_loading():
        ckpt = torch.load(saved)
    assert ckpt['meta']['iter'] == 3  # the third step was finished, then kept
    assert not list((tmp_path / 'run').glob('.*.tmp'))
    assert 'Ctrl-C: stopping after this iteration' in capfd.readouterr().err
    assert f'continues from {saved}' in stop.value.message and '--resume' in stop.value.message
    # the SIGINT handler is put back
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler

    resumed = runner(tmp_path / 'run', CtrlCModel(), by_epoch=False, resume=True)
    resumed.train()
    assert resumed.iter == 6 and resumed.model.steps == 3  # only the three steps left
    for a, b in zip(weights(full.model), weights(resumed.model)):
        assert torch.equal(a, b)


def test_an_epoch_loop_is_not_checkpointed_mid_epoch(tmp_path):
    """EpochBasedTrainLoop (detectors) restarts an epoch on resume: a mid-epoch checkpoint would train twice."""
    r = runner(tmp_path, CtrlCModel(at={4}), by_epoch=True)  # step 4 = the second of epoch 2
    with pytest.raises(TrainingInterrupted) as stop:
        r.train()
    assert sorted(p.name for p in tmp_path.glob('*.pth')) == ['epoch_1.pth']
    assert stop.value.checkpoint == str(tmp_path / 'epoch_1.pth')
    assert 'EpochBasedTrainLoop restarts an epoch on resume' in stop.value.message


def test_a_second_ctrl_c_stops_at_once(tmp_path):
    class TwiceModel(CtrlCModel):
        def train_step(self, data, optim_wrapper):
            if self.steps + 1 in self.at:
                os.kill(os.getpid(), signal.SIGINT)  # the first: a stop is requested ...
            return super().train_step(data, optim_wrapper)  # ... and the second, mid-step

    r = runner(tmp_path, TwiceModel(at={2}), by_epoch=False)
    with pytest.raises(TrainingInterrupted) as stop:
        r.train()
    assert not list(tmp_path.glob('*.pth'))
    assert 'stopped at once' in stop.value.message
    assert 'nothing to continue from yet' in stop.value.message


def test_resume_command_repeats_the_command_line(monkeypatch):
    monkeypatch.setattr('sys.argv', ['tools/search.py', 'configs/x.py', '--resume', 'w/iter_2.pth',
                                     '--cfg-options', 'a=1'])
    assert resume_command('w') == 'python tools/search.py configs/x.py --cfg-options a=1 --work-dir w --resume'
