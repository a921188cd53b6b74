"""Checkpoints used only when they are what they claim: tools/test.py and --resume on the wrong file.

One SSD (the demo config, DARTS_V2 cells, a few generated images) is trained for one epoch; its
checkpoint records the genotype, which tools/test.py then uses without being told.
"""
import runpy
import sys
from pathlib import Path

import pytest
import torch

import nas_backbones  # noqa: F401
from nas_backbones.compat import checkpoint_loading
from nas_backbones.engine.checkpoints import CheckpointError, read_checkpoint, state_mismatch
from nas_backbones.engine.runner import NASRunner
from nas_backbones.spaces.darts import PUBLISHED
from tests.conftest import ROOT


def demo_config(root: Path, data: Path) -> Path:
    cfg = root / 'ssd.py'
    loaders = '\n'.join(
        f"{loader} = dict(batch_size=2, dataset=dict(data_root='{data}/', "
        f"ann_file='annotations/instances_{split}.json', data_prefix=dict(img='{split}/')))" for loader, split in
        (('train_dataloader', 'train'), ('val_dataloader', 'val'), ('test_dataloader', 'val')))
    cfg.write_text(f"_base_ = '{ROOT}/configs/ssd_pcdarts_demo.py'\n{loaders}\n"
                   f"val_evaluator = dict(ann_file='{data}/annotations/instances_val.json')\n"
                   f"test_evaluator = val_evaluator\n"
                   "train_cfg = dict(max_epochs=1, val_interval=5)\n"
                   "default_hooks = dict(logger=dict(interval=1))\n")
    return cfg


@pytest.fixture(scope='module')
def trained(tmp_path_factory):
    """(config, work dir) of one epoch of the demo SSD with DARTS_V2 cells (the config's is PC_DARTS_image)."""
    from mmengine.config import Config

    from nas_backbones.datasets.synthetic_coco import make_synthetic_coco
    root = tmp_path_factory.mktemp('trained')
    make_synthetic_coco(str(root / 'data'), num_train=4, num_val=2, seed=0)
    cfg_path = demo_config(root, root / 'data')
    cfg = Config.fromfile(str(cfg_path))
    cfg.model.backbone.genotype = 'DARTS_V2'
    cfg.work_dir = str(root / 'work')
    NASRunner.from_cfg(cfg).train()
    return cfg_path, root / 'work'


def load(path):
    with checkpoint_loading():
        return torch.load(path, map_location='cpu', weights_only=True)


def run_test(monkeypatch, *argv) -> int:
    monkeypatch.setattr(sys, 'argv', ['tools/test.py', *map(str, argv)])
    with pytest.raises(SystemExit) as done:
        runpy.run_path(str(ROOT / 'tools/test.py'), run_name='__main__')
    return done.value.code


def test_training_records_the_genotype_in_the_checkpoint(trained):
    _, work = trained
    meta = load(work / 'epoch_1.pth')['meta']
    assert meta['architecture'] == {'model.backbone.genotype': PUBLISHED['DARTS_V2'].to_dict()}


def test_test_tool_uses_the_recorded_genotype_and_refuses_a_contradiction(trained, tmp_path, monkeypatch,
                                                                         capsys):
    cfg, work = trained
    assert run_test(monkeypatch, cfg, work / 'epoch_1.pth', '--work-dir', tmp_path / 'test') == 0
    log = next((tmp_path / 'test').glob('*/*.log')).read_text()
    assert f"model.backbone.genotype: the one {work / 'epoch_1.pth'} was trained with" in log
    assert 'coco/bbox_mAP' in log
    capsys.readouterr()
    assert run_test(monkeypatch, cfg, work / 'epoch_1.pth', '--work-dir', tmp_path / 'test2',
                    '--cfg-options', 'model.backbone.genotype=PC_DARTS_image') == 2
    err = capsys.readouterr().err
    assert f"{work / 'epoch_1.pth'} was trained with another genotype than the one this model is built " \
           'with (model.backbone.genotype)' in err
    assert 'Leave model.backbone.genotype out of --cfg-options' in err and 'Traceback' not in err
    # the same genotype given again is fine
    assert run_test(monkeypatch, cfg, work / 'epoch_1.pth', '--work-dir', tmp_path / 'test3',
                    '--cfg-options', 'model.backbone.genotype=DARTS_V2') == 0


def test_a_checkpoint_of_another_model_is_refused_with_keys_named(trained, tmp_path, monkeypatch, capsys):
    cfg, work = trained
    bare = load(work / 'epoch_1.pth')
    del bare['meta']['architecture']  # as a checkpoint of another toolkit: nothing recorded
    torch.save(bare, tmp_path / 'bare.pth')
    assert run_test(monkeypatch, cfg, tmp_path / 'bare.pth', '--work-dir', tmp_path / 'test') == 2
    err = capsys.readouterr().err
    assert f"{tmp_path / 'bare.pth'} is not a checkpoint of the model {cfg} builds: " in err
    assert "of the model's" in err and 'weights are not in it (e.g. backbone.cells.' in err
    assert not list((tmp_path / 'test').glob('*/*.json'))  # no metrics written


@pytest.mark.parametrize('content,why', [
    (b'{"normal": []}', 'UnpicklingError'),
    (b'\x00\x01 not a checkpoint' * 10, 'UnpicklingError'),
    ('truncated', 'a truncated or corrupt file')])
def test_a_file_that_is_no_checkpoint_is_named(trained, tmp_path, monkeypatch, capsys, content, why):
    cfg, work = trained
    path = tmp_path / 'model.pth'
    path.write_bytes((work / 'epoch_1.pth').read_bytes()[:5000] if content == 'truncated' else content)
    assert run_test(monkeypatch, cfg, path) == 2
    err = capsys.readouterr().err
    assert f'{path} is not a checkpoint this toolkit can read' in err and why in err
    assert 'weights_only=False' not in err and 'Traceback' not in err


def test_state_mismatch_names_shapes():
    a, b = torch.nn.Linear(2, 3), torch.nn.Linear(2, 4)
    assert state_mismatch(a.state_dict(), a) is None
    assert 'weight (3, 2) vs (4, 2)' in state_mismatch(a.state_dict(), b)
    assert 'are not in the model (e.g. extra)' in state_mismatch(dict(a.state_dict(), extra=torch.ones(1)), a)


def resume_runner(cfg_path, work: Path, genotype: str) -> NASRunner:
    from mmengine.config import Config
    cfg = Config.fromfile(str(cfg_path))
    cfg.model.backbone.genotype = genotype
    cfg.train_cfg.max_epochs = 2
    cfg.work_dir, cfg.resume, cfg.load_from = str(work), True, None
    return NASRunner.from_cfg(cfg)


def test_resume_from_a_corrupt_checkpoint_names_it_and_the_intact_one(trained, tmp_path):
    cfg, work = trained
    copy = tmp_path / 'work'
    copy.mkdir()
    (copy / 'epoch_1.pth').write_bytes((work / 'epoch_1.pth').read_bytes())
    (copy / 'epoch_2.pth').write_bytes((work / 'epoch_1.pth').read_bytes()[:3000])  # a disk-full write
    (copy / 'last_checkpoint').write_text(str(copy / 'epoch_2.pth'))
    with pytest.raises(CheckpointError) as error:
        resume_runner(cfg, copy, 'DARTS_V2').train()
    message = str(error.value)
    assert message.startswith(f"--resume: {copy / 'epoch_2.pth'} is not a checkpoint this toolkit can read")
    assert message.endswith(f"The checkpoint beside it is intact: {copy / 'epoch_1.pth'}")
    assert read_checkpoint(str(copy / 'epoch_1.pth'))['meta']['epoch'] == 1


def test_resume_with_another_models_checkpoint_is_refused(trained, tmp_path):
    cfg, work = trained
    copy = tmp_path / 'work'
    copy.mkdir()
    (copy / 'epoch_1.pth').write_bytes((work / 'epoch_1.pth').read_bytes())
    (copy / 'last_checkpoint').write_text(str(copy / 'epoch_1.pth'))
    with pytest.raises(CheckpointError, match=r"--resume: .*epoch_1.pth is not a checkpoint of this model "
                                              r"\(\d+ of the model's \d+ weights are not in it"):
        resume_runner(cfg, copy, 'PC_DARTS_image').train()


def test_a_single_path_network_records_the_arch_that_rebuilds_it():
    from mmdet.registry import MODELS

    from nas_backbones.engine.checkpoints import architecture_options
    from nas_backbones.spaces.singlepath import load_architecture
    model = MODELS.build(dict(type='SinglePathBackbone', arch='SPNAS_Pixel1', width_mult=0.5))
    [(key, arch)] = architecture_options(torch.nn.ModuleDict(dict(backbone=model))).items()
    assert key == 'model.backbone.arch'
    rebuilt = MODELS.build(dict(type='SinglePathBackbone', arch=arch))
    assert load_architecture(arch) == model.arch and rebuilt.arch.width_mult == 0.5
    assert [tuple(v.shape) for v in rebuilt.state_dict().values()] == \
        [tuple(v.shape) for v in model.state_dict().values()]
