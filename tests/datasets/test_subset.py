"""The PC-DARTS search subsets: per class, seeded, disjoint; the rounding rule; the command-line tool."""
import importlib.util
import subprocess
import sys
from collections import Counter

import cv2
import numpy as np
import pytest

from nas_backbones.datasets import ImageNetDataset, sample_per_class, scan_image_folder, split_counts
from tests.conftest import ROOT

TOOL = ROOT / 'tools/dataset/imagenet_subset.py'


def per_label(samples):
    return Counter(label for _, label in samples)


# ------------------------------------------------------------------ rounding rule
def test_largest_remainder_rule():
    # 10% of 19 and 11 images: 1.9 and 1.1 -> floors 1 + 1, total round(3.0) = 3:
    # the extra image goes to the larger remainder whatever the seed.
    for seed in range(5):
        assert split_counts([19, 11], [0.1], seed) == [[2, 1]]
    # Equal remainders: the split total is round(f * N) (halves up), per class floor or ceil.
    counts = split_counts([500] * 10, [0.025], seed=0)[0]
    assert sum(counts) == 125 and sorted(set(counts)) == [12, 13]
    # Which classes get the extra image depends on the seed.
    assert any(split_counts([500] * 10, [0.025], seed=s)[0] != counts for s in range(1, 5))
    counts = split_counts([7, 5, 3], [0.5], seed=3)[0]
    assert sum(counts) == 8 and all(c in (q // 2, q // 2 + 1) for c, q in zip(counts, [7, 5, 3]))


def test_at_least_one_image_per_class_and_split():
    train, val = split_counts([2, 3, 40, 1300], [0.1, 0.025], seed=0)
    assert train[:2] == [1, 1] and val[:2] == [1, 1]  # 0.2/0.05 and 0.3/0.075 round up to 1
    assert (train[2], val[2]) == (4, 1) and train[3] == 130 and val[3] in (32, 33)
    # A class never gives more than it has, however the fractions round.
    train, val = split_counts([3, 3, 3], [0.5, 0.5], seed=0)
    assert all(t + v <= 3 and t >= 1 and v >= 1 for t, v in zip(train, val))


def test_single_image_class_goes_to_the_first_split_with_a_warning():
    assert [c[0] for c in split_counts([1, 10], [0.5, 0.3], seed=0)] == [1, 0]
    per_class = [[('a/x.png', 0)], [(f'b/{i}.png', 1) for i in range(10)]]
    with pytest.warns(UserWarning, match="class 'a' has a single image"):
        train, val = sample_per_class(per_class, ['a', 'b'], (0.5, 0.3), seed=0)
    assert ('a/x.png', 0) in train and per_label(val)[0] == 0


@pytest.mark.parametrize('fracs,fragment', [
    ((0.9, 0.2), '--train-frac 0.9 + --val-frac 0.2 = 1.1 > 1'),
    ((0., 0.1), '--train-frac must be a fraction in (0, 1), got 0.0'),
    ((0.1, 1.5), '--val-frac must be a fraction in (0, 1), got 1.5'),
    ((0.1, '0.2'), "--val-frac must be a fraction in (0, 1), got '0.2'"),
])
def test_fractions_that_do_not_fit(fracs, fragment):
    with pytest.raises(ValueError) as info:
        split_counts([10, 10], fracs, 0, names=('--train-frac', '--val-frac'))
    assert fragment in str(info.value)


# ------------------------------------------------------------------ real data
@pytest.fixture
def tiny_scan(tiny_imagenet):
    root = tiny_imagenet / 'train'
    return root, *scan_image_folder(root)


def test_tiny_imagenet_counts_disjointness_and_paths(tiny_scan):
    root, classes, per_class = tiny_scan
    train, val = sample_per_class(per_class, classes, (0.1, 0.025), seed=0)
    assert per_label(train) == {c: 50 for c in range(10)}
    val_counts = per_label(val)
    assert set(val_counts.values()) == {12, 13} and sum(val_counts.values()) == 125
    assert not set(train) & set(val)
    assert len(set(train)) == len(train) and len(set(val)) == len(val)
    for rel, label in train + val:
        assert rel.startswith(f'{classes[label]}/images/') and (root / rel).is_file()


def test_same_seed_same_subsets_other_seed_other_subsets(tiny_scan):
    _, classes, per_class = tiny_scan
    a = sample_per_class(per_class, classes, (0.1, 0.025), seed=0)
    b = sample_per_class(per_class, classes, (0.1, 0.025), seed=0)
    c = sample_per_class(per_class, classes, (0.1, 0.025), seed=1)
    assert a == b
    assert set(a[0]) != set(c[0]) and set(a[1]) != set(c[1])
    # A class's picks do not depend on the other classes.
    d = sample_per_class(per_class[:3], classes[:3], (0.1, 0.025), seed=0)
    assert d[0] == [s for s in a[0] if s[1] < 3]


# ------------------------------------------------------------------ the tool
def run_tool(*args):
    return subprocess.run([sys.executable, str(TOOL), *map(str, args)], cwd=ROOT,
                          capture_output=True, text=True)


def test_the_documented_command(tiny_imagenet, tmp_path):
    data_train = tiny_imagenet / 'train'
    out = tmp_path / 'subsets'
    proc = run_tool(data_train, '--out', out, '--train-frac', '0.1', '--val-frac', '0.025',
                    '--seed', '0')
    assert proc.returncode == 0, proc.stderr
    assert sorted(p.name for p in out.iterdir()) == ['classes.txt', 'train.txt', 'val.txt']
    assert 'train: 500 of 5000 images, 50-50 per class' in proc.stdout
    assert 'val: 125 of 5000 images, 12-13 per class' in proc.stdout
    classes = (out / 'classes.txt').read_text().split()
    assert classes == sorted(p.name for p in data_train.iterdir())
    # The lists read back as datasets (classes.txt found beside them), paths relative to DATA/train.
    train = ImageNetDataset(data_prefix=str(data_train), ann_file=str(out / 'train.txt'))
    val = ImageNetDataset(data_prefix=str(data_train), ann_file=str(out / 'val.txt'))
    assert len(train) == 500 and len(val) == 125
    paths = {train.get_data_info(i)['img_path'] for i in range(len(train))}
    assert not paths & {val.get_data_info(i)['img_path'] for i in range(len(val))}
    # Same seed, same files (in process: the command above was the real one).
    first = {n: (out / n).read_text() for n in ('train.txt', 'val.txt', 'classes.txt')}
    again = tmp_path / 'again'
    assert load_tool().main([str(data_train), '--out', str(again), '--seed', '0']) == 0
    assert {n: (again / n).read_text() for n in first} == first


def load_tool():
    spec = importlib.util.spec_from_file_location('imagenet_subset', TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_tool_errors_name_the_fault(tmp_path, capsys):
    main = load_tool().main
    assert main([str(tmp_path / 'nope'), '--out', str(tmp_path / 'o')]) == 2
    assert f'image folder not found: {tmp_path}/nope' in capsys.readouterr().err
    img = np.zeros((4, 4, 3), np.uint8)
    for rel in ('data/a/images/0.png', 'data/a/images/1.png', 'data/b/images/0.png'):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(tmp_path / rel), img)
    (tmp_path / 'data/c').mkdir()
    assert main([str(tmp_path / 'data'), '--out', str(tmp_path / 'o')]) == 2
    assert f'class folder {tmp_path}/data/c has no images' in capsys.readouterr().err
    assert main([str(tmp_path / 'data'), '--out', str(tmp_path / 'o'), '--train-frac', '0.8',
                 '--val-frac', '0.3']) == 2
    assert '--train-frac 0.8 + --val-frac 0.3 = 1.1 > 1' in capsys.readouterr().err
    assert not (tmp_path / 'o').exists()  # nothing written on error
    (tmp_path / 'data/c/0.png').write_bytes(cv2.imencode('.png', img)[1].tobytes())
    with pytest.warns(UserWarning, match='has a single image') as record:
        assert main([str(tmp_path / 'data'), '--out', str(tmp_path / 'o')]) == 0
    assert sorted(str(w.message)[:9] for w in record) == ["class 'b'", "class 'c'"]
    # b and c have one image each: train only; a has two: one per split.
    assert (tmp_path / 'o/val.txt').read_text() == 'a/images/1.png 0\n' or \
        (tmp_path / 'o/val.txt').read_text() == 'a/images/0.png 0\n'
    assert sorted(p.name for p in (tmp_path / 'o').iterdir()) == ['classes.txt', 'train.txt',
                                                                   'val.txt']
