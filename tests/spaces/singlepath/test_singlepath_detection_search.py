"""Single-Path NAS on a detector's loss: the searchable trunk as SSDLite's backbone (stages numbered as
the derived network's, the warm-up's indicator dropout and lambda, one optimizer over weights and
thresholds), and configs/search/spnas_ssdlite_coco128.py end to end on coco128: an
architecture.json that builds configs/ssdlite_spnas_coco128.py, and an exact resume after a kill."""
import json

import pytest
import torch
from mmengine.config import Config

import nas_backbones  # noqa: F401
import nas_backbones.datasets.coco  # noqa: F401  SearchCocoDataset
from nas_backbones.core import DifferentiableSearch
from nas_backbones.core.optim import SearchOptimWrapperConstructor
from nas_backbones.spaces.singlepath import (
    Architecture,
    SinglePathBackbone,
    SinglePathSearchBackbone,
    load_architecture,
)
from tests.conftest import (
    NO_REPORT,
    ROOT,
    SSD_TEST_CFG,
    SSD_TRAIN_CFG,
    assert_same_search,
    coco128_search_config,
    coco128_split,
    det_batch,
    kill_then_resume,
    log_text,
    run_full_search,
)

TINY = [dict(channels=8, repeats=1, stride=1, searchable=False, kernel=3, expansion=1, residual=False),
        dict(channels=16, repeats=2, stride=2),
        dict(channels=24, repeats=2, stride=2)]
TRUNK = dict(blocks=TINY, stem_channels=8, head_channels=32)


def tiny_ssdlite(out_indices=(2, 3)) -> dict:
    """SSDLite's neck and head (depthwise) on a 3-block trunk at 64 px (stages 2 and 3: stride 8)."""
    bb = SinglePathSearchBackbone(**TRUNK, out_indices=out_indices)
    in_channels = tuple(bb.out_channels[i] for i in out_indices)
    out_channels = in_channels + (16,)
    return dict(
        type='SingleStageDetector',
        backbone=dict(type='SinglePathSearchBackbone', **TRUNK, out_indices=out_indices),
        neck=dict(type='SSDNeck', in_channels=in_channels, out_channels=out_channels,
                  level_strides=(2,), level_paddings=(1,), l2_norm_scale=None, use_depthwise=True,
                  norm_cfg=dict(type='BN'), act_cfg=dict(type='ReLU6')),
        bbox_head=dict(
            type='SSDHead', in_channels=out_channels, num_classes=3, use_depthwise=True,
            norm_cfg=dict(type='BN'), act_cfg=dict(type='ReLU6'),
            anchor_generator=dict(type='SSDAnchorGenerator', scale_major=False, input_size=64,
                                  strides=[8, 8, 16], ratios=[[2], [2], [2]],
                                  min_sizes=[8, 20, 36], max_sizes=[20, 36, 64]),
            bbox_coder=dict(type='DeltaXYWHBBoxCoder', target_means=[.0] * 4,
                            target_stds=[0.1, 0.1, 0.2, 0.2])),
        train_cfg=SSD_TRAIN_CFG, test_cfg=SSD_TEST_CFG)


def sp_search(arch=None, cost=dict(metric='flops', input_size=64)) -> DifferentiableSearch:
    torch.manual_seed(0)
    return DifferentiableSearch(space=dict(type='DetectorSearchSpace', detector=tiny_ssdlite(),
                                           arch=arch, cost=cost))


def test_stages_are_numbered_as_the_derived_backbone_numbers_them():
    algo = sp_search()
    space = algo.space
    bb = space.backbone
    derived = SinglePathBackbone(arch=space.derive(), out_indices=(0, 1, 2, 3))
    assert bb.out_channels == derived.out_channels and bb.strides == derived.strides
    x = torch.randn(2, 3, 45, 45)  # odd: a stride-2 layer rounds up in both
    with bb.arch_weights_as(bb.arch_weights(space.arch)):
        every = bb.forward_stages(x, space.arch(), None, True)
        tapped = bb(x)
    assert [f.shape for f in every] == [f.shape for f in derived.forward_stages(x)]
    assert [f.shape for f in tapped] == [every[2].shape, every[3].shape]
    assert torch.equal(tapped[1], every[3])


def test_a_forward_outside_the_space_says_what_to_build_instead():
    bb = SinglePathSearchBackbone(**TRUNK, out_indices=(2, 3))
    with pytest.raises(RuntimeError, match='DetectorSearchSpace'):
        bb(torch.zeros(1, 3, 32, 32))
    with pytest.raises(ValueError, match=r'out_indices: stage 4 does not exist \(0..3'):
        SinglePathSearchBackbone(**TRUNK, out_indices=(2, 4))
    with pytest.raises(ValueError, match='model.space.arch: keep_prob'):
        bb.build_arch(keep_prob=0.)


def test_warmup_drops_indicators_in_training_and_turns_lambda_off():
    algo = sp_search(arch=dict(warmup_iters=2, keep_prob=0.5))
    space, bb = algo.space, algo.space.backbone
    space.train()
    space.arch.warmup_override = True
    assert bb.arch_weights(space.arch)[1] == 0.5
    assert space.cost().item() == 0.
    assert space.snapshot()['in_warmup'] and space.snapshot()['runtime_lambda'] == 0.
    space.eval()
    assert bb.arch_weights(space.arch)[1] is None  # no dropout when predicting
    space.train()
    space.arch.warmup_override = False
    assert bb.arch_weights(space.arch)[1] is None
    cost = space.resource_cost
    R = cost.expected_runtime(space.arch)
    assert space.cost().item() == pytest.approx(0.02 * 1e3 * torch.log(R).item())
    assert space.snapshot()['runtime'] == pytest.approx(R.item())


def test_one_level_step_moves_weights_and_thresholds_on_the_detection_loss():
    """One optimizer (no 'arch' entry) over the detector and the thresholds; the gradient of the
    thresholds comes from SSDLite's loss and from ln R (which alone pulls them up: cheaper)."""
    algo = sp_search(arch=dict(warmup_iters=0))
    optim = SearchOptimWrapperConstructor(dict(weights=dict(optimizer=dict(type='SGD', lr=0.1))))(algo)
    assert list(optim.keys()) == ['weights']
    space = algo.space
    t0 = space.arch.thresholds.detach().clone()
    w0 = [p.detach().clone() for p in space.model.parameters()]
    log = algo.train_step(dict(weights=det_batch(2, 64), arch=None), optim)
    assert {'loss_cls', 'loss_bbox', 'cost'} <= set(log)
    assert not torch.equal(space.arch.thresholds, t0)
    moved = sum(not torch.equal(a, b) for a, b in zip(w0, space.model.parameters()))
    assert moved > len(w0) // 2


def test_thresholds_above_the_norms_derive_skips_and_a_cheaper_trunk():
    algo = sp_search(arch=dict(warmup_iters=0))
    space = algo.space
    full, full_cost = space.derive(), space.cost().item()
    with torch.no_grad():
        space.arch.thresholds.fill_(1e6)  # every indicator off: k3e3, and a skip where allowed
    small = space.derive()
    assert isinstance(small, Architecture) and small.to_dict() != full.to_dict()
    skippable = [layer.residual for layer in space.backbone.layout.searchable]
    assert [c.skip for c in small.choices[1] + small.choices[2]] == skippable
    assert space.cost().item() < full_cost
    assert space.movement()['distance'] > space.movement()['threshold']


# ------------------------------------------------------------------- coco128, as a user runs it
CONFIG = """
_base_ = '{root}/configs/search/spnas_ssdlite_coco128.py'
width_mult = 0.25
backbone_channels = (24, 320)  # stage 4 and the head conv at width 0.25
neck_channels = backbone_channels + (64, 32, 32, 32)
model = dict(space=dict(
    arch=dict(warmup_epochs=1),
    detector=dict(backbone=dict(width_mult=width_mult),
                  neck=dict(in_channels=backbone_channels, out_channels=neck_channels),
                  bbox_head=dict(in_channels=neck_channels))))
train_dataloader = dict(batch_size=4, dataset=dict(data_root='{data}/', ann_file='{split}/train.json'))
train_cfg = dict(max_epochs=3)
param_scheduler = dict(weights=[dict(type='CosineAnnealingLR', T_max=3, eta_min=0., by_epoch=True,
                                     begin=0, end=3)])
default_hooks = dict(logger=dict(interval=1), checkpoint=dict(max_keep_ckpts=5))
custom_hooks = [dict(type='DerivationHook'), dict(type='RNGStateHook'),
                dict(type='SearchReportHook', measure_cost=False)]
"""
# Checkpoints every 3 iterations (2 per epoch): iter_3 is taken after batch 1 of epoch 2, with a
# persistent worker process whose augmentation must not depend on where the run was resumed.
MID_EPOCH = """
default_hooks['checkpoint'].update(by_epoch=False, interval=3)
train_dataloader.update(num_workers=1, persistent_workers=True)
custom_imports = dict(imports=['nas_backbones', 'nas_backbones.datasets.coco',
                               'nas_backbones.visualization.report_hook', 'kill_hook'])
custom_hooks = custom_hooks + [dict(type='KillAfterIter')]
"""


@pytest.fixture(scope='module')
def split(tmp_path_factory):
    """8 images of coco128 (tools/dataset/coco_split.py); a one-level search reads one list."""
    return coco128_split(tmp_path_factory, 'coco128_spnas')


def search_config(split, tmp_path, extra: str = ''):
    return coco128_search_config(CONFIG, split, tmp_path, extra)


@pytest.fixture(scope='module')
def full_search(split, tmp_path_factory):
    """One uninterrupted 3-epoch search (1 warm-up epoch), 2 iterations an epoch."""
    return run_full_search(search_config(split, tmp_path_factory.mktemp('full'), MID_EPOCH), timeout=600)


@pytest.mark.slow
def test_search_writes_an_architecture_that_builds_the_ssdlite_config(full_search):
    _, work, stdout = full_search
    assert f'result: {work}/architecture.json' in stdout
    arch = load_architecture(str(work / 'architecture.json'))  # validated
    assert arch.width_mult == 0.25
    history = json.loads((work / 'search_history.json').read_text())['history']
    assert [h['epoch'] for h in history] == [1, 2, 3]
    assert [h['in_warmup'] for h in history] == [True, False, False]
    assert [h['runtime_lambda'] for h in history] == [0., 0.02, 0.02]
    assert history[-1]['architecture'] == arch.to_dict()
    assert history[0]['thresholds'] != history[-1]['thresholds']  # moved on SSDLite's loss + ln R
    assert 'movement' in history[-1]
    assert (work / 'report/README.md').is_file()
    log = log_text(work)
    assert 'loss_cls' in log and 'loss_bbox' in log and 'cost' in log and 'arch_loss' not in log

    from mmdet.registry import MODELS
    cfg = Config.fromfile(str(ROOT / 'configs/ssdlite_spnas_coco128.py'))
    cfg.model.backbone.arch = str(work / 'architecture.json')
    cfg.model.backbone.width_mult = 1.0  # the neck and head expect the full widths
    ssdlite = MODELS.build(cfg.model).eval()
    assert ssdlite.backbone.arch.choices == arch.choices
    with torch.no_grad():
        feats = ssdlite.extract_feat(torch.zeros(1, 3, 320, 320))
    assert [f.shape[-1] for f in feats] == [20, 10, 5, 3, 2, 1]  # SSDLite's six maps at 320 px


@pytest.mark.slow
def test_kill_mid_epoch_then_resume_is_exact(full_search, split, tmp_path, monkeypatch):
    _, full, _ = full_search
    cfg = search_config(split, tmp_path, MID_EPOCH + NO_REPORT)  # the same search
    ckpt, log = kill_then_resume(cfg, tmp_path / 'killed', 3, monkeypatch, timeout=600)
    assert (ckpt['meta']['epoch'], ckpt['meta']['iter']) == (1, 3)  # mid-epoch 2
    assert set(ckpt['optimizer']) == {'weights'}  # one level: one optimizer
    assert 'Epoch(train) [2][2/2]' in log and 'Epoch(train) [2][1/2]' not in log
    assert_same_search(full, tmp_path / 'killed', 'iter_6.pth', result='architecture.json')
