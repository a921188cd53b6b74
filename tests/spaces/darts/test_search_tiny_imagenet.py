"""Real searches on ../shared/data/tiny-imagenet-10: PC-DARTS end to end, DARTS (K=1) and second order."""
import json
import subprocess
import sys

import pytest
import torch
from mmengine.config import Config

from nas_backbones.engine.launch import build_runner
from nas_backbones.spaces.darts import DartsBackbone, Genotype
from tests.conftest import ROOT

pytestmark = pytest.mark.slow


def make_lists(root, out, frac):
    subprocess.run([sys.executable, str(ROOT / 'tools/dataset/imagenet_subset.py'), str(root / 'train'),
                    '--out', str(out), '--train-frac', str(frac), '--val-frac', str(frac),
                    '--seed', '0'], check=True, capture_output=True, cwd=ROOT)


def search_cfg(config, tiny_imagenet, lists, work_dir, **model):
    cfg = Config.fromfile(str(ROOT / config))
    for loader in (cfg.train_dataloader, cfg.train_cfg.arch_dataloader):
        loader.dataset.data_prefix = str(tiny_imagenet / 'train')
        loader.num_workers = 0
        loader.batch_size = 10
        loader.dataset.pipeline = [
            dict(type='LoadImageFromFile'),
            dict(type='RandomResizedCrop', size=32),
            dict(type='RandomFlip', prob=0.5, direction='horizontal'),
            dict(type='PackClsInputs')]
    cfg.train_dataloader.dataset.ann_file = str(lists / 'train.txt')
    cfg.train_cfg.arch_dataloader.dataset.ann_file = str(lists / 'val.txt')
    cfg.model.space.model.num_classes = 10
    cfg.model.space.model.backbone.update({'C': 8, 'layers': 5, **model.pop('backbone', {})})
    cfg.model.update(model)
    cfg.work_dir = str(work_dir)
    cfg.default_hooks.logger.interval = 1
    return cfg


def test_pcdarts_search_moves_alpha_and_ends_in_a_usable_genotype(tiny_imagenet, tmp_path):
    make_lists(tiny_imagenet, tmp_path / 'lists', 0.01)  # 5 + 5 images per class
    cfg = search_cfg('configs/search/pcdarts_tiny_imagenet.py', tiny_imagenet, tmp_path / 'lists',
                     tmp_path / 'work')
    cfg.train_cfg.max_epochs = 2
    cfg.train_cfg.arch_warmup_epochs = 1
    runner = build_runner(cfg)
    runner.train()
    history = json.loads((tmp_path / 'work/search_history.json').read_text())['history']
    assert [h['epoch'] for h in history] == [1, 2]
    assert [h['arch_active'] for h in history] == [False, True]
    a1, a2 = torch.tensor(history[0]['alpha_normal']), torch.tensor(history[1]['alpha_normal'])
    init = torch.full_like(a1, 1 / a1.size(1))
    # Frozen during warm-up (only the 1e-3 init noise off uniform), moved afterwards.
    assert (a1 - init).abs().max() < 1e-2
    assert (a2 - a1).abs().max() > 1e-3
    assert torch.tensor(history[1]['beta_normal']).sub(torch.tensor(history[0]['beta_normal'])).abs().max() > 0
    genotype = Genotype.load(tmp_path / 'work/genotype.json')
    assert genotype.to_dict() == history[-1]['genotype']
    # The genotype file plugs straight into the detection backbone.
    backbone = DartsBackbone(genotype=str(tmp_path / 'work/genotype.json'), C=8, layers=5).eval()
    feats = backbone(torch.randn(1, 3, 300, 300))
    assert [f.shape[-1] for f in feats] == [38, 19, 10]


@pytest.mark.parametrize('config', ['configs/search/darts_cifar.py',
                                    'configs/search/darts_cifar_2nd_order.py'])
def test_darts_first_and_second_order_take_real_steps(config, tiny_imagenet, tmp_path):
    make_lists(tiny_imagenet, tmp_path / 'lists', 0.004)  # 2 + 2 images per class
    cfg = search_cfg(config, tiny_imagenet, tmp_path / 'lists', tmp_path / 'work',
                     backbone=dict(layers=3))
    cfg.train_cfg.max_epochs = 1
    runner = build_runner(cfg)
    algo = runner.model
    before = [p.detach().clone() for p in algo.arch_parameters()]
    runner.train()
    assert algo.space.backbone.partial_k == 1 and algo.space.arch.betas_normal is None
    assert all((p - b).abs().max() > 0 for p, b in zip(algo.arch_parameters(), before))
    assert (tmp_path / 'work/genotype.json').is_file()
