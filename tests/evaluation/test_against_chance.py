"""Candidates against chance (tools/against_chance.py): verdicts, cost-matched draws, bad inputs, and a
tiny comparison end to end that resumes without training a finished candidate again."""
import importlib.util
import json
import shutil

import pytest

import nas_backbones  # noqa: F401  registers the families
from nas_backbones.evaluation.candidates import CANDIDATE_FAMILIES, CandidateError, matched_candidates
from nas_backbones.evaluation.chance import Comparison, Request, compare, share_beaten, verdict
from nas_backbones.evaluation.complexity import backbone_cost
from nas_backbones.evaluation.jobs import result_path
from nas_backbones.spaces.darts.sample import parameter_free_genes
from nas_backbones.utils.result_file import write_json
from tests.conftest import ROOT, tiny_ssd_demo_config

DARTS = dict(type='DartsBackbone', C=4, layers=3, out_indices=(1, 2, 3))
SINGLE_PATH = dict(type='SinglePathBackbone', width_mult=0.35, out_indices=(2, 4, 7))


def tool():
    spec = importlib.util.spec_from_file_location('against_chance', ROOT / 'tools' / 'against_chance.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def macs_in(backbone: dict, family, size=(64, 64)):
    return lambda result: backbone_cost(dict(backbone, **{family.key: result}), size)['macs']


# ------------------------------------------------------------------ verdicts
def test_verdict_on_given_numbers():
    group = [40.0, 42.0, 44.0]  # mean 42, sd 2
    assert verdict(44.5, group) == 'beats chance'
    assert verdict(39.5, group) == 'below chance'
    assert verdict(43.9, group) == 'within noise' and verdict(40.1, group) == 'within noise'
    assert verdict(50.0, [40.0]) == 'too few random cells' and verdict(50.0, []) == 'too few random cells'
    # the candidate's own seed spread widens the margin: sd of (43.1, 45.1) is 1.41, se 1, margin sqrt(4 + 1)
    assert verdict(44.1, group) == 'beats chance' and verdict(44.1, group, [43.1, 45.1]) == 'within noise'
    assert verdict(44.3, group, [44.3, 44.3]) == 'beats chance' and verdict(44.3, group, [40.3, 48.3]) == 'within noise'
    assert share_beaten(43.0, group) == pytest.approx(2 / 3)
    assert share_beaten(42.0, group) == pytest.approx(0.5)  # a tie counts half
    assert share_beaten(42.0, []) is None


# -------------------------------------------------------- cost-matched draws
def test_darts_draws_matched_by_macs_stay_in_their_band_and_repeat():
    family = CANDIDATE_FAMILIES['DartsBackbone']
    reference = family.load('PC_DARTS_image')
    macs = macs_in(DARTS, family)
    want = macs(reference)
    drawn = matched_candidates(family, reference, 3, seed=0, by='macs', band=0.1, macs_of=macs)
    assert len(drawn) == 3
    for genotype, how in drawn:
        assert abs(macs(genotype) / want - 1) <= 0.1 and how['value'] == macs(genotype)
        assert genotype.to_dict() != reference.to_dict()
    again = matched_candidates(family, reference, 2, seed=0, by='macs', band=0.1, macs_of=macs)
    assert [g.to_dict() for g, _ in again] == [g.to_dict() for g, _ in drawn[:2]]  # per seed, prefix-stable
    other = matched_candidates(family, reference, 1, seed=1, by='macs', band=0.1, macs_of=macs)
    assert other[0][0].to_dict() != drawn[0][0].to_dict()


def test_darts_draws_matched_by_parameter_free_genes_have_the_reference_count():
    family = CANDIDATE_FAMILIES['DartsBackbone']
    reference = family.load('DARTS_V2')
    assert parameter_free_genes(reference) == (2, 8)  # its reduction cell: pools and skips only
    drawn = matched_candidates(family, reference, 5, seed=0, by='param_free')
    assert all(parameter_free_genes(g) == (2, 8) for g, _ in drawn)
    assert len({json.dumps(g.to_dict()) for g, _ in drawn}) == 5


def test_a_band_no_draw_meets_is_named():
    family = CANDIDATE_FAMILIES['DartsBackbone']
    reference = family.load('PC_DARTS_image')
    cost = lambda g: 100 if g is reference else 150  # noqa: E731  every draw is 50% dearer
    with pytest.raises(CandidateError, match=r'none of 4 random draws had backbone MACs within 10% '
                                             r'.*the closest of them was \+50\.0%\. Widen --band'):
        matched_candidates(family, reference, 1, seed=0, band=0.1, macs_of=cost, max_draws=4)


def test_singlepath_draws_matched_by_macs_and_random_ones():
    family = CANDIDATE_FAMILIES['SinglePathBackbone']
    reference = family.load('SPNAS_Pixel1')
    macs = macs_in(SINGLE_PATH, family)
    want = macs(reference)
    drawn = matched_candidates(family, reference, 2, seed=0, by='macs', band=0.1, macs_of=macs)
    for arch, _ in drawn:
        assert abs(macs(arch) / want - 1) <= 0.1
        assert sorted(arch.ops()) == sorted(reference.ops()) and arch.ops() != reference.ops()
    uniform = family.random(SINGLE_PATH, 0, 1)
    assert uniform.ops() != reference.ops() and family.random(SINGLE_PATH, 0, 1) == uniform
    with pytest.raises(CandidateError, match=r"--match-by 'param_free': this space matches by \['macs'\]"):
        matched_candidates(family, reference, 1, seed=0, by='param_free')


# ------------------------------------------------------------------ bad input
@pytest.fixture
def config(tmp_path, shapes):
    return tiny_ssd_demo_config(tmp_path / 'ssd.py', str(shapes))


@pytest.mark.parametrize('args, said', [
    (['--candidate', 'a=PC_DARTS_imagee'], "--candidate a=PC_DARTS_imagee: genotype 'PC_DARTS_imagee' "
                                           'is neither a published name'),
    (['--candidate', 'a=no/such/genotype.json'], "genotype 'no/such/genotype.json' is neither a "
                                                 'published name'),
    (['--random', '1', '--workers', '0'], '--workers: an integer >= 1'),
    (['--random', '1', '--band', '0'], '--band: a fraction in (0, 1), got 0.0'),
    (['--random', '1', '--band', '-0.1'], '--band: a fraction in (0, 1), got -0.1'),
    (['--matched', '1', '--candidate', 'a=DARTS_V2', '--match-to', 'b'], "--match-to 'b': not a --candidate"),
])
def test_bad_inputs_are_named(config, tmp_path, capsys, args, said):
    with pytest.raises(SystemExit) as stop:
        tool().main([str(config), '--work-dir', str(tmp_path / 'work'), *args])
    assert stop.value.code == 2
    assert said in capsys.readouterr().err
    assert not (tmp_path / 'work' / 'runs').exists()  # nothing was trained


def test_a_name_given_to_another_result_or_another_setting_is_refused(config, tmp_path):
    work = str(tmp_path / 'work')
    Comparison(Request(str(config), work, candidates=[('a', 'PC_DARTS_image')])).prepare()
    with pytest.raises(CandidateError, match=r"candidate name 'a' is taken in .*: it was PC_DARTS_image "
                                             r'\(.*candidates/a\.json\), and DARTS_V2 is a different result'):
        Comparison(Request(str(config), work, candidates=[('a', 'DARTS_V2')])).prepare()
    with pytest.raises(CandidateError, match=r'holds trainings of another setting: cfg_options was \{\}'):
        Comparison(Request(str(config), work, candidates=[('a', 'PC_DARTS_image')],
                           cfg_options={'train_cfg.max_epochs': 2}))
    names = Comparison(Request(str(config), work, candidates=[('a', 'PC_DARTS_image')], random=2)).prepare()
    assert names == ['a', 'random_s0_000', 'random_s0_001']  # more candidates are added
    manifest = json.loads((tmp_path / 'work' / 'candidates.json').read_text())
    assert manifest['candidates']['random_s0_001']['kind'] == 'random'
    assert manifest['candidates']['a']['macs'] > 0 and manifest['candidates']['a']['input_size'] == [192, 192]


def test_report_only_tables_the_finished_trainings_and_trains_nothing(config, tmp_path):
    """--report-only (beside a run that trains): finished trainings are tabled, the rest are 'not run'."""
    work = tmp_path / 'work'
    req = dict(candidates=[('a', 'PC_DARTS_image'), ('b', 'DARTS_V2')], random=2, seeds=[0, 1])
    cmp = Comparison(Request(str(config), str(work), **req))
    jobs = cmp.jobs(cmp.prepare())
    finished = {('a', 0): 0.30, ('a', 1): 0.34, ('random_s0_000', 0): 0.20, ('random_s0_001', 0): 0.26}
    for job in jobs:  # what a finished training writes (evaluation/jobs.py), for four of the eight
        if (job['name'], job['seed']) in finished:
            write_json(result_path(job), dict(test={'coco/bbox_mAP': finished[job['name'], job['seed']]}))
    summary = compare(Request(str(config), str(work), report_only=True, **req), plot=False)
    rows = {r['name']: r for r in summary['rows']}
    assert rows['a']['per_seed'] == {'0': 0.30, '1': 0.34} and rows['a']['mean'] == pytest.approx(0.32)
    assert rows['b']['mean'] is None and rows['b']['failed'] == {'0': 'not run', '1': 'not run'}
    assert summary['groups']['random']['n'] == 2 and summary['groups']['random']['mean'] == pytest.approx(0.23)
    assert rows['a']['verdict']['random'] == 'beats chance'  # 0.32 > 0.23 + sd 0.042
    assert 'not run' in (work / 'chance.md').read_text()
    assert not list(work.glob('runs/*/*/job.log'))  # nothing was trained


def test_random_seeds_train_the_random_groups_with_their_own_seeds(config, tmp_path):
    """--seeds 0 1 2 --random-seeds 0 1: the named candidates get three trainings, the random ones two,
    and the table counts each candidate's own seeds (no 'not run' for a seed it never had)."""
    work = tmp_path / 'work'
    req = dict(candidates=[('a', 'PC_DARTS_image')], random=2, seeds=[0, 1, 2], random_seeds=[0, 1])
    cmp = Comparison(Request(str(config), str(work), **req))
    jobs = cmp.jobs(cmp.prepare())
    assert sorted((j['name'], j['seed']) for j in jobs) == [
        ('a', 0), ('a', 1), ('a', 2), ('random_s0_000', 0), ('random_s0_000', 1),
        ('random_s0_001', 0), ('random_s0_001', 1)]
    for job in jobs:
        write_json(result_path(job), dict(test={'coco/bbox_mAP': 0.1 * (job['seed'] + 1)}))
    summary = compare(Request(str(config), str(work), report_only=True, **req), plot=False)
    rows = {r['name']: r for r in summary['rows']}
    assert rows['a']['per_seed'] == {'0': 0.1, '1': 0.2, '2': pytest.approx(0.3)}
    assert rows['random_s0_001']['per_seed'] == {'0': 0.1, '1': 0.2} and not rows['random_s0_001']['failed']
    assert summary['seeds'] == [0, 1, 2] and summary['random_seeds'] == [0, 1]
    assert 'seeds 0, 1, 2 (the random candidates: 0, 1)' in (work / 'chance.md').read_text()
    with pytest.raises(CandidateError, match=r'--random-seeds: duplicates in \[1, 1\]'):
        Comparison(Request(str(config), str(work), **dict(req, random_seeds=[1, 1])))


# ------------------------------------------------------------------ end to end
@pytest.mark.slow
def test_two_candidates_end_to_end_then_resumed_without_training_again(config, tmp_path):
    work = tmp_path / 'work'
    said = []
    req = Request(str(config), str(work), candidates=[('pcdarts', 'PC_DARTS_image')], random=1, seeds=[0],
                  workers=2)
    summary = compare(req, say=said.append)
    for name in ('chance.json', 'chance.md', 'chance.png'):
        assert (work / name).is_file()
    assert (work / 'chance.png').read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'
    rows = {r['name']: r for r in summary['rows']}
    assert set(rows) == {'pcdarts', 'random_s0_000'}
    for r in rows.values():
        assert list(r['per_seed']) == ['0'] and 0 <= r['mean'] <= 1 and r['sd'] == 0
        assert r['macs'] > 0 and r['params'] > 0 and r['rank'] in (1, 2) and not r['failed']
    assert rows['pcdarts']['kind'] == 'published' and rows['random_s0_000']['kind'] == 'random'
    assert rows['pcdarts']['verdict'] == {'random': 'too few random cells', 'matched': 'too few random cells'}
    assert json.loads((work / 'chance.json').read_text())['format'] == 'nas_backbones.chance/1'
    table = (work / 'chance.md').read_text()
    assert '| pcdarts | published |' in table and 'candidates/random_s0_000.json' in table
    result = json.loads((work / 'runs/pcdarts/seed0/result.json').read_text())
    assert result['threads'] >= 1 and 'coco/bbox_mAP' in result['test'] and 'coco/bbox_mAP' in result['val']
    assert result['options']['model.backbone.genotype'] == str(work / 'candidates/pcdarts.json')
    assert 'thread(s) per process' in (work / 'runs/pcdarts/seed0/job.log').read_text()

    def stamps():
        return {p: p.stat().st_mtime_ns for p in work.glob('runs/*/seed*/result.json')}

    before = stamps()
    said.clear()
    compare(req, say=said.append)  # the same command again: nothing to train
    assert stamps() == before and any('2 of 2 training(s) already done' in s for s in said)

    # one job killed after its checkpoint, before its result: resumed from the checkpoint;
    # the other's work dir gone: started over
    (work / 'runs/random_s0_000/seed0/result.json').unlink()
    shutil.rmtree(work / 'runs/pcdarts')
    compare(req, say=said.append)
    again = json.loads((work / 'runs/random_s0_000/seed0/result.json').read_text())
    assert again['resumed_from'].endswith('epoch_1.pth')
    assert 'resumed epoch: 1' in (work / 'runs/random_s0_000/seed0/job.log').read_text()
    fresh = json.loads((work / 'runs/pcdarts/seed0/result.json').read_text())
    assert fresh['resumed_from'] is None and 'coco/bbox_mAP' in fresh['test']
