"""tools/dataset/coco_split.py: two disjoint, seeded, valid COCO subsets with every category in both
where the data allows; each unusable input named."""
import json

import pytest

from nas_backbones.datasets.coco_split import check_coco, split_coco
from tools.dataset.coco_split import main as coco_split


def make_coco(n_images=20, categories=4, extra=()):
    """Image i has a box of category i % categories (+ the (image, category) pairs in ``extra``)."""
    cats = [{'id': c + 1, 'name': f'c{c + 1}', 'supercategory': 'x'} for c in range(categories)]
    images = [{'id': 100 + i, 'file_name': f'{i:06d}.jpg', 'width': 64, 'height': 48}
              for i in range(n_images)]
    pairs = [(100 + i, i % categories + 1) for i in range(n_images)] + list(extra)
    anns = [{'id': k + 1, 'image_id': img, 'category_id': c, 'bbox': [1, 2, 10, 12], 'area': 120,
             'iscrowd': 0} for k, (img, c) in enumerate(pairs)]
    return {'info': {'description': 'test'}, 'licenses': [], 'images': images,
            'annotations': anns, 'categories': cats}


def run(tmp_path, coco, *args):
    src = tmp_path / 'in.json'
    src.write_text(json.dumps(coco) if not isinstance(coco, str) else coco)
    out = tmp_path / 'out'
    return coco_split([str(src), '--out', str(out), *args]), out


def image_ids(path):
    return {im['id'] for im in json.loads(path.read_text())['images']}


def test_splits_are_disjoint_valid_coco_and_reproducible(tmp_path):
    coco = make_coco(40, 5)
    rc, out = run(tmp_path, coco, '--train-frac', '0.5', '--val-frac', '0.25', '--seed', '3')
    assert rc == 0
    train, val = (json.loads((out / n).read_text()) for n in ('train.json', 'val.json'))
    for part, n in ((train, 20), (val, 10)):
        check_coco(part, 'output')  # a valid COCO file
        assert len(part['images']) == n
        ids = {im['id'] for im in part['images']}
        assert {a['image_id'] for a in part['annotations']} <= ids
        # every annotation of its images, every category, the input's other fields
        assert len(part['annotations']) == sum(a['image_id'] in ids for a in coco['annotations'])
        assert part['categories'] == coco['categories'] and part['info'] == coco['info']
        assert {a['category_id'] for a in part['annotations']} == {1, 2, 3, 4, 5}
    assert not image_ids(out / 'train.json') & image_ids(out / 'val.json')

    again = tmp_path / 'again'
    again.mkdir()
    rc, out2 = run(again, coco, '--train-frac', '0.5', '--val-frac', '0.25', '--seed', '3')
    assert rc == 0
    for n in ('train.json', 'val.json'):
        assert (out / n).read_text() == (out2 / n).read_text()
    other = split_coco(coco, (0.5, 0.25), seed=4)[0]
    assert {im['id'] for im in other[0]['images']} != image_ids(out / 'train.json')


def test_every_category_in_both_splits_where_the_data_allows():
    # 30 images of category 1; categories 2 and 3 in two images each, 4 in a single image.
    coco = make_coco(30, 1, extra=[(100, 2), (101, 2), (102, 3), (103, 3), (104, 4)])
    coco['categories'] += [{'id': c, 'name': f'c{c}'} for c in (2, 3, 4)]
    for seed in range(10):  # small splits: a random draw would often miss the rare categories
        parts, reports = split_coco(coco, (0.2, 0.2), seed)
        cats = [{a['category_id'] for a in p['annotations']} for p in parts]
        assert cats[0] == {1, 2, 3, 4} and cats[1] == {1, 2, 3}, seed  # c4: one image, the first split
        assert reports[1].missing == ['c4'] and not reports[0].missing


def test_repair_exchanges_images_when_the_first_picks_took_them():
    """c2 and c3 (two images each) are placed first, one image in each split; with some draws
    both images of c4 are the ones that went to the second split. Exchanging a c4 image for the
    first split's image of c2 (or c3) puts c4 in both at no loss."""
    coco = make_coco(8, 1, extra=[(102, 2), (100, 2), (100, 4), (103, 3), (101, 3), (101, 4)])
    coco['categories'] += [{'id': c, 'name': f'c{c}'} for c in (2, 3, 4)]
    for seed in range(20):
        parts, reports = split_coco(coco, (0.5, 0.5), seed)
        for p, r in zip(parts, reports):
            assert {a['category_id'] for a in p['annotations']} == {1, 2, 3, 4}, seed
            assert not r.missing


def test_coco128_halves(coco128):
    coco = json.loads((coco128 / 'annotations/instances_train2017.json').read_text())
    parts, reports = split_coco(coco, (0.5, 0.5), 0)
    a, b = ({im['id'] for im in p['images']} for p in parts)
    assert len(a) == len(b) == 64 and not a & b
    per_cat = {}
    for ann in coco['annotations']:
        per_cat.setdefault(ann['category_id'], set()).add(ann['image_id'])
    for part in parts:
        cats = {x['category_id'] for x in part['annotations']}
        # every category with two or more images is in both halves, save where its images also
        # hold single-image categories (then one split or the other loses a category)
        missing = {c for c, imgs in per_cat.items() if len(imgs) > 1} - cats
        assert len(missing) <= 1


BAD = [
    ('missing file', None, ['in.json', 'not found']),
    ('not json', '{"images": [', ['in.json', 'not valid JSON']),
    ('top level a list', '[]', ['in.json', 'top level', 'list']),
    ('no images field', {'annotations': [], 'categories': [{'id': 1, 'name': 'a'}]},
     ['in.json', "'images'", 'missing']),
    ('no images', {'images': [], 'annotations': [], 'categories': [{'id': 1, 'name': 'a'}]},
     ['in.json', "'images' is empty"]),
    ('image without id', {'images': [{'file_name': 'a.jpg'}], 'annotations': [],
                          'categories': [{'id': 1, 'name': 'a'}]}, ['in.json', 'images[0].id']),
    ('string id', {'images': [{'id': '7', 'file_name': 'a.jpg'}], 'annotations': [],
                   'categories': [{'id': 1, 'name': 'a'}]}, ['images[0].id', "'7'"]),
    ('duplicate image id', {'images': [{'id': 1, 'file_name': 'a.jpg'}, {'id': 1, 'file_name': 'b.jpg'}],
                            'annotations': [], 'categories': [{'id': 1, 'name': 'a'}]},
     ['images[1].id 1', 'twice']),
    ('unknown image', dict(make_coco(4, 1), annotations=[{'id': 1, 'image_id': 999, 'category_id': 1}]),
     ['in.json', 'annotations[0].image_id 999']),
    ('unknown category', dict(make_coco(4, 1), annotations=[{'id': 1, 'image_id': 100, 'category_id': 9}]),
     ['annotations[0].category_id 9']),
    ('categories not a list', dict(make_coco(4, 1), categories={'1': 'a'}),
     ["'categories' must be a list", 'dict']),
]


@pytest.mark.parametrize('case', BAD, ids=[c[0] for c in BAD])
def test_bad_input_is_named(tmp_path, capsys, case):
    _, coco, needles = case
    if coco is None:
        rc = coco_split([str(tmp_path / 'in.json'), '--out', str(tmp_path / 'out')])
    else:
        rc, _ = run(tmp_path, coco)
    err = capsys.readouterr().err
    assert rc == 2
    for needle in needles:
        assert needle in err, (needle, err)
    assert not (tmp_path / 'out').exists(), 'nothing is written for unusable input'


@pytest.mark.parametrize('args, needle', [
    (['--train-frac', '0.7', '--val-frac', '0.5'], '> 1'),
    (['--val-frac', '0'], '--val-frac must be a fraction'),
])
def test_bad_fractions_are_named(tmp_path, capsys, args, needle):
    rc, _ = run(tmp_path, make_coco(), *args)
    assert rc == 2 and needle in capsys.readouterr().err


def test_refuses_to_overwrite_its_input(tmp_path, capsys):
    src = tmp_path / 'train.json'
    src.write_text(json.dumps(make_coco()))
    assert coco_split([str(src), '--out', str(tmp_path)]) == 2
    assert 'would overwrite the input' in capsys.readouterr().err
    check_coco(json.loads(src.read_text()))
