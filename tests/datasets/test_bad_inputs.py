"""Bad input gets a clear error naming what is at fault, or a logged skip where that is what users want."""
import cv2
import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.logging import MMLogger
from mmengine.registry import init_default_scope

import nas_backbones  # noqa: F401
from nas_backbones.core import DifferentiableSearch
from nas_backbones.core.optim import SearchOptimWrapperConstructor
from nas_backbones.datasets import ImageNetDataset
from nas_backbones.datasets.loading import LoadImageOrSkip
from tests.conftest import ROOT, darts_search


def write_images(root):
    """One class folder with every kind of image a user's data set may hold."""
    folder = root / 'cls0'
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    good = rng.integers(0, 255, (24, 24, 3), dtype=np.uint8)
    cv2.imwrite(str(folder / 'good.png'), good)
    ok, jpg = cv2.imencode('.jpg', good)
    (folder / 'truncated.jpg').write_bytes(jpg.tobytes()[:len(jpg) // 2])
    (folder / 'empty.jpg').write_bytes(b'')
    (folder / 'garbage.jpg').write_bytes(b'this is not an image' * 10)
    cv2.imwrite(str(folder / 'gray.png'), good[..., 0])
    from PIL import Image  # Pillow comes with mmcv/mmdet; it writes the CMYK and palette files
    Image.fromarray(good).convert('CMYK').save(folder / 'cmyk.jpg')
    Image.fromarray(good).convert('P').save(folder / 'palette.png')
    return folder


@pytest.mark.parametrize('name', ['good.png', 'gray.png', 'cmyk.jpg', 'palette.png'])
def test_decodable_images_come_out_as_3_channel(tmp_path, name):
    folder = write_images(tmp_path)
    out = LoadImageOrSkip()(dict(img_path=str(folder / name)))
    assert out['img'].ndim == 3 and out['img'].shape[2] == 3


@pytest.mark.parametrize('name', ['empty.jpg', 'garbage.jpg', 'truncated.jpg', 'missing.jpg'])
def test_unreadable_image_is_named(tmp_path, name):
    folder = write_images(tmp_path)
    with pytest.raises(ValueError, match=f'cannot load image .*{name}'):
        LoadImageOrSkip()(dict(img_path=str(folder / name)))


def test_skip_mode_logs_and_the_dataset_draws_another_sample(tmp_path):
    write_images(tmp_path)
    init_default_scope('mmdet')  # as default_scope='mmdet' in every config
    ds = ImageNetDataset(data_prefix=str(tmp_path), pipeline=[
        dict(type='LoadImageOrSkip', on_error='skip'), dict(type='PackClsInputs')])
    bad = next(i for i in range(len(ds)) if ds.get_data_info(i)['img_path'].endswith('garbage.jpg'))
    MMLogger.get_instance('test_bad_inputs')
    sample = ds[bad]
    assert sample['inputs'].shape[0] == 3
    assert not sample['data_samples'].img_path.endswith('garbage.jpg')


def test_loader_rejects_unknown_mode():
    with pytest.raises(ValueError, match="on_error must be 'raise' or 'skip', got 'ignore'"):
        LoadImageOrSkip(on_error='ignore')


def test_search_config_values_are_checked():
    cfg = Config.fromfile(str(ROOT / 'configs/search/pcdarts_tiny_imagenet.py'))
    with pytest.raises(ValueError, match='partial_k=3 does not divide the 8 channels'):
        space = cfg.model.space.to_dict()
        space['model']['backbone']['partial_k'] = 3
        DifferentiableSearch(space=space)
    with pytest.raises(KeyError, match='unknown entries \\[.weigths.\\]'):
        wrappers = {k: v for k, v in cfg.optim_wrapper.items() if k != 'constructor'}
        SearchOptimWrapperConstructor(dict(wrappers, weigths=dict()))


def test_nan_loss_stops_the_search_with_where_and_when():
    from mmengine.logging import MessageHub

    from tests.conftest import SEARCH_OPTIM, image_batch
    torch.manual_seed(0)
    algo = darts_search(supernet=dict(type='PCDartsSupernet', num_classes=4, C=8, layers=3, stem='cifar'))
    optim = SearchOptimWrapperConstructor(SEARCH_OPTIM)(algo)
    hub = MessageHub.get_current_instance()
    hub.update_info('epoch', 4)
    hub.update_info('iter', 41)
    bad = image_batch(1)
    bad['inputs'][0, 0, 0, 0] = float('nan')
    before = {k: v.clone() for k, v in algo.state_dict().items()}
    with pytest.raises(FloatingPointError, match='weight loss is nan at epoch 5, iteration 42'):
        algo.train_step({'weights': bad, 'arch': None}, optim)
    for k, v in algo.state_dict().items():  # nothing was updated with it
        if v.is_floating_point() and 'running' not in k:
            assert torch.equal(v, before[k]), k


def coco_files(tmp_path):
    import json
    (tmp_path / 'img').mkdir()
    for name in ('a.jpg', 'b.jpg'):
        cv2.imwrite(str(tmp_path / 'img' / name), np.zeros((50, 60, 3), np.uint8))
    ann = {'info': {}, 'categories': [{'id': 1, 'name': 'thing'}],
           'images': [{'id': 1, 'file_name': 'a.jpg', 'height': 50, 'width': 60},
                      {'id': 2, 'file_name': 'b.jpg', 'height': 50, 'width': 60}],  # b: no boxes
           'annotations': [
               {'id': 1, 'image_id': 1, 'category_id': 1, 'bbox': [10, 10, 0, 5], 'area': 0, 'iscrowd': 0},
               {'id': 2, 'image_id': 1, 'category_id': 1, 'bbox': [100, 100, 10, 10], 'area': 100,
                'iscrowd': 0},
               {'id': 3, 'image_id': 1, 'category_id': 1, 'bbox': [5, 5, 10, 10], 'area': 100, 'iscrowd': 0}]}
    write = lambda name, d: (tmp_path / name).write_text(json.dumps(d))  # noqa: E731
    write('ann.json', ann)
    (tmp_path / 'empty.json').write_text('')
    (tmp_path / 'list.json').write_text('[]')
    write('no_images.json', dict(ann, images=[], annotations=[]))
    write('no_annotations.json', dict(ann, annotations=[]))
    write('other_classes.json', dict(ann, categories=[{'id': 1, 'name': 'cell'}]))
    write('missing_image.json', dict(ann, images=ann['images'] + [
        {'id': 3, 'file_name': 'gone.jpg', 'height': 50, 'width': 60}]))
    partly = [dict(ann['annotations'][2], id=4, bbox=[50, 40, 20, 20]),   # past the right/bottom edge
              dict(ann['annotations'][2], id=5, bbox=[-5, 10, 10, 10])]   # past the left edge
    write('partly_outside.json', dict(ann, annotations=ann['annotations'] + partly))


def fresh_logger(tmp_path) -> None:
    """A new current MMLogger, whose console handler writes to the stdout capsys has replaced."""
    MMLogger.get_instance(f'test_bad_inputs_{tmp_path.name}')


def checked_coco(tmp_path, name, **kwargs):
    from nas_backbones.datasets import CheckedCocoDataset
    kwargs.setdefault('metainfo', dict(classes=('thing',)))
    return CheckedCocoDataset(ann_file=str(tmp_path / name), data_prefix=dict(img=str(tmp_path / 'img')),
                              pipeline=[], **kwargs)


@pytest.mark.parametrize('test_mode', [False, True])
def test_degenerate_boxes_are_dropped_and_boxless_images_kept_only_for_testing(tmp_path, test_mode):
    coco_files(tmp_path)
    ds = checked_coco(tmp_path, 'ann.json', test_mode=test_mode,
                      filter_cfg=None if test_mode else dict(filter_empty_gt=True))
    assert len(ds) == (2 if test_mode else 1)
    assert [i['bbox'] for i in ds.get_data_info(0)['instances']] == [[5, 5, 15, 15]]


@pytest.mark.parametrize('name,message', [
    ('empty.json', 'is not valid JSON.*empty or truncated'),
    ('list.json', 'is not a COCO file'),
    ('no_images.json', '"images" is missing or empty'),
    ('no_annotations.json', '"annotations" is empty: the 2 images have no box, so there is nothing to train on'),
    ('other_classes.json', r"none of its categories \(cell\) is one of the dataset's classes \(thing\)"),
    ('nothing.json', 'not found'),
])
def test_bad_annotation_file_is_named(tmp_path, name, message):
    coco_files(tmp_path)
    with pytest.raises((ValueError, FileNotFoundError), match=f'{name}.*{message}'):
        checked_coco(tmp_path, name)


def test_empty_annotations_are_only_a_warning_for_testing(tmp_path, capsys):
    coco_files(tmp_path)
    fresh_logger(tmp_path)
    ds = checked_coco(tmp_path, 'no_annotations.json', test_mode=True)
    assert len(ds) == 2
    assert 'no_annotations.json: "annotations" is empty' in capsys.readouterr().out


def test_missing_image_is_named_with_its_annotation_file(tmp_path):
    coco_files(tmp_path)
    with pytest.raises(FileNotFoundError, match=r'missing_image.json lists 1 image\(s\) that do not exist, '
                                                r'e.g. .*gone.jpg'):
        checked_coco(tmp_path, 'missing_image.json')


def test_boxes_partly_outside_are_clipped_and_said_once(tmp_path, capsys):
    coco_files(tmp_path)
    fresh_logger(tmp_path)
    ds = checked_coco(tmp_path, 'partly_outside.json')
    boxes = ds.get_data_info(0)['instances']
    assert [b['bbox'] for b in boxes] == [[5, 5, 15, 15], [50, 40, 60, 50], [0, 10, 5, 20]]
    out = capsys.readouterr().out
    assert out.count('extend past their image') == 1
    assert ('partly_outside.json: 2 box(es) extend past their image and were clipped to it and 1 lie '
            'entirely outside it and were dropped, e.g. annotation 2: bbox [100, 100, 10, 10] in a.jpg '
            '(60x50)') in out


def test_boxes_outside_can_be_refused(tmp_path):
    coco_files(tmp_path)
    with pytest.raises(ValueError, match=r'partly_outside.json: 3 box\(es\) extend past their image, '
                                         r'e.g. annotation 2: bbox \[100, 100, 10, 10\] in a.jpg'):
        checked_coco(tmp_path, 'partly_outside.json', out_of_image='error')
    with pytest.raises(ValueError, match="out_of_image must be 'clip' or 'error', got 'drop'"):
        checked_coco(tmp_path, 'ann.json', out_of_image='drop')


def test_training_dataloader_of_our_config_names_the_empty_annotations(tmp_path):
    """What tools/train.py builds from configs/ssd_pcdarts_demo.py, before any step."""
    from nas_backbones.engine.runner import NASRunner
    coco_files(tmp_path)
    cfg = Config.fromfile(str(ROOT / 'configs/ssd_pcdarts_demo.py'))
    loader = cfg.train_dataloader
    loader.dataset.update(data_root='', ann_file=str(tmp_path / 'no_annotations.json'),
                          data_prefix=dict(img=str(tmp_path / 'img')), metainfo=dict(classes=('thing',)))
    with pytest.raises(ValueError, match='no_annotations.json: "annotations" is empty'):
        NASRunner.build_dataloader(loader)


def test_filter_leaving_nothing_is_named(tmp_path):
    coco_files(tmp_path)
    with pytest.raises(ValueError, match='ann.json: no image is left for training after filter_cfg'):
        checked_coco(tmp_path, 'ann.json', filter_cfg=dict(filter_empty_gt=True, min_size=100))


def test_a_misspelt_class_is_named_before_training_with_the_nearest_category(tmp_path):
    """One wrong class name used to train two epochs, then end in CocoMetric's IndexError."""
    import json
    coco_files(tmp_path)
    ann = json.loads((tmp_path / 'ann.json').read_text())
    ann['categories'].append({'id': 2, 'name': 'other'})
    (tmp_path / 'two.json').write_text(json.dumps(ann))
    for test_mode in (False, True):
        with pytest.raises(ValueError, match=r"two.json: metainfo class\(es\) othr are not among its "
                                             r"categories \(thing, other\). Did you mean 'other'\?"):
            checked_coco(tmp_path, 'two.json', metainfo=dict(classes=('thing', 'othr')), test_mode=test_mode)


def test_export_crops_says_what_it_skips_and_flattens_class_names(tmp_path, capsys):
    """A box of width 0 was skipped without a word; a class 'RBC/cells' made nested folders."""
    import json

    from nas_backbones.datasets.crops import export_box_crops
    coco_files(tmp_path)
    ann = json.loads((tmp_path / 'ann.json').read_text())
    ann['categories'][0]['name'] = 'RBC/cells'
    ann['annotations'][0]['bbox'] = [10, 10, -4, 5]  # negative width
    (tmp_path / 'slash.json').write_text(json.dumps(ann))
    fresh_logger(tmp_path)
    counts = export_box_crops(str(tmp_path / 'slash.json'), str(tmp_path / 'img'), str(tmp_path / 'out'))
    assert counts == {'RBC/cells': 1}
    assert [p.name for p in (tmp_path / 'out').iterdir()] == ['RBC_cells']
    assert [p.name for p in (tmp_path / 'out' / 'RBC_cells').iterdir()] == ['1_3.png']
    out = capsys.readouterr().out
    assert ('slash.json: 1 box(es) with a width or height of 0 or less were skipped, e.g. annotation 1: '
            'bbox [10, 10, -4, 5] in a.jpg') in out
    assert "'RBC/cells' -> 'RBC_cells'" in out


def test_export_crops_refuses_classes_that_would_share_a_folder(tmp_path):
    import json

    from nas_backbones.datasets.crops import export_box_crops
    coco_files(tmp_path)
    ann = json.loads((tmp_path / 'ann.json').read_text())
    ann['categories'] = [{'id': 1, 'name': 'a/b'}, {'id': 2, 'name': 'a_b'}]
    (tmp_path / 'clash.json').write_text(json.dumps(ann))
    with pytest.raises(ValueError, match=r"clash.json: classes \['a/b', 'a_b'\] would share the crop "
                                         r"folder 'a_b'"):
        export_box_crops(str(tmp_path / 'clash.json'), str(tmp_path / 'img'), str(tmp_path / 'out'))
    assert not (tmp_path / 'out').exists()


@pytest.mark.parametrize('kind', ['normal', 'reduce'])
def test_a_concat_of_the_cells_inputs_is_refused(kind):
    """reduce_concat [0, 1] passed, then broke the diagram (IndexError) and complexity.py (sizes)."""
    from nas_backbones.spaces.darts import PUBLISHED, Genotype, GenotypeError
    d = PUBLISHED['PC_DARTS_image'].to_dict()
    d[f'{kind}_concat'] = [0, 1]
    with pytest.raises(GenotypeError, match=rf"{kind}_concat: index 0 is one of the cell's two inputs; "
                                            r'the output concatenates nodes, 2..5 \(e.g. \[2, 3, 4, 5\]\)'):
        Genotype.from_dict(d)
