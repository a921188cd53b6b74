"""nas_backbones.compat and NASRunner: each known breakage is real, and each fix is as narrow as docs/compat.md says."""
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
from nas_backbones.compat import checkpoint_loading
from nas_backbones.engine.runner import NASRunner
from tests.conftest import ROOT

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


def test_import_leaves_mmdet_coco_dataset_alone():
    """Annotation-file errors come from our CheckedCocoDataset, not from a patch of mmdet's class."""
    proc = run_python("""
        import nas_backbones
        from mmdet.datasets import CocoDataset
        from nas_backbones.datasets import CheckedCocoDataset
        for name in ('load_data_list', 'parse_data_info', 'filter_data'):
            assert getattr(CocoDataset, name).__module__ == 'mmdet.datasets.coco', name
        assert issubclass(CheckedCocoDataset, CocoDataset)
        print('ok')
    """)
    assert proc.returncode == 0 and proc.stdout.strip() == 'ok', proc.stderr[-3000:]


# ----------------------------------------------------------- pkg_resources
def test_pkg_resources_deprecation_is_filtered_and_nothing_else():
    code = """
        import warnings
        warnings.simplefilter('default')
        {imp}
        from mmengine.utils import is_installed
        is_installed('mmdet')  # mmengine imports (and reloads) pkg_resources here
        warnings.warn('another warning', UserWarning)
    """
    without = run_python(code.format(imp=''))
    assert 'pkg_resources is deprecated' in without.stderr, without.stderr[-2000:]  # the noise is real
    proc = run_python(code.format(imp='import nas_backbones'))
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert 'pkg_resources is deprecated' not in proc.stderr
    assert 'another warning' in proc.stderr


# ------------------------------------------------------------------- docs
def test_every_fix_is_documented_with_its_upstream_issue():
    doc = (ROOT / 'docs' / 'compat.md').read_text(encoding='utf-8')
    for ref in ('#11063', '#11305', '#11524', '#1655', 'safe_globals', 'SSDHead', 'CheckedCocoDataset',
                'persistent_workers', 'pkg_resources'):
        assert ref in doc, ref
    import nas_backbones.compat as compat
    assert '../shared' not in compat.__doc__ and 'docs/compat.md' in compat.__doc__


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


def toy_runner(work_dir: Path, max_epochs: int, model=None, runner_cls=NASRunner, **kwargs) -> Runner:
    return runner_cls(
        model=model or ToyModel(), work_dir=str(work_dir),
        train_dataloader=dict(dataset=ToyDataset(), sampler=dict(type='DefaultSampler', shuffle=True),
                              batch_size=4, num_workers=0,
                              persistent_workers=runner_cls is NASRunner),  # a plain Runner refuses it
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


def test_the_allow_list_is_not_process_wide(mmengine_checkpoints):
    """`import nas_backbones` leaves torch's loader as strict as it ships; the scope ends with its block."""
    with pytest.raises(pickle.UnpicklingError, match='HistoryBuffer'):
        torch.load(mmengine_checkpoints / 'epoch_2.pth')
    with checkpoint_loading():
        torch.load(mmengine_checkpoints / 'epoch_2.pth')
    with pytest.raises(pickle.UnpicklingError, match='HistoryBuffer'):
        torch.load(mmengine_checkpoints / 'epoch_2.pth')


def test_weights_only_load_of_mmengine_checkpoint(mmengine_checkpoints):
    assert 'TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD' not in os.environ
    with checkpoint_loading():
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


def test_a_plain_runner_still_cannot_resume(mmengine_checkpoints, tmp_path):
    """What NASRunner's scope fixes (and only NASRunner: nothing else is changed)."""
    runner = toy_runner(tmp_path, max_epochs=2, resume=True, runner_cls=Runner,
                        load_from=str(mmengine_checkpoints / 'epoch_1.pth'))
    with pytest.raises(pickle.UnpicklingError):
        runner.train()


class PretrainedToy(ToyModel):
    def __init__(self, checkpoint: str) -> None:
        super().__init__()
        self.init_cfg = dict(type='Pretrained', checkpoint=checkpoint)


def test_pretrained_init_cfg_loads_an_mmengine_checkpoint(mmengine_checkpoints, tmp_path):
    """init_cfg=Pretrained loads a whole checkpoint (message hub included) during weight init."""
    path = str(mmengine_checkpoints / 'epoch_2.pth')
    with checkpoint_loading():
        want = torch.load(path)['state_dict']['linear.weight']
    runner = toy_runner(tmp_path, max_epochs=1, model=PretrainedToy(path))
    runner._init_model_weights()
    assert torch.equal(runner.model.linear.weight.detach(), want)
    plain = toy_runner(tmp_path / 'plain', max_epochs=1, model=PretrainedToy(path), runner_cls=Runner)
    with pytest.raises(pickle.UnpicklingError):
        plain._init_model_weights()


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
    with checkpoint_loading():
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
