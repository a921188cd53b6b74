"""A user's own detection data, end to end: VOC xml -> COCO json -> the SSD and SSDLite templates
train and validate on it; its object crops -> the search template searches on them. Plus the command-line tools."""
import json
import re
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
from mmengine.config import Config

import nas_backbones  # noqa: F401
from nas_backbones.engine.runner import NASRunner
from tests.conftest import ROOT, edit_template

PY = sys.executable
CLASSES = ('blob', 'rod')

# image stem -> (width, height, [(class, xmin, ymin, xmax, ymax, difficult)]), VOC 1-based corners
VOC = {
    'a': (96, 80, [('blob', 11, 21, 40, 50, 0), ('rod', 51, 6, 90, 25, 0)]),
    'b': (96, 80, [('rod', 1, 1, 30, 12, 0), ('blob', 61, 41, 96, 80, 1)]),
    'c': (96, 80, [('blob', 31, 31, 70, 70, 0), ('rod', 80, 60, 110, 79, 0)]),  # rod: past the right edge
    'd': (96, 80, [('blob', 5, 5, 44, 44, 0)]),
}


def write_voc(root: Path) -> Path:
    (root / 'Annotations').mkdir(parents=True)
    (root / 'JPEGImages').mkdir()
    (root / 'ImageSets').mkdir()
    rng = np.random.default_rng(0)
    for stem, (w, h, objects) in VOC.items():
        img = rng.integers(0, 60, (h, w, 3), dtype=np.uint8)
        xml = [f'<annotation><filename>{stem}.png</filename>',
               f'<size><width>{w}</width><height>{h}</height><depth>3</depth></size>']
        for name, x0, y0, x1, y1, difficult in objects:
            img[y0 - 1:y1, x0 - 1:x1] = (200, 80, 40) if name == 'blob' else (40, 200, 200)
            xml.append(f'<object><name>{name}</name><difficult>{difficult}</difficult><bndbox>'
                       f'<xmin>{x0}</xmin><ymin>{y0}</ymin><xmax>{x1}</xmax><ymax>{y1}</ymax>'
                       '</bndbox></object>')
        cv2.imwrite(str(root / 'JPEGImages' / f'{stem}.png'), img)
        (root / 'Annotations' / f'{stem}.xml').write_text(''.join(xml) + '</annotation>')
    for split, stems in (('train', 'abc'), ('val', 'd'), ('test', 'd')):
        (root / 'ImageSets' / f'{split}.txt').write_text('\n'.join(stems) + '\n')
    return root


def tool(*args: str, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([PY, *args], cwd=ROOT, capture_output=True, text=True, timeout=300,
                          env=kw.get('env'))


def convert(voc: Path, out: Path, split: str, *extra: str) -> subprocess.CompletedProcess:
    return tool('tools/dataset/voc_to_coco.py', str(voc / 'Annotations'), '--ids',
                str(voc / 'ImageSets' / f'{split}.txt'), '--img-dir', str(voc / 'JPEGImages'),
                '--out', str(out / 'annotations' / f'{split}.json'), *extra)


@pytest.fixture(scope='module')
def own_data(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp('own')
    voc = write_voc(root / 'voc')
    for split in ('train', 'val', 'test'):
        proc = convert(voc, root / 'coco', split)
        assert proc.returncode == 0, proc.stderr
    return root


# ------------------------------------------------------------------ VOC -> COCO
def test_voc_to_coco_converts_boxes_classes_and_difficult(own_data):
    train = json.loads((own_data / 'coco/annotations/train.json').read_text())
    assert [c['name'] for c in train['categories']] == list(CLASSES)  # sorted, from every xml
    assert [c['id'] for c in train['categories']] == [1, 2]
    assert [i['file_name'] for i in train['images']] == ['a.png', 'b.png', 'c.png']
    first = train['annotations'][0]
    assert first['bbox'] == [10, 20, 30, 30] and first['category_id'] == 1  # xmin 11..40 -> x 10, w 30
    assert [a['iscrowd'] for a in train['annotations']] == [0, 0, 0, 1, 0, 0]  # b's blob is difficult
    val = json.loads((own_data / 'coco/annotations/val.json').read_text())
    assert val['categories'] == train['categories']  # the splits agree on the ids


def test_voc_to_coco_errors_name_the_file(own_data, tmp_path):
    voc = own_data / 'voc'
    proc = convert(voc, tmp_path, 'train', '--classes', 'blob')
    assert proc.returncode == 2
    assert "a.xml: object 2 is a 'rod', which --classes does not name (blob)" in proc.stderr
    (tmp_path / 'imgs').mkdir()
    proc = tool('tools/dataset/voc_to_coco.py', str(voc / 'Annotations'), '--img-dir',
                str(tmp_path / 'imgs'), '--out', str(tmp_path / 'x.json'))
    assert proc.returncode == 2 and 'a.xml: its image (a.png) is not in' in proc.stderr
    assert not (tmp_path / 'x.json').exists()


def voc_tool():
    import importlib.util
    spec = importlib.util.spec_from_file_location('voc_to_coco_tool', ROOT / 'tools/dataset/voc_to_coco.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_voc_box_at_pixel_0_of_a_1_based_file_is_clipped_and_said(tmp_path, capsys):
    """A corner of 0 in a 1-based file used to give a box at x=-1 in the COCO file, without a word."""
    (tmp_path / 'ann').mkdir()
    (tmp_path / 'ann' / 'a.xml').write_text(
        '<annotation><filename>a.png</filename><size><width>50</width><height>40</height></size>'
        '<object><name>blob</name><bndbox><xmin>0</xmin><ymin>3</ymin><xmax>20</xmax><ymax>30</ymax>'
        '</bndbox></object></annotation>')
    assert voc_tool().main([str(tmp_path / 'ann'), '--out', str(tmp_path / 'a.json')]) == 0
    [box] = [a['bbox'] for a in json.loads((tmp_path / 'a.json').read_text())['annotations']]
    assert box == [0, 2, 20, 28]  # x -1..19 clipped to 0..19
    err = capsys.readouterr().err
    assert ('warning: 1 box(es) start left of or above their image and were clipped to it, e.g. '
            f"{tmp_path / 'ann' / 'a.xml'}: object 1 with corners [0.0, 3.0, 20.0, 30.0]") in err
    assert 'convert with --zero-based' in err


def test_voc_classes_file_that_does_not_exist_is_not_taken_for_a_class(own_data, tmp_path, capsys):
    voc = own_data / 'voc'
    assert voc_tool().main([str(voc / 'Annotations'), '--out', str(tmp_path / 'x.json'),
                            '--classes', str(tmp_path / 'classes.txt')]) == 2
    assert f"--classes {tmp_path / 'classes.txt'}: file not found" in capsys.readouterr().err
    assert not (tmp_path / 'x.json').exists()


# -------------------------------------------------------- the SSD template trains
def test_ssd_template_trains_and_validates_on_the_converted_data(own_data, tmp_path):
    cfg_path = edit_template('configs/templates/ssd_own_coco.py', tmp_path / 'ssd_mine.py',
                             data_root=repr(f'{own_data}/'), classes=repr(CLASSES),
                             train_ann__train_images="'coco/annotations/train.json', 'voc/JPEGImages/'",
                             val_ann__val_images="'coco/annotations/val.json', 'voc/JPEGImages/'",
                             test_ann__test_images="'coco/annotations/test.json', 'voc/JPEGImages/'",
                             C__layers='8, 5', batch_size=2, max_epochs=1)
    cfg = Config.fromfile(str(cfg_path))
    for loader in (cfg.train_dataloader, cfg.val_dataloader, cfg.test_dataloader):
        loader.num_workers = 0
    cfg.work_dir = str(tmp_path / 'work')
    assert cfg.model.bbox_head.num_classes == 2 and cfg.model.neck.in_channels == (32, 64, 128)
    runner = NASRunner.from_cfg(cfg)
    runner.train()
    log = Path(runner.logger.handlers[-1].baseFilename).read_text()
    assert 'coco/bbox_mAP:' in log  # validated with CocoMetric on the converted val.json
    # c's rod extends past its image: clipped, and said once
    assert log.count('extend past their image') == 1
    assert 'train.json: 1 box(es) extend past their image and were clipped to it' in log


def test_ssdlite_template_names_the_channels_of_another_width_and_then_trains(own_data, tmp_path):
    def edited(channels: str) -> Config:
        path = edit_template('configs/templates/ssdlite_own_coco.py', tmp_path / 'ssdlite_mine.py',
                             data_root=repr(f'{own_data}/'), classes=repr(CLASSES),
                             train_ann__train_images="'coco/annotations/train.json', 'voc/JPEGImages/'",
                             val_ann__val_images="'coco/annotations/val.json', 'voc/JPEGImages/'",
                             test_ann__test_images="'coco/annotations/test.json', 'voc/JPEGImages/'",
                             width_mult=0.5, backbone_channels=channels, batch_size=2, max_epochs=1,
                             val_interval=1)
        cfg = Config.fromfile(str(path))
        for loader in (cfg.train_dataloader, cfg.val_dataloader, cfg.test_dataloader):
            loader.num_workers = 0
        cfg.work_dir = str(tmp_path / 'work')
        return cfg

    with pytest.raises(ValueError) as error:  # width 0.5 with the width-1 channels
        NASRunner.from_cfg(edited('(96, 1280)'))
    said = re.search(r'Set model\.neck\.in_channels=\[(\d+), (\d+)\]', str(error.value))
    assert said, str(error.value)
    cfg = edited(f'({said[1]}, {said[2]})')  # what the message says to set
    assert cfg.model.bbox_head.num_classes == 2
    assert cfg.train_dataloader.dataset.type == 'CheckedCocoDataset'
    assert cfg.train_dataloader.dataset.pipeline[4].scale == (320, 320)  # the base's SSDLite pipeline
    # 3 training images in batches of 2: without drop_last the last batch of one fails in the neck's BN
    runner = NASRunner.from_cfg(cfg)
    runner.train()
    log = Path(runner.logger.handlers[-1].baseFilename).read_text()
    assert 'coco/bbox_mAP:' in log


# ------------------------------------------------------------- crops and search
def test_export_crops_tool_and_the_search_template(own_data, tmp_path):
    crops = tmp_path / 'crops'
    proc = tool('tools/dataset/export_crops.py', str(own_data / 'coco/annotations/train.json'),
                str(own_data / 'voc/JPEGImages'), str(crops), '--size', '64', '--min-box', '4')
    assert proc.returncode == 0, proc.stderr
    assert 'blob: 2 crops' in proc.stdout and 'rod: 3 crops' in proc.stdout  # the difficult blob is crowd
    assert '[>>' not in proc.stdout and '[>>' not in proc.stderr  # no progress bar into a pipe
    said = proc.stdout + proc.stderr
    assert said.count('extend past their image') == 1
    assert '1 box(es) extend past their image and were clipped to it, 0 lie entirely outside' in said
    assert 'annotation 6: bbox [79.0, 59.0, 31.0, 20.0] in c.png (96x80)' in said
    proc = tool('tools/dataset/export_crops.py', str(own_data / 'coco/annotations/train.json'),
                str(own_data / 'voc/JPEGImages'), str(tmp_path / 'refused'), '--out-of-image', 'error')
    assert proc.returncode == 2
    assert 'annotation 6: bbox [79.0, 59.0, 31.0, 20.0] extends past its image' in proc.stderr

    splits = tmp_path / 'splits'
    proc = tool('tools/dataset/imagenet_subset.py', str(crops), '--out', str(splits),
                '--train-frac', '0.5', '--val-frac', '0.5', '--seed', '0')
    assert proc.returncode == 0, proc.stderr
    cfg_path = edit_template('configs/templates/search_own_images.py', tmp_path / 'search_mine.py',
                             image_root=repr(f'{crops}/'), split_dir=repr(f'{splits}/'), num_classes=2,
                             crop_size=64, batch_size=2, max_epochs=2, arch_warmup_epochs=1,
                             C__layers='4, 3')
    cfg = Config.fromfile(str(cfg_path))
    assert cfg.param_scheduler.weights[0].T_max == 2  # derived in the template, not the base's 4
    assert cfg.train_cfg.arch_dataloader.dataset.ann_file == f'{splits}/val.txt'
    assert cfg.train_dataloader.dataset.pipeline[1].size == 64
    cfg.custom_hooks = [h for h in cfg.custom_hooks if h.type != 'SearchReportHook']  # plots: elsewhere
    cfg.work_dir = str(tmp_path / 'search')
    runner = NASRunner.from_cfg(cfg)
    runner.train()
    assert (tmp_path / 'search' / 'genotype.json').is_file()
