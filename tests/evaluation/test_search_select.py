"""The selection among searches (tools/search_select.py, configs/templates/search_own_coco.py): the best
by its validation metric is kept; a run resumes without searching or training again."""
import importlib.util
import json

import pytest
from mmengine.config import Config

import nas_backbones  # noqa: F401
from nas_backbones.datasets.coco_split import load_coco, split_coco, write_coco
from nas_backbones.datasets.synthetic_coco import CLASSES
from nas_backbones.evaluation.selection import SelectionError, choose, select, settings
from nas_backbones.spaces.darts import PUBLISHED, Genotype
from tests.conftest import ROOT, edit_template, tiny_ssd_demo_config


def test_the_best_score_is_chosen():
    assert choose({'search_seed0': 0.21, 'search_seed1': 0.35, 'search_seed2': 0.30}) == 'search_seed1'
    assert choose({'search_seed0': 0.3, 'search_seed1': 0.3}) == 'search_seed0'  # the first of equals
    assert choose({'search_seed0': None, 'search_seed1': 0.1}) == 'search_seed1'  # a failed training loses
    with pytest.raises(SelectionError, match='every short training failed'):
        choose({'search_seed0': None})


def test_the_selection_block_is_checked(tmp_path):
    detector = tmp_path / 'ssd.py'
    detector.write_text('')

    def cfg(**sel):
        return Config(dict(selection=sel))

    with pytest.raises(SelectionError, match=r'x\.py: no selection = dict'):
        settings(Config(dict()), 'x.py')
    with pytest.raises(SelectionError, match=r'selection\.seeds: a non-empty list of distinct integers, got \[0, 0\]'):
        settings(cfg(seeds=[0, 0], detector=str(detector)), 'x.py')
    with pytest.raises(SelectionError, match=r"selection\.detector: .* 'nope\.py' is not a file"):
        settings(cfg(seeds=[0], detector='nope.py'), 'x.py')
    with pytest.raises(SelectionError, match=r"unknown field\(s\) \['seed'\]"):
        settings(cfg(seed=[0], detector=str(detector)), 'x.py')
    with pytest.raises(SelectionError, match=r'selection\.workers: --workers: an integer >= 1'):
        settings(cfg(seeds=[0], detector=str(detector), workers=0), 'x.py')
    s = settings(cfg(seeds=[0, 1], detector=str(detector)), 'x.py')
    assert s['train_seeds'] == [0] and s['metric'] == 'coco/bbox_mAP' and s['workers'] == 1


def test_the_tool_names_a_search_config_without_a_selection_block(tmp_path, capsys):
    spec = importlib.util.spec_from_file_location('search_select', ROOT / 'tools' / 'search_select.py')
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    with pytest.raises(SystemExit) as stop:
        tool.main([str(ROOT / 'configs/search/pcdarts_ssd_demo.py'), '--work-dir', str(tmp_path / 'work')])
    assert stop.value.code == 2
    assert 'pcdarts_ssd_demo.py: no selection = dict(seeds=..., detector=...) block' in capsys.readouterr().err
    assert not (tmp_path / 'work').exists()


@pytest.mark.slow
def test_two_searches_short_trained_the_best_kept_and_resumed(tmp_path, shapes):
    split = tmp_path / 'split'
    parts, _ = split_coco(load_coco(shapes / 'annotations/instances_train.json'), [0.5, 0.5], seed=0)
    for name, part in zip(('train', 'val'), parts):
        write_coco(split / f'{name}.json', part)
    detector = tiny_ssd_demo_config(tmp_path / 'ssd.py', str(shapes))
    config = edit_template('configs/templates/search_own_coco.py', tmp_path / 'search_mine.py',
                           data_root=repr(f'{shapes}/'), classes=repr(CLASSES), train_images="'train/'",
                           search_split=repr(f'{split}/'), detector=repr(str(detector)),
                           search_seeds='[0, 1]', short_epochs=1, C__layers='4, 3', batch_size=2,
                           max_epochs=2, arch_warmup_epochs=1)
    work = tmp_path / 'work'
    no_report = {'custom_hooks': [dict(type='DerivationHook'), dict(type='RNGStateHook')]}  # plots: elsewhere
    said = []
    summary = select(str(config), str(work), no_report, say=said.append)
    searches = {r['name']: r for r in summary['searches']}
    assert set(searches) == {'search_seed0', 'search_seed1'}
    for r in searches.values():
        assert r['file'] == str(work / r['name'] / 'genotype.json') and list(r['val']) == ['0']
        assert r['score'] == r['val']['0']
    best = max(searches.values(), key=lambda r: r['score'])['name']
    assert summary['chosen']['name'] == best
    assert Genotype.load(work / 'genotype.json') == Genotype.load(searches[best]['file'])
    assert json.loads((work / 'selection.json').read_text())['chosen']['name'] == best
    trained = json.loads((work / 'short' / best / 'seed0' / 'result.json').read_text())
    assert trained['options']['model.backbone.genotype'] == searches[best]['file']
    assert trained['test'] is None and trained['options']['train_cfg.max_epochs'] == 1

    stamps = {p: p.stat().st_mtime_ns for p in work.glob('**/result.json')}
    assert len(stamps) == 4  # two searches, two short trainings
    said.clear()
    select(str(config), str(work), no_report, say=said.append)
    assert {p: p.stat().st_mtime_ns for p in work.glob('**/result.json')} == stamps
    assert sum('2 of 2 training(s) already done' in s for s in said) == 2

    chosen = Genotype.load(searches[best]['file'])  # an earlier, different choice is not overwritten
    earlier = next(g for g in (PUBLISHED['DARTS_V2'], PUBLISHED['PC_DARTS_image']) if g != chosen)
    earlier.save(work / 'genotype.json')
    with pytest.raises(SelectionError, match=r'genotype\.json holds another result than the one chosen now'):
        select(str(config), str(work), no_report, say=said.append)
    assert Genotype.load(work / 'genotype.json') == earlier
