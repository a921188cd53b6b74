"""Results are written atomically: an interrupted write leaves the previous file, never a truncated one."""
import os

import pytest
import torch
import torch.nn as nn
from mmengine.fileio.backends.local_backend import LocalBackend
from mmengine.model import BaseModel

import nas_backbones  # noqa: F401
from nas_backbones.compat import checkpoint_loading
from nas_backbones.engine.runner import NASRunner
from nas_backbones.spaces.darts import PUBLISHED, Genotype
from nas_backbones.utils.io import atomic_open


class Toy(BaseModel):
    def __init__(self):
        super().__init__()
        self.w = nn.Linear(2, 2)

    def forward(self, inputs=None, data_samples=None, mode='tensor'):
        return {'loss': self.w(inputs).sum()}


def test_atomic_open_keeps_the_old_file_when_the_write_is_interrupted(tmp_path):
    path = tmp_path / 'genotype.json'
    PUBLISHED['PC_DARTS_image'].save(path)
    before = path.read_text()
    with pytest.raises(KeyboardInterrupt):
        with atomic_open(path, 'w') as f:
            f.write('{"format": "nas_bac')
            raise KeyboardInterrupt  # a kill between two writes
    assert path.read_text() == before
    assert Genotype.load(path) == PUBLISHED['PC_DARTS_image']
    assert os.listdir(tmp_path) == ['genotype.json']  # no temporary left behind
    assert oct(path.stat().st_mode & 0o777) == oct(0o666 & ~_umask())


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_checkpoint_is_renamed_into_place_and_an_interrupted_save_leaves_the_last_one(tmp_path, monkeypatch):
    loader = torch.utils.data.DataLoader([{'inputs': torch.zeros(2)}], batch_size=1)
    runner = NASRunner(model=Toy(), work_dir=str(tmp_path), train_dataloader=loader,
                       train_cfg=dict(by_epoch=True, max_epochs=1),
                       optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.1)))
    runner.optim_wrapper = runner.build_optim_wrapper(runner.optim_wrapper)
    runner.save_checkpoint(str(tmp_path), 'epoch_1.pth', save_param_scheduler=False)
    good = (tmp_path / 'epoch_1.pth').read_bytes()
    with checkpoint_loading():
        ckpt = torch.load(tmp_path / 'epoch_1.pth', weights_only=True)
    assert ckpt['state_dict'].keys() == {'w.weight', 'w.bias'}

    def dies_halfway(self, obj, filepath):  # the disk write is cut short by a kill
        with open(filepath, 'wb') as f:
            f.write(obj[:len(obj) // 2])
        raise KeyboardInterrupt
    monkeypatch.setattr(LocalBackend, 'put', dies_halfway)
    with pytest.raises(KeyboardInterrupt):
        runner.save_checkpoint(str(tmp_path), 'epoch_1.pth', save_param_scheduler=False)
    monkeypatch.undo()
    assert (tmp_path / 'epoch_1.pth').read_bytes() == good
    assert not [p for p in os.listdir(tmp_path) if p.endswith('.tmp')]
