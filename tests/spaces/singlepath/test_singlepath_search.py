"""Single-Path NAS through the search core: the one-level step, the NaN guard, and real searches on
tiny-imagenet-10 (the architecture file builds the SSDLite detector; exact resume across the
warm-up; two ranks; the report)."""
import json
import os
import shutil
import subprocess
import sys

import pytest
import torch
from mmengine.config import Config
from mmengine.logging import MessageHub

import nas_backbones  # noqa: F401
from nas_backbones.core import DifferentiableSearch
from nas_backbones.core.optim import SearchOptimWrapperConstructor
from nas_backbones.spaces.singlepath import Architecture
from tests.conftest import ROOT, SP_COST, assert_same_search, sp_batch, sp_space_config

CONFIG = 'configs/search/spnas_tiny_imagenet.py'


def algo(**space):
    """A ``DifferentiableSearch`` over sp_space_config(**space) (what the search configs build)."""
    torch.manual_seed(0)
    return DifferentiableSearch(space=sp_space_config(**space))


def step_data(seed=0):
    x, y = sp_batch(4, seed)
    return dict(weights=dict(inputs=x, data_samples=y), arch=None)


def test_one_level_step_updates_weights_and_thresholds_with_one_optimizer():
    a = algo(cost=dict(SP_COST, runtime_lambda=0.02), warmup_iters=0)
    optim = SearchOptimWrapperConstructor(dict(weights=dict(optimizer=dict(
        type='RMSpropTF', lr=0.5))))(a)
    assert list(optim.keys()) == ['weights']
    params = {id(p) for g in optim['weights'].optimizer.param_groups for p in g['params']}
    assert id(a.space.arch.thresholds) in params  # one optimizer over the whole space
    before = [p.detach().clone() for p in a.parameters()]
    log = a.train_step(step_data(), optim)
    assert {'loss_cls', 'loss_wd', 'runtime', 'cost', 'acc'} <= set(log)
    assert log['cost'].item() == pytest.approx(20. * torch.log(log['runtime']).item(), rel=1e-4)
    t0 = before[[id(p) for p in a.parameters()].index(id(a.space.arch.thresholds))]
    assert (a.space.arch.thresholds - t0).abs().max() > 0
    assert sum(not torch.equal(p, b) for p, b in zip(a.parameters(), before)) > len(before) // 2


def test_non_finite_loss_stops_before_any_update():
    a = algo(warmup_iters=0)
    optim = SearchOptimWrapperConstructor(dict(weights=dict(optimizer=dict(
        type='RMSpropTF', lr=0.1))))(a)
    data = step_data()
    data['weights']['inputs'][0, 0, 0, 0] = float('nan')
    before = {k: v.clone() for k, v in a.state_dict().items()}
    MessageHub.get_current_instance().update_info('epoch', 2)
    MessageHub.get_current_instance().update_info('iter', 7)
    with pytest.raises(FloatingPointError, match='the weight loss is nan at epoch 3, iteration 8'):
        a.train_step(data, optim)
    for k, v in a.state_dict().items():
        if 'running' not in k and 'num_batches' not in k:  # BN statistics see the batch first
            assert torch.equal(v, before[k]), k


# ------------------------------------------------------------------ real searches
def make_lists(tiny_imagenet, out, frac=0.01):
    subprocess.run([sys.executable, 'tools/dataset/imagenet_subset.py', str(tiny_imagenet / 'train'),
                    '--out', str(out), '--train-frac', str(frac), '--val-frac', '0.004', '--seed', '0'],
                   cwd=ROOT, check=True, capture_output=True)


def config_file(tiny_imagenet, tmp_path, extra: str = ''):
    """The tiny config on 1% per-class lists (5 images a class), 32 px, batch 10, 3 epochs."""
    make_lists(tiny_imagenet, tmp_path / 'lists')
    cfg = tmp_path / 'search.py'
    cfg.write_text(f"""
_base_ = {str(ROOT / CONFIG)!r}
pipeline = [dict(type='LoadImageFromFile'), dict(type='RandomResizedCrop', size=32),
            dict(type='RandomFlip', prob=0.5, direction='horizontal'), dict(type='PackClsInputs')]
model = dict(space=dict(model=dict(backbone=dict(width_mult=0.25)), cost=dict(input_size=32),
                        arch=dict(warmup_epochs=2)))
train_dataloader = dict(batch_size=10, dataset=dict(
    data_prefix='{tiny_imagenet}/train', ann_file='{tmp_path}/lists/train.txt', pipeline=pipeline))
train_cfg = dict(max_epochs=3)
param_scheduler = dict(weights=[dict(type='StaircaseExponentialLR', period=0.5, gamma=0.5,
                                     by_epoch=True, convert_to_iter_based=True, begin=0, end=3)])
default_hooks = dict(logger=dict(interval=1), checkpoint=dict(max_keep_ckpts=5))
""" + extra)
    return cfg


def run_search(cfg, work_dir, *extra, env=None):
    proc = subprocess.run([sys.executable, 'tools/search.py', str(cfg), '--work-dir', str(work_dir),
                           *map(str, extra)], cwd=ROOT, capture_output=True, text=True, timeout=600,
                          env=env)
    assert proc.returncode == 0, proc.stderr[-6000:]
    return proc


@pytest.mark.slow
def test_tiny_imagenet_search_ends_in_an_architecture_that_builds_the_ssdlite_detector(
        tiny_imagenet, tmp_path):
    cfg = config_file(tiny_imagenet, tmp_path)
    run_search(cfg, tmp_path / 'work')
    work = tmp_path / 'work'
    history = json.loads((work / 'search_history.json').read_text())['history']
    assert [h['epoch'] for h in history] == [1, 2, 3]
    assert [h['in_warmup'] for h in history] == [True, True, False]
    assert [h['runtime_lambda'] for h in history] == [0., 0., 0.02]
    arch = Architecture.load(work / 'architecture.json')
    assert arch.to_dict() == history[-1]['architecture']
    assert torch.tensor(history[-1]['thresholds']).abs().max() > 0  # the thresholds moved
    # the report shows the Single-Path section
    readme = (work / 'report' / 'README.md').read_text()
    assert 'Single-Path NAS: 3 epoch(s)' in readme and (work / 'report' / 'thresholds.png').is_file()
    assert f'`{arch.to_text()}`' in readme
    # the file plugs into the SSDLite config, at the searched width or the full one
    from mmdet.registry import MODELS
    for width, neck_in in ((None, (24, 320)), (1.0, (96, 1280))):
        det_cfg = Config.fromfile(str(ROOT / 'configs/ssdlite_spnas_coco.py'))
        det_cfg.model.backbone.arch = str(work / 'architecture.json')
        if width is None:
            det_cfg.model.neck.in_channels = neck_in
            det_cfg.model.bbox_head.in_channels = (*neck_in, *det_cfg.model.bbox_head.in_channels[2:])
            det_cfg.model.neck.out_channels = det_cfg.model.bbox_head.in_channels
        else:
            det_cfg.model.backbone.width_mult = width
        det = MODELS.build(det_cfg.model).eval()
        assert tuple(det.backbone.out_channels[i] for i in (4, 7)) == neck_in
        with torch.no_grad():
            cls_scores, _ = det._forward(torch.randn(1, 3, 320, 320))
        assert [s.shape[-1] for s in cls_scores] == [20, 10, 5, 3, 2, 1]


@pytest.mark.slow
def test_resume_across_the_warmup_is_exact(tiny_imagenet, tmp_path):
    """Resumed after epoch 1 (in the warm-up, with indicator dropout): epoch 3 bit-identical."""
    cfg = config_file(tiny_imagenet, tmp_path)
    run_search(cfg, tmp_path / 'full')
    (tmp_path / 'resumed').mkdir()
    shutil.copy(tmp_path / 'full/epoch_1.pth', tmp_path / 'resumed/epoch_1.pth')
    run_search(cfg, tmp_path / 'resumed', '--resume', tmp_path / 'resumed/epoch_1.pth')
    assert_same_search(tmp_path / 'full', tmp_path / 'resumed', 'epoch_3.pth', result='architecture.json')


@pytest.mark.slow
def test_two_process_search_ranks_agree_and_share_one_latency_table(tiny_imagenet, tmp_path):
    from tests.conftest import free_port
    cfg = config_file(tiny_imagenet, tmp_path, f"""
model['space']['cost'].update(metric='latency', latency_table='{tmp_path / 'latency.json'}')
train_cfg['max_epochs'] = 3
""")
    env = dict(os.environ, PYTHON=sys.executable, PORT=str(free_port()), OMP_NUM_THREADS='1')
    proc = subprocess.run(['bash', 'tools/dist_search.sh', str(cfg), '2', '--work-dir',
                           str(tmp_path / 'work')], cwd=ROOT, capture_output=True, text=True,
                          timeout=600, env=env)
    assert proc.returncode == 0, proc.stderr[-8000:]
    log = next((tmp_path / 'work').glob('*/*.log')).read_text()
    assert 'Distributed training: True' in log
    assert log.count('architecture parameters are identical on all 2 ranks') == 3
    table = json.loads((tmp_path / 'latency.json').read_text())
    # every piece timed once (same-shaped layers share an entry), by rank 0
    from nas_backbones.spaces.singlepath import make_layout
    from nas_backbones.spaces.singlepath.cost import pieces
    variants, fixed = pieces(make_layout(width_mult=0.25), (32, 32), 10)
    keys = {k for layer in variants for k, _, _ in layer} | {k for k, _, _ in fixed}
    assert set(table['entries']) == keys and len(keys) == 36
    history = json.loads((tmp_path / 'work/search_history.json').read_text())['history']
    assert history[-1]['runtime_unit'] == 'ms'
    assert Architecture.load(tmp_path / 'work/architecture.json').to_dict() == history[-1]['architecture']
