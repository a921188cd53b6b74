"""The versioned-JSON base every result file uses: tags, atomic writes, errors that name the file."""
import json
import os
from dataclasses import dataclass
from typing import ClassVar

import pytest

from nas_backbones.utils.result_file import ResultFile, check_format, load_result, read_json, write_json


class ToyError(ValueError):
    pass


@dataclass(frozen=True)
class Toy(ResultFile):
    FORMAT: ClassVar[str] = 'nas_backbones.toy/1'
    ERROR: ClassVar[type] = ToyError
    WHAT: ClassVar[str] = 'toy'
    size: int = 1

    def to_dict(self):
        return dict(format=self.FORMAT, size=self.size)

    @classmethod
    def from_dict(cls, d, source=''):
        d = cls.check(d, source)
        if not isinstance(d.get('size'), int):
            raise ToyError(f'{source}: "size" must be an integer, got {d.get("size")!r}')
        return cls(d['size'])


def test_save_and_load_round_trip(tmp_path):
    path = tmp_path / 'toy.json'
    Toy(3).save(path)
    assert json.loads(path.read_text())['format'] == 'nas_backbones.toy/1'
    assert Toy.load(path) == Toy(3)
    assert not [p for p in os.listdir(tmp_path) if p != 'toy.json']  # no temporary left behind


@pytest.mark.parametrize('text,fragments', [
    ('{"size": ', ['bad.json', 'not valid JSON']),
    ('[1]', ['bad.json', 'expected a JSON object, got list']),
    ('{"format": "other/1", "size": 1}', ['bad.json', '"format" is \'other/1\'', 'nas_backbones.toy/1']),
    ('{"size": 1}', ['bad.json', '"format" is None']),  # the tag is required unless the class waives it
    ('{"format": "nas_backbones.toy/1", "size": "x"}', ['bad.json', '"size"']),
])
def test_bad_files_are_named(tmp_path, text, fragments):
    path = tmp_path / 'bad.json'
    path.write_text(text)
    with pytest.raises(ToyError) as info:
        Toy.load(path)
    for frag in fragments:
        assert frag in str(info.value)


def test_missing_file_names_the_kind_and_path(tmp_path):
    with pytest.raises(FileNotFoundError, match=r'toy file not found: .*nope\.json'):
        Toy.load(tmp_path / 'nope.json')


def test_untagged_files_where_the_class_allows_them():
    class Lenient(Toy):
        FORMAT_REQUIRED = False
    assert Lenient.from_dict({'size': 2}) == Lenient(2)
    with pytest.raises(ToyError, match='"format" is \'x/1\''):
        Lenient.from_dict({'format': 'x/1', 'size': 2}, 'f.json')


def test_plain_dict_helpers(tmp_path):
    path = tmp_path / 'd.json'
    write_json(path, dict(format='nas_backbones.d/1', points=[]))
    data = check_format(read_json(path, 'front'), 'nas_backbones.d/1', str(path))
    assert data['points'] == []
    with pytest.raises(ValueError, match=f'{path}: "format"'):
        check_format(data, 'nas_backbones.e/1', str(path))


def test_one_loader_for_every_family(tmp_path):
    """``load_result``: a published name, a file, a dict or the result itself, for any result class."""
    published = {'Small': Toy(1), 'Large': Toy(9)}
    path = tmp_path / 'mine.json'
    Toy(4).save(path)
    assert load_result('Large', Toy, published) is published['Large']
    assert load_result(path, Toy, published) == Toy(4)
    assert load_result(str(path), Toy, published) == Toy(4)
    assert load_result({'format': Toy.FORMAT, 'size': 5}, Toy, published) == Toy(5)
    mine = Toy(6)
    assert load_result(mine, Toy, published) is mine
    with pytest.raises(ToyError, match=r"toy dict: \"size\" must be an integer"):
        load_result({'format': Toy.FORMAT, 'size': 'x'}, Toy, published)


@pytest.mark.parametrize('spec,fragments', [
    ('large', ["toy 'large' is neither a published name (Large, Small) nor an existing file",
               "Did you mean 'Large'?"]),
    ('runs/toy.json', ["toy 'runs/toy.json' is neither", 'nor an existing file.']),
    (3, ['toy: expected a name, a path, a dict or a Toy, got 3']),
])
def test_loader_errors_name_the_spec_and_the_published_names(spec, fragments):
    with pytest.raises(ToyError) as info:
        load_result(spec, Toy, {'Small': Toy(1), 'Large': Toy(9)})
    for frag in fragments:
        assert frag in str(info.value)
    if spec == 'runs/toy.json':  # a path is not a mistyped name: no suggestion
        assert 'Did you mean' not in str(info.value)
