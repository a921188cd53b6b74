"""ImageNet-format data: both layouts on real Tiny-ImageNet-10, the reference augmentation, and every error case."""
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from mmdet.registry import DATASETS, TRANSFORMS
from mmengine.dataset import Compose
from mmengine.registry import DefaultScope
from PIL import Image, ImageEnhance

from nas_backbones.datasets import ColorJitter, ImageNetDataset, RandomResizedCrop


@pytest.fixture(autouse=True)
def mmdet_scope():
    # Configs say default_scope='mmdet'; outside a Runner the scope must be set by hand.
    with DefaultScope.overwrite_default_scope('mmdet'):
        yield


def pipeline(kind, size=64, resize=73):
    steps = [dict(type='LoadImageFromFile', color_type='color')]
    if kind == 'train':
        steps += [dict(type='RandomResizedCrop', size=size, backend='pillow'),
                  dict(type='RandomFlip', prob=0.5, direction='horizontal'),
                  dict(type='ColorJitter', brightness=0.4, contrast=0.4, saturation=0.4, hue=0.2)]
    else:
        steps += [dict(type='ResizeShortestEdge', scale=resize, backend='pillow'),
                  dict(type='CenterCrop', crop_size=size)]
    return steps + [dict(type='PackClsInputs')]


# ------------------------------------------------------------------ real data, both layouts
def test_folder_layout_with_images_subfolders(tiny_imagenet):
    ds = DATASETS.build(dict(type='ImageNetDataset', data_root=str(tiny_imagenet),
                             data_prefix='train', pipeline=pipeline('train')))
    classes = (tiny_imagenet / 'meta/classes.txt').read_text().split()
    assert list(ds.metainfo['classes']) == sorted(classes) == classes
    assert len(ds) == 5000
    labels = [ds.get_data_info(i)['gt_label'] for i in range(len(ds))]
    assert np.bincount(labels).tolist() == [500] * 10
    for i in (0, 2345, 4999):
        info = ds.get_data_info(i)
        path = Path(info['img_path'])
        assert path.is_file() and path.parent.name == 'images'
        assert path.parent.parent.name == classes[info['gt_label']]
    out = ds[0]
    assert out['inputs'].shape == (3, 64, 64) and out['inputs'].dtype == torch.uint8
    assert out['data_samples'].gt_label.tolist() == [ds.get_data_info(0)['gt_label']]


def test_list_layout_matches_tiny_imagenet_val_annotations(tiny_imagenet):
    # classes.txt is found beside the list file.
    ds = ImageNetDataset(data_root=str(tiny_imagenet), ann_file='meta/val.txt',
                         pipeline=pipeline('test'), test_mode=True)
    classes = (tiny_imagenet / 'meta/classes.txt').read_text().split()
    assert list(ds.metainfo['classes']) == classes and len(ds) == 500
    truth = {}
    for line in (tiny_imagenet / 'val/val_annotations.txt').read_text().splitlines():
        name, wnid = line.split('\t')[:2]
        truth[name] = classes.index(wnid)
    for i in range(len(ds)):
        info = ds.get_data_info(i)
        assert info['gt_label'] == truth[Path(info['img_path']).name]
    assert ds[7]['inputs'].shape == (3, 64, 64)


def test_list_layout_with_explicit_classes_and_prefix(tiny_imagenet, tmp_path):
    lst = tmp_path / 'some.txt'
    lst.write_text('n02124075/images/n02124075_161.JPEG 1\n\n'
                   'n01641577/images/n01641577_0.JPEG 0\n')
    ds = ImageNetDataset(data_prefix=str(tiny_imagenet / 'train'), ann_file=str(lst),
                         classes=['n01641577', 'n02124075'])
    assert len(ds) == 2 and ds.metainfo['classes'] == ('n01641577', 'n02124075')
    assert [ds.get_data_info(i)['gt_label'] for i in range(2)] == [1, 0]


def grayscale_file(root):
    for path in sorted((root / 'train').glob('*/images/*.JPEG')):
        if Image.open(path).mode == 'L':
            return path
    raise AssertionError('tiny-imagenet-10 is documented to hold grayscale images')


def test_grayscale_images_come_out_as_three_channels(tiny_imagenet, tmp_path):
    path = grayscale_file(tiny_imagenet)
    assert cv2.imread(str(path), cv2.IMREAD_UNCHANGED).ndim == 2
    lst = tmp_path / 'gray.txt'
    lst.write_text(f'{path.relative_to(tiny_imagenet)} 0\n')
    for kind in ('train', 'test'):
        ds = ImageNetDataset(data_root=str(tiny_imagenet), ann_file=str(lst),
                             classes=['gray'], pipeline=pipeline(kind))
        x = ds[0]['inputs']
        assert x.shape == (3, 64, 64)
        if kind == 'test':  # no colour jitter: the three channels are the gray values
            assert torch.equal(x[0], x[1]) and torch.equal(x[1], x[2])


@pytest.mark.parametrize('size,resize', [(224, 256), (64, 73), (320, 366)])
def test_test_resize_then_centre_crop(tmp_path, size, resize):
    img = (np.random.RandomState(0).rand(300, 450, 3) * 255).astype(np.uint8)
    cv2.imwrite(str(tmp_path / 'a.png'), img)
    load_resize = Compose(pipeline('test', size, resize)[:2])
    out = load_resize(dict(img_path=str(tmp_path / 'a.png')))
    assert min(out['img'].shape[:2]) == resize and out['img'].shape[1] == round(450 * resize / 300)
    packed = Compose(pipeline('test', size, resize))(dict(img_path=str(tmp_path / 'a.png'),
                                                          gt_label=3))
    assert packed['inputs'].shape == (3, size, size)
    assert packed['data_samples'].gt_label.tolist() == [3]
    assert packed['data_samples'].img_shape == (size, size)


# ------------------------------------------------------------------ transforms
def test_random_resized_crop_samples_inside_the_image_like_torchvision():
    t = RandomResizedCrop(32)
    np.random.seed(0)
    areas = []
    for _ in range(300):
        top, left, h, w = t.crop_box(60, 90)
        assert 0 <= top and top + h <= 60 and 0 <= left and left + w <= 90
        areas.append(h * w / (60 * 90))
        assert 3 / 4 - 0.1 <= w / h <= 4 / 3 + 0.1 or (h, w) == (60, 80)
    assert min(areas) < 0.2 and max(areas) > 0.8  # scale (0.08, 1)
    # Nothing fits 10 times in a row: the centre crop clamped to the ratio range.
    assert RandomResizedCrop(8, scale=(1., 1.)).crop_box(10, 40) == (0, 13, 10, 13)
    assert RandomResizedCrop(8, scale=(1., 1.), ratio=(1., 1.)).crop_box(20, 20) == (0, 0, 20, 20)
    out = t(dict(img=np.zeros((60, 90, 3), np.uint8)))
    assert out['img'].shape == (32, 32, 3) and out['img_shape'] == (32, 32)
    with pytest.raises(ValueError, match='RandomResizedCrop.scale'):
        RandomResizedCrop(8, scale=(0.5, 0.1))
    assert TRANSFORMS.get('RandomResizedCrop') is RandomResizedCrop


def _rgb_pil(bgr):
    return Image.fromarray(np.ascontiguousarray(bgr[..., ::-1]))


def _to_bgr(pil):
    return np.asarray(pil.convert('RGB'))[..., ::-1]


@pytest.mark.parametrize('factor', [0.6, 1.4])
def test_color_jitter_adjustments_match_pil_image_enhance(factor):
    """torchvision's ColorJitter on PIL images is ImageEnhance (brightness, contrast, saturation)."""
    bgr = (np.random.RandomState(1).rand(24, 24, 3) * 255).astype(np.uint8)
    cj = ColorJitter()
    for ours, enhancer in ((cj.adjust_brightness, ImageEnhance.Brightness),
                           (cj.adjust_contrast, ImageEnhance.Contrast),
                           (cj.adjust_saturation, ImageEnhance.Color)):
        expected = _to_bgr(enhancer(_rgb_pil(bgr)).enhance(factor)).astype(int)
        assert np.abs(ours(bgr, factor).astype(int) - expected).max() <= 1, enhancer.__name__


@pytest.mark.parametrize('shift', [-0.2, 0.1])
def test_color_jitter_hue_matches_torchvision_pil_algorithm(shift):
    bgr = (np.random.RandomState(2).rand(24, 24, 3) * 255).astype(np.uint8)
    # torchvision.transforms.functional_pil.adjust_hue
    h, s, v = _rgb_pil(bgr).convert('HSV').split()
    np_h = ((np.asarray(h).astype(int) + int(shift * 255)) % 256).astype(np.uint8)
    expected = _to_bgr(Image.merge('HSV', (Image.fromarray(np_h, 'L'), s, v)))
    diff = np.abs(ColorJitter().adjust_hue(bgr, shift).astype(int) - expected.astype(int))
    assert diff.mean() < 2 and np.percentile(diff, 95) <= 6  # cv2 vs PIL HSV rounding
    assert not np.array_equal(ColorJitter().adjust_hue(bgr, shift), bgr)


def test_color_jitter_is_random_in_range_and_identity_at_zero():
    img = (np.random.RandomState(3).rand(16, 16, 3) * 255).astype(np.uint8)
    assert np.array_equal(ColorJitter()(dict(img=img.copy()))['img'], img)
    np.random.seed(0)
    cj = ColorJitter(brightness=0.4, contrast=0.4, saturation=0.4, hue=0.2)
    outs = [cj(dict(img=img.copy()))['img'] for _ in range(3)]
    assert all(o.shape == img.shape and o.dtype == np.uint8 for o in outs)
    assert not np.array_equal(outs[0], outs[1])
    with pytest.raises(ValueError, match='hue must be in'):
        ColorJitter(hue=0.7)


# ------------------------------------------------------------------ errors
def make_tree(root, spec):
    for rel, content in spec.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        if content is None:
            p.mkdir(exist_ok=True)
        elif isinstance(content, str):
            p.write_text(content)
        else:
            cv2.imwrite(str(p), content)
    return root


IMG = np.zeros((4, 4, 3), np.uint8)


def test_missing_root_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match=f'image folder not found: {tmp_path}/nope'):
        ImageNetDataset(data_prefix=str(tmp_path / 'nope'))


def test_empty_class_folder_is_named(tmp_path):
    make_tree(tmp_path, {'a/x.png': IMG, 'b/readme.txt': 'no images here'})
    with pytest.raises(ValueError, match=f'class folder {tmp_path}/b has no images'):
        ImageNetDataset(data_root=str(tmp_path))


def test_root_without_class_folders(tmp_path):
    make_tree(tmp_path, {'x.png': IMG})
    with pytest.raises(ValueError, match='no class folders'):
        ImageNetDataset(data_root=str(tmp_path))


def test_given_classes_must_match_the_folders(tmp_path):
    make_tree(tmp_path, {'a/x.png': IMG, 'b/y.png': IMG})
    with pytest.raises(FileNotFoundError, match=r"no folder for class\(es\) \['c'\]"):
        ImageNetDataset(data_root=str(tmp_path), classes=['a', 'b', 'c'])
    with pytest.raises(ValueError, match=r"folder\(s\) \['b'\] are not in the class list"):
        ImageNetDataset(data_root=str(tmp_path), classes=['a'])
    ds = ImageNetDataset(data_root=str(tmp_path), classes=['b', 'a'])  # order sets the labels
    labels = {Path(ds.get_data_info(i)['img_path']).name: ds.get_data_info(i)['gt_label']
              for i in range(2)}
    assert labels == {'y.png': 0, 'x.png': 1}


@pytest.mark.parametrize('lines,error,fragment', [
    ('a/x.png 0\nb/missing.png 1\n', FileNotFoundError, 'list.txt:2: image {root}/b/missing.png does not exist'),
    ('a/x.png zero\n', ValueError, "list.txt:1: label 'zero' is not an integer"),
    ('a/x.png 0\n\na/x.png 2\n', ValueError, 'list.txt:3: label 2 out of range for 2 classes'),
    ('a/x.png -1\n', ValueError, 'list.txt:1: label -1 out of range'),
    ('a/x.png 0\na/x.png\n', ValueError, 'list.txt:2: expected "relative/path label"'),
    ('\n\n', ValueError, 'list.txt has no samples'),
])
def test_bad_list_lines_name_file_and_line(tmp_path, lines, error, fragment):
    make_tree(tmp_path, {'a/x.png': IMG, 'list.txt': lines, 'classes.txt': 'a\nb\n'})
    with pytest.raises(error) as info:
        ImageNetDataset(data_root=str(tmp_path), ann_file='list.txt')
    assert fragment.format(root=tmp_path) in str(info.value)
    assert str(tmp_path / 'list.txt') in str(info.value)


def test_check_files_can_be_turned_off(tmp_path):
    make_tree(tmp_path, {'list.txt': 'a/missing.png 0\n', 'classes.txt': 'a\n'})
    assert len(ImageNetDataset(data_root=str(tmp_path), ann_file='list.txt', check_files=False)) == 1


def test_list_without_classes_and_bad_classes_files(tmp_path):
    make_tree(tmp_path, {'a/x.png': IMG, 'lists/l.txt': 'a/x.png 0\n',
                         'dup.txt': 'a\nb\na\n', 'gap.txt': 'a\n\nb\n'})
    with pytest.raises(FileNotFoundError, match='pass classes=.*lists/classes.txt not found'):
        ImageNetDataset(data_root=str(tmp_path), ann_file='lists/l.txt')
    with pytest.raises(ValueError, match=r"dup.txt:3: class 'a' already named on line 1"):
        ImageNetDataset(data_root=str(tmp_path), ann_file='lists/l.txt', classes='dup.txt')
    with pytest.raises(ValueError, match='gap.txt:2: empty class name'):
        ImageNetDataset(data_root=str(tmp_path), ann_file='lists/l.txt', classes='gap.txt')
    with pytest.raises(FileNotFoundError, match='classes file not found: .*nope.txt'):
        ImageNetDataset(data_root=str(tmp_path), ann_file='lists/l.txt', classes='nope.txt')
    with pytest.raises(FileNotFoundError, match='annotation list not found: .*none.txt'):
        ImageNetDataset(data_root=str(tmp_path), ann_file='none.txt', classes=['a'])


def test_gif_images_are_read_and_other_files_are_named(tmp_path, capsys):
    """A folder scan reads .gif (it decodes) and names what it leaves out, instead of a silent skip."""
    from mmengine.logging import MMLogger
    MMLogger.get_instance(f'test_gif_{tmp_path.name}')  # a logger writing to capsys' stdout
    folder = tmp_path / 'cls'
    folder.mkdir()
    rgb = np.random.default_rng(0).integers(0, 255, (20, 20, 3), dtype=np.uint8)
    Image.fromarray(rgb).save(folder / 'a.gif')
    cv2.imwrite(str(folder / 'b.png'), rgb)
    (folder / 'notes.txt').write_text('not an image')
    (folder / 'labels.xml').write_text('<a/>')
    ds = ImageNetDataset(data_prefix=str(tmp_path), pipeline=[
        dict(type='LoadImageOrSkip'), dict(type='PackClsInputs')])
    assert sorted(Path(ds.get_data_info(i)['img_path']).name for i in range(len(ds))) == ['a.gif', 'b.png']
    gif = next(i for i in range(len(ds)) if ds.get_data_info(i)['img_path'].endswith('.gif'))
    assert tuple(ds[gif]['inputs'].shape) == (3, 20, 20)
    out = capsys.readouterr().out
    assert 'left out 2 file(s) that are not images by their extension (1 .txt, 1 .xml), e.g. cls/labels.xml' in out


def test_scan_progress_bar_only_on_a_terminal(tmp_path, capsys, monkeypatch):
    from nas_backbones.datasets import scan_image_folder
    for c in ('a', 'b'):
        (tmp_path / c).mkdir()
        cv2.imwrite(str(tmp_path / c / 'x.png'), np.zeros((4, 4, 3), np.uint8))
    scan_image_folder(tmp_path, progress=True)
    assert capsys.readouterr().out == ''  # pytest's stdout is not a terminal
    monkeypatch.setattr('sys.stdout.isatty', lambda: True, raising=False)
    scan_image_folder(tmp_path, progress=True)
    assert '2/2' in capsys.readouterr().out
