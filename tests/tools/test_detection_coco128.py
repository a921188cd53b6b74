"""End to end on real data: SSD with the PC-DARTS backbone trains on coco128, is evaluated by
CocoMetric, is tested again from its checkpoint with the same predictions and mAP, and resumes.
Also: MMDetection's own tools/train.py and tools/test.py run a config that inherits ours."""
import os
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

import nas_backbones  # noqa: F401
from nas_backbones.compat import checkpoint_loading
from nas_backbones.datasets.synthetic_coco import make_synthetic_coco
from tests.conftest import ROOT, coco_map, coco_subset, free_port, run_script, trained_epochs

DEMO = ROOT / 'configs' / 'ssd_pcdarts_demo.py'
NUM_IMAGES = 8

pytestmark = pytest.mark.slow


def predictions(path: Path) -> dict:
    with open(path, 'rb') as f:
        results = pickle.load(f)
    return {r['img_id']: r['pred_instances'] for r in results}


def test_coco128_train_eval_test_resume(coco128, tmp_path):
    ann = tmp_path / 'instances_subset.json'
    coco_subset(coco128 / 'annotations' / 'instances_train2017.json', ann, NUM_IMAGES)
    val_dump = tmp_path / 'val_preds.pkl'
    data = dict(data_root=f'{coco128}/', metainfo=None, ann_file=str(ann),
                data_prefix=dict(img='train2017/'))
    cfg = tmp_path / 'ssd_coco128.py'
    cfg.write_text(f"""
_base_ = {str(DEMO)!r}
model = dict(bbox_head=dict(num_classes=80),
             # every image gets boxes, so the comparison below is not between empty lists
             test_cfg=dict(score_thr=0.0, nms_pre=200, max_per_img=20))
train_dataloader = dict(batch_size=4, dataset=dict(**{data!r}))
val_dataloader = dict(batch_size=4, dataset=dict(**{data!r}))
test_dataloader = val_dataloader
val_evaluator = [dict(type='CocoMetric', ann_file={str(ann)!r}, metric='bbox'),
                 dict(type='DumpDetResults', out_file_path={str(val_dump)!r})]
test_evaluator = dict(_delete_=True, type='CocoMetric', ann_file={str(ann)!r}, metric='bbox')
train_cfg = dict(max_epochs=2, val_interval=2)
param_scheduler = [dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=4)]
default_hooks = dict(logger=dict(interval=2), checkpoint=dict(interval=1, max_keep_ckpts=3))
""")
    work = tmp_path / 'work'

    # train 2 epochs of 2 iterations, validate at the end
    log = run_script(['tools/train.py', cfg, '--work-dir', work])
    trained_map = coco_map(log)
    assert (work / 'epoch_1.pth').is_file() and (work / 'epoch_2.pth').is_file()
    assert trained_epochs(log) == [1, 2]

    # test the checkpoint: same predictions, same mAP
    test_dump = tmp_path / 'test_preds.pkl'
    log = run_script(['tools/test.py', cfg, work / 'epoch_2.pth', '--work-dir', tmp_path / 'test',
                      '--out', test_dump])
    assert coco_map(log) == trained_map
    val_preds, test_preds = predictions(val_dump), predictions(test_dump)
    assert len(val_preds) == NUM_IMAGES and val_preds.keys() == test_preds.keys()
    for img_id, val in val_preds.items():
        test = test_preds[img_id]
        assert len(val['bboxes']) > 0
        for key in ('bboxes', 'scores', 'labels'):
            torch.testing.assert_close(test[key], val[key], msg=f'image {img_id} {key}')

    # the same test in two processes (tools/dist_test.sh on the CPU, gloo): the same predictions
    dist_dump = tmp_path / 'dist_preds.pkl'
    env = dict(os.environ, PYTHON=sys.executable, PORT=str(free_port()), OMP_NUM_THREADS='1')
    proc = subprocess.run(['bash', 'tools/dist_test.sh', str(cfg), str(work / 'epoch_2.pth'), '2',
                           '--work-dir', str(tmp_path / 'dist_test'), '--out', str(dist_dump)],
                          cwd=ROOT, capture_output=True, text=True, timeout=300, env=env)
    assert proc.returncode == 0, proc.stderr[-4000:]
    dist_log = next((tmp_path / 'dist_test').glob('*/*.log')).read_text()
    assert 'Distributed training: True' in dist_log and 'GPU number: 2' in dist_log  # 2 ranks
    assert coco_map(dist_log) == trained_map
    dist_preds = predictions(dist_dump)  # gathered from both ranks
    assert dist_preds.keys() == val_preds.keys()
    for img_id, val in val_preds.items():
        for key in ('bboxes', 'scores', 'labels'):
            torch.testing.assert_close(dist_preds[img_id][key], val[key], msg=f'image {img_id} {key}')

    # resume from epoch 1: only epoch 2 is trained again, with the optimizer state restored
    log = run_script(['tools/train.py', cfg, '--work-dir', work, '--resume', work / 'epoch_1.pth'])
    assert 'resumed epoch: 1' in log
    assert trained_epochs(log) == [2]
    with checkpoint_loading():
        ckpt = torch.load(work / 'epoch_2.pth')  # weights-only, as torch 2.13 defaults to
    assert ckpt['meta']['epoch'] == 2 and ckpt['meta']['iter'] == 4
    assert len(coco_map(log)) == 6


def mmdet_tool(name: str) -> Path:
    import mmdet
    path = Path(mmdet.__file__).parent / '.mim' / 'tools' / name
    if not path.is_file():
        pytest.skip(f'mmdet ships no {path}')
    return path


def test_mmdet_own_tools_with_inheriting_config(tmp_path):
    """No nas_backbones import but the config's custom_imports: registrations and fixes still apply."""
    data_root = tmp_path / 'shapes'
    make_synthetic_coco(str(data_root), num_train=8, num_val=4, seed=3)
    cfg = tmp_path / 'user_config.py'
    cfg.write_text(f"""
_base_ = {str(DEMO)!r}
custom_imports = dict(imports=['nas_backbones'], allow_failed_imports=False)
data_root = {f'{data_root}/'!r}
train_dataloader = dict(batch_size=4, dataset=dict(data_root=data_root))
val_dataloader = dict(batch_size=4, dataset=dict(data_root=data_root))
test_dataloader = val_dataloader
val_evaluator = dict(ann_file=data_root + 'annotations/instances_val.json')
test_evaluator = val_evaluator
train_cfg = dict(max_epochs=1, val_interval=1)
param_scheduler = []
default_hooks = dict(logger=dict(interval=1), checkpoint=dict(interval=1))
""")
    work = tmp_path / 'work'
    log = run_script([mmdet_tool('train.py'), cfg, '--work-dir', work], cwd=tmp_path)
    assert trained_epochs(log) == [1]
    assert len(coco_map(log)) == 6  # SSD validation ran (the SSDHead fix)
    log = run_script([mmdet_tool('test.py'), cfg, work / 'epoch_1.pth', '--work-dir', tmp_path / 'test'],
                     cwd=tmp_path)  # loads the checkpoint weights-only
    assert len(coco_map(log)) == 6
    assert np.isfinite(coco_map(log)).all()
