"""A user's earlier result is never replaced without being asked: searches, trainings, crops, random genotypes.

Each test runs the second command into a folder that holds a finished result and checks
that the result is still there, byte for byte (and a read-only genotype.json still read-only).
"""
import json
import stat
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

import nas_backbones  # noqa: F401
from nas_backbones.engine.launch import ResultExistsError, load_train_config, refuse_earlier_result, train_arg_parser
from nas_backbones.spaces.darts import PUBLISHED
from tests.conftest import ROOT, load_tool

SEARCH = str(ROOT / 'configs/search/pcdarts_demo.py')
TRAIN = str(ROOT / 'configs/ssd_pcdarts_demo.py')


def finished_search(work: Path, read_only: bool = True) -> Path:
    """What a finished search leaves: its genotype (made read-only by its user), history, checkpoints."""
    work.mkdir(parents=True)
    (work / 'genotype.json').write_text(PUBLISHED['PC_DARTS_image'].to_json())
    (work / 'search_history.json').write_text('{"history": []}')
    (work / 'epoch_2.pth').write_bytes(b'weights of two epochs')
    (work / 'last_checkpoint').write_text(str(work / 'epoch_2.pth'))
    if read_only:
        (work / 'genotype.json').chmod(0o444)
    return work


def snapshot(folder: Path) -> dict:
    return {p.name: (p.read_bytes(), stat.S_IMODE(p.stat().st_mode)) for p in sorted(folder.iterdir())
            if p.is_file()}


@pytest.mark.parametrize('config', [SEARCH, TRAIN])
def test_running_again_without_resume_is_refused_and_the_result_kept(tmp_path, config):
    work = finished_search(tmp_path / 'work')
    before = snapshot(work)
    args = train_arg_parser('t').parse_args([config, '--work-dir', str(work)])
    args.command = f'python tools/search.py {config} --work-dir {work}'
    with pytest.raises(ResultExistsError) as error:
        load_train_config(args)
    message = str(error.value)
    assert message.startswith(f'{work} holds the result of an earlier run (epoch_2.pth, genotype.json, '
                              'last_checkpoint, search_history.json); it is kept')
    assert f'continue that run:  python tools/search.py {config} --work-dir {work} --resume' in message
    assert f'start a new one: python tools/search.py {config} --work-dir NEW_DIR' in message
    assert '(genotype.json is read-only, so --overwrite is refused too)' in message
    assert snapshot(work) == before
    assert stat.S_IMODE((work / 'genotype.json').stat().st_mode) == 0o444


def test_resume_and_overwrite_go_ahead_but_a_read_only_result_is_never_replaced(tmp_path):
    work = finished_search(tmp_path / 'work')
    before = snapshot(work)
    resumed = load_train_config(train_arg_parser('t').parse_args([SEARCH, '--work-dir', str(work), '--resume']))
    assert resumed.resume is True
    with pytest.raises(ResultExistsError, match=r'genotype.json is read-only: an earlier result someone '
                                                r'protected'):
        load_train_config(train_arg_parser('t').parse_args([SEARCH, '--work-dir', str(work), '--overwrite']))
    assert snapshot(work) == before
    writable = finished_search(tmp_path / 'writable', read_only=False)
    cfg = load_train_config(train_arg_parser('t').parse_args([SEARCH, '--work-dir', str(writable),
                                                              '--overwrite']))
    assert cfg.work_dir == str(writable) and not cfg.get('resume')
    with pytest.raises(ValueError, match='give one of them'):
        load_train_config(train_arg_parser('t').parse_args([SEARCH, '--work-dir', str(work), '--resume',
                                                            '--overwrite']))


def test_a_work_dir_with_only_logs_or_a_new_one_is_started(tmp_path):
    (tmp_path / 'logs' / '20260101_000000').mkdir(parents=True)  # a run that stopped before a checkpoint
    for work in (tmp_path / 'logs', tmp_path / 'new'):
        refuse_earlier_result(str(work))


def test_search_tool_refuses_with_one_message_and_no_traceback(tmp_path):
    work = finished_search(tmp_path / 'work')
    before = snapshot(work)
    proc = subprocess.run([sys.executable, 'tools/search.py', SEARCH, '--work-dir', str(work)], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2
    assert proc.stderr.startswith(f'search.py: error: {work} holds the result of an earlier run'), proc.stderr
    assert f'python tools/search.py {SEARCH} --work-dir {work} --resume' in proc.stderr
    assert 'Traceback' not in proc.stderr
    assert snapshot(work) == before


# --------------------------------------------------------------------------- crops
def detection_set(root: Path, boxes, names=('thing',)) -> tuple[str, str]:
    (root / 'img').mkdir(parents=True)
    rng = np.random.default_rng(0)
    cv2.imwrite(str(root / 'img' / 'a.png'), rng.integers(0, 255, (60, 80, 3), dtype=np.uint8))
    ann = {'images': [{'id': 1, 'file_name': 'a.png', 'height': 60, 'width': 80}],
           'categories': [{'id': i + 1, 'name': n} for i, n in enumerate(names)],
           'annotations': [{'id': i + 1, 'image_id': 1, 'category_id': c, 'bbox': b, 'iscrowd': 0}
                           for i, (c, b) in enumerate(boxes)]}
    (root / 'ann.json').write_text(json.dumps(ann))
    return str(root / 'ann.json'), str(root / 'img')


def crops(folder: Path) -> dict:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob('*')) if p.is_file()}


def test_export_crops_into_a_folder_of_earlier_crops_is_refused(tmp_path, capsys):
    tool = load_tool('tools/dataset/export_crops.py')
    first = detection_set(tmp_path / 'first', [(1, [5, 5, 20, 20]), (1, [30, 10, 30, 30])])
    out = tmp_path / 'crops'
    assert tool.main([*first, str(out)]) == 0
    before = crops(out)
    assert sorted(before) == ['thing/1_1.png', 'thing/1_2.png']
    # another set whose ids are the same: its objects would be written under the earlier names
    other = detection_set(tmp_path / 'other', [(1, [40, 30, 30, 25]), (1, [0, 0, 12, 40]), (1, [9, 9, 30, 9])])
    capsys.readouterr()
    assert tool.main([*other, str(out)]) == 2
    err = capsys.readouterr().err
    assert f'output folder {out} is not empty (1 entries, 2 crops in class folders)' in err
    assert '--overwrite to remove its crops first' in err
    assert crops(out) == before
    # asked to: the earlier crops go first, nothing of them is mixed in
    assert tool.main([*other, str(out), '--overwrite']) == 0
    after = crops(out)
    assert sorted(after) == ['thing/1_1.png', 'thing/1_2.png', 'thing/1_3.png']
    assert after['thing/1_1.png'] != before['thing/1_1.png']
    # a folder that holds more than crops is not emptied even then
    (out / 'notes.txt').write_text('mine')
    assert tool.main([*first, str(out), '--overwrite']) == 2
    assert 'holds more than crops (e.g. notes.txt)' in capsys.readouterr().err
    assert crops(out) == dict(after, **{'notes.txt': b'mine'})


# ------------------------------------------------------------------- random genotypes
def test_sample_genotypes_keeps_a_file_that_holds_another_genotype(tmp_path, capsys):
    tool = load_tool('tools/sample_genotypes.py')
    out = tmp_path / 'random'
    [path] = tool.main(['--seed', '0', '--out', str(out)])
    before = Path(path).read_bytes()
    Path(path).chmod(0o444)
    assert tool.main(['--seed', '0', '--out', str(out)]) == [path]  # the same draw: written again, unchanged
    assert Path(path).read_bytes() == before
    with pytest.raises(SystemExit):
        tool.main(['--seed', '0', '--out', str(out), '--steps', '3', '--multiplier', '3'])
    assert f'{path} exists and holds another genotype' in capsys.readouterr().err
    assert Path(path).read_bytes() == before
    Path(path).chmod(0o644)
    tool.main(['--seed', '0', '--out', str(out), '--steps', '3', '--multiplier', '3', '--overwrite'])
    assert json.loads(Path(path).read_text())['normal'] != json.loads(before)['normal']


def test_latency_predictor_keeps_an_earlier_predictor(tmp_path, capsys):
    """Its measurements take minutes to hours on the target device: refused before anything is measured."""
    out = tmp_path / 'predictor.json'
    out.write_text('{"measured": "earlier"}')
    with pytest.raises(SystemExit):
        load_tool('tools/analysis/latency_predictor.py').main([SEARCH, '--out', str(out), '--n', '4'])
    assert f'--out {out} exists: a predictor measured earlier, which is kept' in capsys.readouterr().err
    assert out.read_text() == '{"measured": "earlier"}'
