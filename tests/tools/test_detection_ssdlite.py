"""SSDLite with the Single-Path NAS and the PC-DARTS backbones: each trains a couple of iterations
on coco128 (tiny input), is validated by CocoMetric, and is tested again from its checkpoint."""

import pytest

from tests.conftest import ROOT, coco_map, coco_subset, run_script, trained_epochs

pytestmark = pytest.mark.slow


@pytest.mark.parametrize('config', ['configs/ssdlite_spnas_coco128.py',
                                    'configs/ssdlite_pcdarts_coco128.py'])
def test_ssdlite_trains_and_tests_on_coco128(config, coco128, tmp_path):
    ann = tmp_path / 'instances_subset.json'
    coco_subset(coco128 / 'annotations' / 'instances_train2017.json', ann, 8)
    cfg = tmp_path / 'ssdlite.py'
    cfg.write_text(f"""
_base_ = {str(ROOT / config)!r}
size = 129  # tiny and odd: the backbones take any size
train_pipeline = [dict(type='LoadImageFromFile'), dict(type='LoadAnnotations', with_bbox=True),
                  dict(type='Resize', scale=(size, size), keep_ratio=False),
                  dict(type='PackDetInputs')]
test_pipeline = [dict(type='LoadImageFromFile'), dict(type='Resize', scale=(size, size), keep_ratio=False),
                 dict(type='LoadAnnotations', with_bbox=True),
                 dict(type='PackDetInputs', meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                                                       'scale_factor'))]
data = dict(data_root={f'{coco128}/'!r}, ann_file={str(ann)!r}, data_prefix=dict(img='train2017/'))
train_dataloader = dict(batch_size=4, dataset=dict(dataset=dict(pipeline=train_pipeline, **data)))
val_dataloader = dict(batch_size=4, dataset=dict(pipeline=test_pipeline, **data))
test_dataloader = val_dataloader
val_evaluator = dict(ann_file={str(ann)!r})
test_evaluator = val_evaluator
model = dict(test_cfg=dict(score_thr=0.0, nms_pre=100, max_per_img=10))
train_cfg = dict(max_epochs=1, val_interval=1)
param_scheduler = []
default_hooks = dict(logger=dict(interval=1), checkpoint=dict(interval=1))
""")
    work = tmp_path / 'work'
    log = run_script(['tools/train.py', cfg, '--work-dir', work])
    assert trained_epochs(log) == [1] and (work / 'epoch_1.pth').is_file()
    trained = coco_map(log)
    log = run_script(['tools/test.py', cfg, work / 'epoch_1.pth', '--work-dir', tmp_path / 'test'])
    assert coco_map(log) == trained
