"""nas_backbones.compat and NASRunner: each known breakage is real, and fixed by importing the package."""
import os
import pickle
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn as nn
from mmengine.config import Config
from mmengine.logging import HistoryBuffer
from mmengine.model import BaseModel
from mmengine.runner import Runner
from torch.utils.data import Dataset

import nas_backbones  # noqa: F401
from nas_backbones.engine.runner import NASRunner

ROOT = Path(__file__).resolve().parents[1]
PY = sys.executable


def run_python(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([PY, '-c', textwrap.dedent(code)], capture_output=True, text=True,
                          cwd=ROOT, timeout=120)


# ----------------------------------------------------------------- SSDHead
def small_ssd_head():
    from mmdet.models.dense_heads import SSDHead
    from mmengine.config import ConfigDict
    return SSDHead(
        num_classes=3, in_channels=(8, 8),
        anchor_generator=dict(type='SSDAnchorGenerator', scale_major=False, strides=[8, 16],
                              ratios=[[2], [2]], min_sizes=[8, 16], max_sizes=[16, 32]),
        bbox_coder=dict(type='DeltaXYWHBBoxCoder', target_means=[0.] * 4, target_stds=[.1, .1, .2, .2]),
        test_cfg=ConfigDict(nms_pre=100, nms=dict(type='nms', iou_threshold=0.45), min_bbox_size=0,
                            score_thr=0.02, max_per_img=10))


def predict_small_ssd_head():
    head = small_ssd_head().eval()
    feats = (torch.randn(1, 8, 8, 8), torch.randn(1, 8, 4, 4))
    meta = [dict(img_shape=(64, 64), ori_shape=(64, 64), scale_factor=(1., 1.))]
    with torch.no_grad():
        cls_scores, bbox_preds = head(feats)
        return head.predict_by_feat(cls_scores, bbox_preds, batch_img_metas=meta, rescale=True)


def test_ssd_head_predicts_only_with_the_fix(monkeypatch):
    from mmdet.models.dense_heads import SSDHead
    assert SSDHead.loss_cls is None
    result = predict_small_ssd_head()[0]
    assert result.bboxes.shape[1] == 4
    monkeypatch.delattr(SSDHead, 'loss_cls')  # mmdet 3.3.0 as shipped
    with pytest.raises(AttributeError, match='loss_cls'):
        predict_small_ssd_head()


def test_ssd_head_patch_waits_for_mmdet_models():
    """`import nas_backbones` does not import mmdet.models, yet SSDHead is fixed once it is."""
    proc = run_python("""
        import sys
        import nas_backbones
        assert 'mmdet.models.dense_heads.ssd_head' not in sys.modules, 'imported eagerly'
        from mmdet.models.dense_heads import SSDHead
        assert 'loss_cls' in SSDHead.__dict__ and SSDHead.loss_cls is None
        from mmdet.models.dense_heads.anchor_head import AnchorHead
        assert 'loss_cls' not in AnchorHead.__dict__  # only SSDHead is touched
        print('ok')
    """)
    assert proc.returncode == 0 and proc.stdout.strip() == 'ok', proc.stderr[-3000:]


# ------------------------------------------------------------- checkpoints
class ToyModel(BaseModel):
    def __init__(self) -> None:
        super().__init__()
        self.linear = nn.Linear(2, 1)

    def forward(self, inputs, data_samples=None, mode='tensor'):
        y = self.linear(torch.stack(inputs))
        return dict(loss=y.pow(2).mean()) if mode == 'loss' else y


class ToyDataset(Dataset):
    metainfo = dict(classes=('a', 'b'))

    def __len__(self) -> int:
        return 8

    def __getitem__(self, i: int) -> dict:
        return dict(inputs=torch.full((2,), float(i)))


def toy_runner(work_dir: Path, max_epochs: int, **kwargs) -> Runner:
    return NASRunner(
        model=ToyModel(), work_dir=str(work_dir),
        train_dataloader=dict(dataset=ToyDataset(), sampler=dict(type='DefaultSampler', shuffle=True),
                              batch_size=4, num_workers=0, persistent_workers=True),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.01, momentum=0.9)),
        param_scheduler=dict(type='MultiStepLR', milestones=[1]),
        train_cfg=dict(by_epoch=True, max_epochs=max_epochs),
        default_hooks=dict(checkpoint=dict(type='CheckpointHook', interval=1)),
        randomness=dict(seed=0), **kwargs)


@pytest.fixture(scope='module')
def mmengine_checkpoints(tmp_path_factory) -> Path:
    work_dir = tmp_path_factory.mktemp('toy_run')
    toy_runner(work_dir, max_epochs=2).train()
    assert (work_dir / 'epoch_1.pth').is_file() and (work_dir / 'epoch_2.pth').is_file()
    return work_dir


def test_plain_torch_refuses_mmengine_checkpoints(mmengine_checkpoints):
    """The breakage is real: without nas_backbones, torch 2.13 refuses an mmengine 0.10.7 checkpoint."""
    proc = run_python(f"""
        import pickle, torch
        try:
            torch.load({str(mmengine_checkpoints / 'epoch_2.pth')!r})
        except pickle.UnpicklingError as e:
            print('refused')
    """)
    assert proc.stdout.strip() == 'refused', proc.stdout + proc.stderr[-2000:]


def test_weights_only_load_of_mmengine_checkpoint(mmengine_checkpoints):
    assert 'TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD' not in os.environ
    ckpt = torch.load(mmengine_checkpoints / 'epoch_2.pth', weights_only=True)
    assert ckpt['meta']['epoch'] == 2
    buffers = ckpt['message_hub']['log_scalars']
    assert isinstance(buffers['train/loss'], HistoryBuffer)
    # Statistics methods came back through the restricted getattr and work.
    assert np.isfinite(buffers['train/loss'].statistics('mean'))
    assert isinstance(ckpt['message_hub']['runtime_info']['eta'], np.floating)


def test_resume_from_mmengine_checkpoint(mmengine_checkpoints, tmp_path):
    runner = toy_runner(tmp_path, max_epochs=2, resume=True,
                        load_from=str(mmengine_checkpoints / 'epoch_1.pth'))
    runner.train()
    assert runner.epoch == 2 and runner.iter == 4  # one more epoch of 2 iterations, not two
    assert 'train/loss' in runner.message_hub.log_scalars
    assert (tmp_path / 'epoch_2.pth').is_file() and not (tmp_path / 'epoch_1.pth').exists()


class Arbitrary:
    """A class nobody allowed: a checkpoint holding one must stay refused."""


class _GetattrPayload:
    def __init__(self, obj, name):
        self.obj, self.name = obj, name

    def __reduce__(self):
        return getattr, (self.obj, self.name)


@pytest.mark.parametrize('payload', [
    Arbitrary(),
    _GetattrPayload(HistoryBuffer, '__init__'),
    _GetattrPayload(HistoryBuffer, '_statistics_methods'),
    _GetattrPayload(torch.Tensor, 'add_'),
    np.array([Arbitrary()], dtype=object),
], ids=['class', 'getattr-dunder', 'getattr-private', 'getattr-other-class', 'object-array'])
def test_other_globals_still_refused(tmp_path, payload):
    path = tmp_path / 'evil.pth'
    torch.save({'state_dict': {}, 'payload': payload}, path)
    with pytest.raises(pickle.UnpicklingError):
        torch.load(path)
    with pytest.raises(pickle.UnpicklingError):
        torch.load(path, weights_only=True)


def test_allowed_getattr_is_exactly_the_statistics():
    from nas_backbones.compat import _history_buffer_method
    assert _history_buffer_method(HistoryBuffer, 'mean') is HistoryBuffer.mean
    for obj, name in [(HistoryBuffer, '__class__'), (HistoryBuffer, 'register_statistics'),
                      (HistoryBuffer(), 'mean'), (np, 'load')]:
        with pytest.raises(pickle.UnpicklingError):
            _history_buffer_method(obj, name)


# ---------------------------------------------------- persistent_workers
def loader_cfg(**kw) -> dict:
    return dict(dataset=ToyDataset(), sampler=dict(type='DefaultSampler', shuffle=False),
                batch_size=2, **kw)


def test_plain_runner_rejects_persistent_workers_without_workers():
    with pytest.raises(ValueError, match='persistent_workers'):
        Runner.build_dataloader(loader_cfg(num_workers=0, persistent_workers=True))


def test_nas_runner_derives_persistent_workers():
    cfg = loader_cfg(num_workers=0, persistent_workers=True)
    loader = NASRunner.build_dataloader(cfg)
    assert loader.persistent_workers is False and len(list(loader)) == 4
    assert cfg['persistent_workers'] is True  # the caller's config is left alone
    assert NASRunner.build_dataloader(loader_cfg(num_workers=1, persistent_workers=True)).persistent_workers


def test_configs_select_nas_runner_for_mmdet_tools():
    """mmdet's tools/train.py looks `runner_type` up in mmengine's root RUNNERS, tools/test.py in
    mmdet's, both before any default scope exists."""
    from mmdet.registry import RUNNERS as MMDET_RUNNERS
    from mmengine.registry import RUNNERS
    cfg = Config.fromfile(str(ROOT / 'configs' / 'ssd_pcdarts_coco.py'))
    assert RUNNERS.get(cfg.runner_type) is NASRunner
    assert MMDET_RUNNERS.get(cfg.runner_type) is NASRunner
