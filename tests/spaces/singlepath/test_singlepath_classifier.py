"""The Single-Path classifier configs: the recipe as written, and a few real iterations on
tiny-imagenet-10 whose checkpoint initialises the detection backbone."""
from pathlib import Path

import pytest
import torch
from mmengine.config import Config

from tests.conftest import ROOT


def test_imagenet_config_holds_the_reference_recipe():
    cfg = Config.fromfile(str(ROOT / 'configs/cls_spnas_imagenet.py'))
    opt = cfg.optim_wrapper.optimizer
    assert opt.type == 'RMSpropTF' and opt.lr == pytest.approx(0.064)  # 0.016 x 1024 / 256
    assert (opt.alpha, opt.momentum, opt.eps, opt.weight_decay) == (0.9, 0.9, 1e-3, 1e-5)
    assert cfg.optim_wrapper.paramwise_cfg.norm_decay_mult == 0.
    sched = cfg.param_scheduler[0]
    assert (sched.type, sched.period, sched.gamma, sched.warmup) == ('StaircaseExponentialLR', 2.4, 0.97, 5)
    # the reference resizes bicubically, in training and evaluation
    resizes = [t for t in cfg.train_pipeline + cfg.test_pipeline if 'Resize' in t.type]
    assert len(resizes) == 2 and all(t.interpolation == 'bicubic' for t in resizes)
    assert cfg.train_cfg.max_epochs == 350
    assert cfg.model.label_smoothing == 0.1 and cfg.model.dropout == 0.2
    assert cfg.custom_hooks[0].momentum == pytest.approx(1 - 0.9999)


@pytest.mark.slow
def test_tiny_imagenet_config_trains_evaluates_and_transfers(tiny_imagenet, tmp_path):
    from mmengine.registry import RUNNERS

    from nas_backbones.datasets import sample_per_class, scan_image_folder, write_classes, write_image_list
    from nas_backbones.spaces.singlepath import SinglePathBackbone
    classes, per_class = scan_image_folder(tiny_imagenet / 'train')
    train, _ = sample_per_class(per_class, classes, (0.02, 0.01), seed=0)  # 10 a class
    write_image_list(tmp_path / 'lists/train.txt', train)
    write_classes(tmp_path / 'lists/classes.txt', classes)
    cfg = Config.fromfile(str(ROOT / 'configs/cls_spnas_tiny_imagenet.py'))
    cfg.work_dir = str(tmp_path / 'work')
    cfg.train_dataloader.dataset.update(
        data_root=str(tiny_imagenet), data_prefix='train',
        ann_file=str(tmp_path / 'lists/train.txt'), classes=str(tmp_path / 'lists/classes.txt'))
    cfg.train_dataloader.update(batch_size=50, num_workers=0)
    cfg.val_dataloader.dataset.update(data_root=str(tiny_imagenet), indices=100)
    cfg.val_dataloader.update(batch_size=50, num_workers=0)
    cfg.test_dataloader = cfg.val_dataloader
    cfg.train_cfg.max_epochs = 2
    cfg.param_scheduler[0].end = 2
    cfg.default_hooks.logger.interval = 1
    runner = RUNNERS.build(cfg)
    runner.train()
    metrics = runner.val_loop.run()
    assert set(metrics) == {'cls/top1', 'cls/top5'}
    assert 0 <= metrics['cls/top1'] <= metrics['cls/top5'] <= 100
    ckpt = Path(cfg.work_dir) / 'epoch_2.pth'
    bb = SinglePathBackbone('SPNAS_Pixel1', width_mult=0.5, out_indices=(4, 7),
                            init_cfg=dict(type='Pretrained', checkpoint=str(ckpt), prefix='backbone.'))
    from nas_backbones.compat import checkpoint_loading
    with checkpoint_loading():  # what NASRunner opens around weight initialisation
        bb.init_weights()
    trained = runner.model.backbone.state_dict()
    assert all(torch.equal(v, trained[k]) for k, v in bb.state_dict().items())
