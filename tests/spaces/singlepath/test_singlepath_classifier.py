"""The Single-Path classifier configs: the recipe as written, and a few real iterations on
tiny-imagenet-10 whose checkpoint initialises the detection backbone."""
from pathlib import Path

import pytest
import torch
from mmengine.config import Config

from tests.conftest import ROOT, tiny_imagenet_classification_config


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

    from nas_backbones.spaces.singlepath import SinglePathBackbone
    cfg = tiny_imagenet_classification_config('configs/cls_spnas_tiny_imagenet.py', tiny_imagenet, tmp_path)
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
