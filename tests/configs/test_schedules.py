"""Every search and classification config runs the per-epoch learning rates of the recipe it states."""
import math

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import PARAM_SCHEDULERS

from tests.conftest import ROOT


def cosine(lr0: float, T: int, eta_min: float = 0.):
    """PyTorch >= 1.1 stepping: epoch e runs at lr_cos(e)."""
    return lambda e: eta_min + (lr0 - eta_min) * (1 + math.cos(math.pi * e / T)) / 2


def pcdarts_imagenet_search(e: int) -> float:
    """lr0 = 0.5, cosine over 50 epochs to 0, times the warm-up (e + 1) / 5 in epochs 0-4."""
    return cosine(0.5, 50)(e) * ((e + 1) / 5 if e < 5 else 1.)


def pcdarts_imagenet_classifier(e: int) -> float:
    """PC-DARTS' train_imagenet.py: warm-up, then linear decay, then the last five epochs."""
    lr0 = 0.5
    if e < 5:
        return lr0 * (e + 1) / 5
    if e < 245:
        return lr0 * (245 - e) / 245
    return lr0 * (250 - e) / (245 * 5)


def staircase(lr0: float, period: float = 2.4, gamma: float = 0.97):
    """Single-Path NAS / MnasNet: lr0 * gamma ** floor(step / (period epochs)), at each epoch's start."""
    return lambda e: lr0 * gamma ** math.floor(e / period)


def staircase_after_warmup(lr0: float, warmup: int = 5):
    """The reference's final training (MnasNet's build_learning_rate): lr0 * step / warm-up steps
    during the warm-up, then the staircase counted from step 0 (the ramp replaces it)."""
    return lambda e: lr0 * e / warmup if e < warmup else staircase(lr0)(e)


RECIPES = {  # config -> (epochs, lr(e)) of the weight optimizer
    'search/pcdarts_imagenet.py': (50, pcdarts_imagenet_search),
    'search/pcdarts_imagenet_flops.py': (50, pcdarts_imagenet_search),
    'search/pcdarts_imagenet_latency.py': (50, pcdarts_imagenet_search),
    'search/pcdarts_cifar.py': (50, cosine(0.1, 50)),                 # PC-DARTS CIFAR
    'search/darts_cifar.py': (50, cosine(0.025, 50, 1e-3)),           # DARTS CIFAR
    'search/darts_cifar_2nd_order.py': (50, cosine(0.025, 50, 1e-3)),
    'search/pcdarts_tiny_imagenet.py': (4, cosine(0.05, 4)),
    'search/pcdarts_demo.py': (2, cosine(0.05, 2)),
    'templates/search_own_images.py': (10, cosine(0.05, 10)),
    # the own-data detection search: 8 warm-up iterations from 1% (within epoch 0), then cosine
    'templates/search_own_coco.py': (30, lambda e: 0.02 * 0.01 if e == 0 else cosine(0.02, 30)(e)),
    'cls_pcdarts_imagenet.py': (250, pcdarts_imagenet_classifier),
    # no warm-up below a total batch of 256 (as the reference), linear decay over 3 epochs
    'cls_pcdarts_tiny_imagenet.py': (3, lambda e: 0.5 * 64 / 1024 * (3 - e) / 3),
    # Single-Path NAS: 0.016 per 256 images (0.064 at 1024), x0.97 every 2.4 epochs
    'search/spnas_imagenet.py': (8, staircase(0.064)),
    'search/spnas_tiny_imagenet.py': (4, staircase(0.004)),
    'cls_spnas_imagenet.py': (350, staircase_after_warmup(0.064)),
    'cls_spnas_tiny_imagenet.py': (3, staircase(0.016 * 64 / 256)),
}
EPOCH_LENGTH = 10  # iterations per epoch for schedules that convert epochs to iterations


def epoch_rates(scheds: list, lr: float, epochs: int) -> list[float]:
    """The rate at each epoch's start; iteration-based schedulers step EPOCH_LENGTH times an epoch."""
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=lr)
    built = [PARAM_SCHEDULERS.build(dict(s), default_args=dict(optimizer=opt, epoch_length=EPOCH_LENGTH))
             for s in scheds]
    rates = []
    for _ in range(epochs):
        rates.append(opt.param_groups[0]['lr'])
        for _ in range(EPOCH_LENGTH):
            for s in built:
                if not s.by_epoch:
                    s.step()
        for s in built:
            if s.by_epoch:
                s.step()
    return rates


@pytest.mark.parametrize('name', sorted(RECIPES))
def test_weight_learning_rates_follow_the_recipe(name):
    cfg = Config.fromfile(str(ROOT / 'configs' / name))
    epochs, recipe = RECIPES[name]
    assert cfg.train_cfg.max_epochs == epochs
    search = isinstance(cfg.param_scheduler, dict)
    scheds = cfg.param_scheduler['weights'] if search else cfg.param_scheduler
    wrapper = cfg.optim_wrapper['weights'] if search else cfg.optim_wrapper
    got = epoch_rates(scheds, wrapper['optimizer']['lr'], epochs)
    want = [recipe(e) for e in range(epochs)]
    for e, (g, w) in enumerate(zip(got, want)):
        assert g == pytest.approx(w, rel=1e-9, abs=1e-12), f'{name}: epoch {e} runs at {g}, the recipe at {w}'
    if search:  # alpha/beta: Adam at a constant rate, as in the reference (one level: no arch)
        assert cfg.param_scheduler.get('arch', []) == []


def test_every_config_with_a_schedule_is_checked():
    configs = {str(p.relative_to(ROOT / 'configs')) for p in (ROOT / 'configs').rglob('*.py')
               if '_base_' not in p.parts and 'param_scheduler' in Config.fromfile(str(p))
               and 'ssd' not in p.name}
    assert configs <= set(RECIPES), f'no recipe test for {sorted(configs - set(RECIPES))}'
