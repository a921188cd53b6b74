"""The generated shapes dataset: valid COCO, deterministic, and what the demo config expects."""
import json
import runpy
import sys
from pathlib import Path

import cv2
import numpy as np
from mmengine.config import Config
from pycocotools.coco import COCO

from nas_backbones.datasets.synthetic_coco import CLASSES, make_split, make_synthetic_coco
from tests.conftest import ROOT


def files(root: Path) -> dict:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob('*')) if p.is_file()}


def test_valid_coco(tmp_path):
    paths = make_synthetic_coco(str(tmp_path), num_train=6, num_val=3, seed=5)
    for split, n in (('train', 6), ('val', 3)):
        data = json.loads(Path(paths[split]).read_text())
        assert {'info', 'images', 'annotations', 'categories'} <= set(data)
        assert [c['name'] for c in data['categories']] == list(CLASSES)
        coco = COCO(paths[split])  # pycocotools, as CocoMetric reads it
        assert len(coco.getImgIds()) == n and len(coco.getAnnIds()) >= n  # at least one object each
        ann_ids = [a['id'] for a in data['annotations']]
        assert min(ann_ids) >= 1 and len(set(ann_ids)) == len(ann_ids)
        for img in data['images']:
            pixels = cv2.imread(str(tmp_path / split / img['file_name']))
            assert pixels.shape[:2] == (img['height'], img['width'])
        for ann in data['annotations']:
            img = coco.imgs[ann['image_id']]
            x, y, w, h = ann['bbox']
            assert x >= 0 and y >= 0 and w > 0 and h > 0
            assert x + w <= img['width'] and y + h <= img['height']
            assert 0 < ann['area'] <= w * h and ann['iscrowd'] == 0
    assert not list(tmp_path.rglob('*.tmp'))  # atomic writes leave no temporaries


def test_deterministic_and_stable_prefix(tmp_path):
    make_synthetic_coco(str(tmp_path / 'a'), num_train=4, num_val=2, seed=1)
    make_synthetic_coco(str(tmp_path / 'b'), num_train=4, num_val=2, seed=1)
    assert files(tmp_path / 'a') == files(tmp_path / 'b')
    make_synthetic_coco(str(tmp_path / 'c'), num_train=4, num_val=2, seed=2)
    assert files(tmp_path / 'c')['train/000000.jpg'] != files(tmp_path / 'a')['train/000000.jpg']
    # more images: the first ones are unchanged
    make_split(str(tmp_path / 'd'), 'train', 6, seed=1)
    more = files(tmp_path / 'd')
    assert all(more[f'train/{i:06d}.jpg'] == files(tmp_path / 'a')[f'train/{i:06d}.jpg'] for i in range(4))


def test_tool_writes_what_the_demo_config_reads(tmp_path, monkeypatch):
    out = tmp_path / 'synthetic_coco'
    monkeypatch.setattr(sys, 'argv', ['make_synthetic_coco.py', str(out), '--num-train', '2',
                                      '--num-val', '2'])
    runpy.run_path(str(ROOT / 'tools' / 'dataset' / 'make_synthetic_coco.py'), run_name='__main__')
    cfg = Config.fromfile(str(ROOT / 'configs' / 'ssd_pcdarts_demo.py'))
    for loader in (cfg.train_dataloader, cfg.val_dataloader):
        ds = loader.dataset
        assert tuple(ds.metainfo['classes']) == CLASSES
        assert ds.data_root == 'data/synthetic_coco/'
        assert (out / ds.ann_file).is_file() and (out / ds.data_prefix['img']).is_dir()
    assert cfg.val_evaluator.ann_file == cfg.val_dataloader.dataset.data_root + cfg.val_dataloader.dataset.ann_file
    assert cfg.model.bbox_head.num_classes == len(CLASSES)
    colours = np.array(cfg.metainfo['palette'])
    assert colours.shape == (len(CLASSES), 3)
