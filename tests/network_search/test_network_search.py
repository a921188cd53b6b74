"""The network-level search: a non-dominated, feasible, reproducible front; resume; two workers; bad declarations."""
import json

import pytest
import torch
from mmengine.config import Config

from nas_backbones.network_search import SpaceDeclarationError, load_pareto, non_dominated, pareto_point
from nas_backbones.network_search.evaluate import macs_and_params
from nas_backbones.spaces.darts import DartsBackbone, DartsNetworkSpace, GenotypeClassifier
from tests.conftest import ROOT, TINY_SPACE, kill_and_resume_network_search, load_tool
from tests.conftest import network_search_cfg as search_cfg

MIN_MACS = 6.6e4  # a lower bound that the smallest networks of TINY_SPACE violate


def evaluations(work_dir):
    path = work_dir / 'evaluations.jsonl'
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def test_front_is_non_dominated_feasible_reproducible_and_builds_the_networks(tmp_path):
    from nas_backbones.network_search.search import run_search
    fronts = []
    for run in ('a', 'b'):
        cfg = search_cfg(constraints=dict(macs=dict(min=MIN_MACS)), plot=(run == 'a'))
        fronts.append(run_search(cfg, str(tmp_path / run)))
    a, b = fronts
    # the same seed, the same trials: the same front
    assert [(p['trial'], p['architecture'], p['objectives']) for p in a['points']] == \
           [(p['trial'], p['architecture'], p['objectives']) for p in b['points']]
    assert (tmp_path / 'a/pareto.png').stat().st_size > 0
    report = (tmp_path / 'a/report/README.md').read_text()
    assert '](../pareto.png)' in report and 'Constraints: macs >= 66000' in report
    assert report.count('\n| ') == 1 + len(a['points'])  # header + one row per point
    # what a point builds is the network space's sentence (a DARTS one here), not the report's
    assert report.endswith(f'\n\n{DartsNetworkSpace.builds}\n') and 'DartsBackbone(**architecture' in report
    assert load_pareto(tmp_path / 'a/pareto.json') == a

    cands = json.loads((tmp_path / 'a/candidates.json').read_text())['candidates']
    done = [c for c in cands if c['state'] == 'COMPLETE']
    assert len(done) == 6
    assert any(not c['feasible'] for c in done), 'the constraint must exclude some candidate here'
    # a network proposed again is not measured again: its trial copies the first one's metrics
    dups = [c for c in done if c['duplicate_of'] is not None]
    by_trial = {c['trial']: c for c in done}
    assert dups and all(c['metrics'] == by_trial[c['duplicate_of']]['metrics'] and
                        c['architecture'] == by_trial[c['duplicate_of']]['architecture'] for c in dups)
    assert len(evaluations(tmp_path / 'a')) == len(done) - len(dups)
    for c in done:  # feasibility is the declared bound
        assert c['feasible'] == (c['metrics']['macs'] >= MIN_MACS)
    # the front is exactly the non-dominated set of the distinct feasible candidates
    feasible = {json.dumps(c['architecture'], sort_keys=True): c for c in done if c['feasible']}
    pool = list(feasible.values())
    best = non_dominated([[c['objectives']['macs'], c['objectives']['params']] for c in pool],
                         ['minimize', 'minimize'])
    want = sorted(json.dumps(pool[i]['architecture'], sort_keys=True) for i in best)
    assert sorted(json.dumps(p['architecture'], sort_keys=True) for p in a['points']) == want
    assert all(p['metrics']['macs'] >= MIN_MACS for p in a['points'])
    # without the bound the smallest (violating) networks would be the front: it keeps them off
    everything = non_dominated([[c['objectives']['macs'], c['objectives']['params']] for c in done],
                               ['minimize', 'minimize'])
    assert any(not done[i]['feasible'] for i in everything)

    # every point builds the backbone and the classifier, and measures what the file says
    for i, point in enumerate(a['points']):
        arch = pareto_point(tmp_path / 'a/pareto.json', i)
        backbone = DartsBackbone(**arch['backbone']).eval()
        assert len(backbone(torch.zeros(1, 3, arch['input_size'], arch['input_size']))) == 3
        net = GenotypeClassifier(backbone=arch['backbone'], num_classes=10, auxiliary=False)
        assert macs_and_params(net, (3, arch['input_size'], arch['input_size'])) == \
            (point['objectives']['macs'], point['objectives']['params'])
        assert backbone.out_channels == arch['out_channels']
    # the SSD detector of configs/ssd_pcdarts_demo.py takes a point's backbone (its neck the point's channels)
    from mmdet.registry import MODELS
    det = Config.fromfile(str(ROOT / 'configs/ssd_pcdarts_demo.py')).model
    arch = a['points'][0]['architecture']
    det.backbone.update(arch['backbone'])
    det.neck.in_channels = arch['out_channels'][1:]
    det.neck.out_channels = det.bbox_head.in_channels = arch['out_channels'][1:] + [128, 128, 128]
    cls_scores, _ = MODELS.build(det).eval()(torch.zeros(1, 3, 192, 192), mode='tensor')
    assert len(cls_scores) == 6
    # and the complexity tool measures a point as the search did
    measured = load_tool('tools/analysis/complexity.py').main(
        ['--pareto', str(tmp_path / 'a/pareto.json'), '--point', '0', '--num-classes', '10'])
    assert (measured['flops'], measured['params']) == (a['points'][0]['objectives']['macs'],
                                                       a['points'][0]['objectives']['params'])


def test_predicted_latency_objective_uses_a_predictor_measured_on_the_space(tmp_path):
    """tools/analysis/latency_predictor.py on a network-search config, then the search predicts with it."""
    from nas_backbones.core.predictor import LatencyPredictor, PredictorError
    from nas_backbones.network_search.search import SearchSettings, run_search
    pred = tmp_path / 'predictor.json'
    cfg = search_cfg(objectives=['params', 'latency'], n_trials=3,
                     latency=dict(source='predictor', predictor=str(pred)))
    cfg.dump(str(tmp_path / 'search.py'))
    load_tool('tools/analysis/latency_predictor.py').main(
        [str(tmp_path / 'search.py'), '--out', str(pred), '--n', '8', '--repeats', '2', '--steps', '50'])
    data = json.loads(pred.read_text())
    assert data['measured'] == 8 and data['macro'] is None and data['sampled']['per_stage'] is True
    assert data['macro_range']['C'] == [4, 8] and data['device_description']['device'] == 'cpu'
    assert set(data['accuracy']) == {'train', 'holdout'} and data['accuracy']['holdout']['n'] == 2
    front = run_search(cfg, str(tmp_path / 'work'))
    settings = SearchSettings(cfg, str(tmp_path / 'work'))
    model = LatencyPredictor.load(pred)
    cands = json.loads((tmp_path / 'work/candidates.json').read_text())['candidates']
    for c in cands:
        arch = settings.space.suggest(optuna_fixed(c['params']))
        with torch.no_grad():
            assert c['metrics']['latency'] == pytest.approx(float(model(settings.space.encode(arch))), rel=1e-5)
    assert front['points']
    # a candidate outside what the predictor measured is refused, not extrapolated
    data['macro_range']['C'] = [4, 4]
    pred.write_text(json.dumps(data))
    with pytest.raises(PredictorError, match=r'candidate: C=8 is outside what the latency predictor'):
        run_search(search_cfg(objectives=['params', 'latency'], n_trials=6, space=dict(TINY_SPACE, C=[8]),
                              latency=dict(source='predictor', predictor=str(pred))), str(tmp_path / 'other'))


def optuna_fixed(params):
    import optuna
    return optuna.trial.FixedTrial(params)


def test_resume_after_a_kill_and_two_workers_share_the_study(tmp_path):
    """Two worker processes fill one study; the run is killed; a restart evaluates no finished network again."""
    work = tmp_path / 'work'
    # enough trials that worker 0 cannot finish them all while worker 1 starts up (about 4 of its
    # trials on an idle machine), so the kill always lands mid-run
    cfg = search_cfg(objectives=['macs', 'latency'], n_trials=20, workers=2,
                     latency=dict(source='measured', repeats=20))
    cfg_path = tmp_path / 'search.py'
    cfg.dump(str(cfg_path))
    kill_and_resume_network_search(cfg_path, work, f'sqlite:///{work / "study.db"}', n_trials=20)


def test_a_resumed_study_refuses_another_search(tmp_path):
    from nas_backbones.network_search.search import SearchSettings, open_study
    open_study(SearchSettings(search_cfg(), str(tmp_path)))
    other = search_cfg(space=dict(TINY_SPACE, C=[4, 8, 16]))
    with pytest.raises(SpaceDeclarationError, match=r"made by another search \(its space is"):
        open_study(SearchSettings(other, str(tmp_path)))


@pytest.mark.parametrize('change, match', [
    (dict(space=dict(TINY_SPACE, C=[4, 15])), r'network_search\.space\.C\[1\]: 15 is not a positive even number'),
    (dict(space=dict(TINY_SPACE, stage_cells=[[0, 1], [1], [1]])), r'space\.stage_cells\[0\]\[0\]: 0 is below 1'),
    (dict(space=dict(TINY_SPACE, stage_cells=[[1], [-1], [1]])), r'space\.stage_cells\[1\]\[0\]: -1 is below 0'),
    (dict(space=dict(TINY_SPACE, stage_cells=[[1, 2], [0, 1]])),
     r'space\.stage_cells has 2 entries, so the networks have stages 0\.\.2 \(the stem, then one per entry\), '
     r'but model\.backbone\.out_indices=\(1, 2, 3\) taps stage 3: give stage_cells 3 entries'),
    (dict(space=dict(TINY_SPACE, genotypes=['DARTS_V2', 'NO_SUCH'])), r"space\.genotypes\[1\]: genotype 'NO_SUCH'"),
    (dict(space=dict(TINY_SPACE, input_size=[32, 32])), r'space\.input_size: duplicate choices'),
    (dict(space=dict(TINY_SPACE, input_size=[])), r'space\.input_size: needs at least one choice'),
    (dict(space=dict(TINY_SPACE, stem='vgg')), r"space\.stem: 'vgg' is not one of"),
    (dict(space=dict(TINY_SPACE, widths=[8])), r"unexpected keyword argument 'widths'"),
    (dict(space=dict(TINY_SPACE, type='NoSuchSpace')), r"space\.type: unknown space 'NoSuchSpace'"),
    (dict(objectives=['macs', 'speed']), r"objectives\[1\]: unknown objective 'speed'"),
    (dict(objectives=[]), r'objectives: a non-empty list'),
    (dict(constraints=dict(macs='600M')), r'constraints\.macs: a number \(upper bound\)'),
    (dict(constraints=dict(flops=6e8)), r'constraints\.flops: unknown metric'),
    (dict(constraints=dict(accuracy=dict(min=float('nan')))), r'constraints\.accuracy\.min: must be a finite'),
    (dict(objectives=['accuracy']), r"objective 'accuracy' trains each candidate on train_dataloader"),
    (dict(accuracy=dict(epoch=1)), r"network_search\.accuracy: unknown field\(s\) \['epoch'\]"),
    (dict(objectives=['latency'], latency=dict(source='predictor')), r'latency\.predictor: source=.predictor. needs'),
    (dict(objectives=['latency'], latency=dict(source='table')), r"latency\.source: 'measured' or 'predictor'"),
    (dict(sampler=dict(population_size=1)), r'sampler\.population_size: must be an integer >= 2'),
    (dict(n_trial=3), r"network_search: unknown field\(s\) \['n_trial'\]"),
])
def test_bad_declarations_name_the_field(tmp_path, change, match):
    from nas_backbones.network_search.search import SearchSettings
    with pytest.raises(SpaceDeclarationError, match=match):
        SearchSettings(search_cfg(**change), str(tmp_path))


def test_the_config_and_its_tiny_cpu_variant_declare_valid_searches(tmp_path):
    from nas_backbones.network_search.search import SearchSettings
    for name in ('darts_mobile_imagenet', 'darts_tiny_cpu'):
        s = SearchSettings(Config.fromfile(str(ROOT / f'configs/network_search/{name}.py')), str(tmp_path))
        assert s.objectives == ['accuracy', 'macs', 'latency'] and s.constraints['macs'][1] > 0


def colour_loaders(root, size: int = 16):
    """Two classes of ``size`` px images told apart by colour, in train/val folders; the loader
    config of a split."""
    import cv2
    import numpy as np
    rng = np.random.default_rng(0)
    for split in ('train', 'val'):
        for label, channel in enumerate((0, 2)):
            folder = root / split / f'c{label}'
            folder.mkdir(parents=True)
            for i in range(12):
                img = rng.integers(0, 60, (size, size, 3), dtype=np.uint8)
                img[..., channel] = 200 + rng.integers(0, 55)
                cv2.imwrite(str(folder / f'{i}.png'), img)
    pipeline = [dict(type='LoadImageFromFile'), dict(type='PackClsInputs')]
    return lambda split, shuffle: dict(  # noqa: E731
        batch_size=8, num_workers=0, sampler=dict(type='DefaultSampler', shuffle=shuffle),
        dataset=dict(type='ImageNetDataset', data_prefix=str(root / split), pipeline=pipeline))


def test_short_training_learns_a_separable_task(tmp_path):
    """The accuracy objective's training: colour tells the class, so a few steps are enough."""
    from nas_backbones.network_search.evaluate import short_training
    loader = colour_loaders(tmp_path)
    torch.manual_seed(0)  # the initialisation too (30 steps reach 100% from each of seeds 0-5)
    net = GenotypeClassifier(genotype='DARTS_V2', C=4, layers=3, num_classes=2, auxiliary=False,
                             label_smoothing=0.)
    result = short_training(net, loader('train', True), loader('val', False),
                            dict(max_iters=30, lr=0.1, seed=0))
    assert result['train_iters'] == 30
    assert result['accuracy'] >= 0.9


@pytest.mark.parametrize('workers', [0, -1])
def test_workers_below_one_are_refused_not_ignored(tmp_path, workers):
    from nas_backbones.network_search.search import run_search
    with pytest.raises(SpaceDeclarationError, match=rf'--workers: must be an integer >= 1, got {workers}'):
        run_search(search_cfg(), str(tmp_path), workers=workers)
    assert not (tmp_path / 'study.db').exists()


def test_a_negative_point_is_refused_not_counted_from_the_end(tmp_path):
    from nas_backbones.network_search.search import run_search
    run_search(search_cfg(n_trials=2), str(tmp_path / 'a'), workers=1)
    front = tmp_path / 'a/pareto.json'
    assert pareto_point(front, 0)
    n = len(load_pareto(front)['points'])
    with pytest.raises(ValueError, match=rf'pareto.json: no point -1 \(the front has {n}: 0..{n - 1}\)'):
        pareto_point(front, -1)


# one network at two input sizes (the stem's 3-channel conv sees the image)
SIZE_SPACE = dict(TINY_SPACE, genotypes=['DARTS_V2'], genotype_per_stage=False, C=[4],
                  stage_cells=[[1], [0], [0]], input_size=[16, 32])


def test_each_candidate_trains_and_is_evaluated_at_its_own_input_size(tmp_path):
    """The loaders give 16 px images; the 32 px candidate must see 32 px ones, the 16 px one 16."""
    from nas_backbones.network_search.search import Evaluator, SearchSettings
    loader = colour_loaders(tmp_path)
    cfg = search_cfg(space=SIZE_SPACE, objectives=['accuracy', 'macs'], accuracy=dict(max_iters=2))
    cfg.train_dataloader, cfg.val_dataloader = loader('train', True), loader('val', False)
    settings = SearchSettings(cfg, str(tmp_path / 'work'))
    evaluator = Evaluator(settings)
    seen = []

    def stem_input(module, args):
        if isinstance(module, torch.nn.Conv2d) and module.in_channels == 3:
            seen.append(('train' if module.training else 'eval', tuple(args[0].shape)))

    handle = torch.nn.modules.module.register_module_forward_pre_hook(stem_input)
    try:
        shapes = {}
        for size in (16, 32):
            arch = settings.space.suggest(optuna_fixed(dict(genotype='DARTS_V2', C=4, stage1_cells=1,
                                                            stage2_cells=0, stage3_cells=0,
                                                            input_size=size)))
            seen.clear()
            result = evaluator.accuracy(arch)
            shapes[size] = sorted(set(seen))
            assert 0. <= result['accuracy'] <= 1.
    finally:
        handle.remove()
    # 2 training batches of 8, then the 24 validation images (8 a batch), at the candidate's size
    assert shapes == {s: [('eval', (8, 3, s, s)), ('train', (8, 3, s, s))] for s in (16, 32)}


def test_candidates_that_break_a_cost_bound_are_recorded_infeasible_without_training(tmp_path):
    """MACs are known before training: a candidate above the bound is not trained (no training
    step ever sees a 32 px image), one within it is."""
    from nas_backbones.network_search.search import run_search
    loader = colour_loaders(tmp_path)
    from nas_backbones.network_search.search import Evaluator, SearchSettings
    free = SearchSettings(search_cfg(space=SIZE_SPACE, objectives=['macs']), str(tmp_path / 'free'))
    macs = {size: Evaluator(free).costs(dict(genotypes=['DARTS_V2'] * 3, C=4, stage_cells=[1, 0, 0],
                                             input_size=size))['macs'] for size in (16, 32)}
    bound = (macs[16] + macs[32]) / 2
    cfg = search_cfg(space=SIZE_SPACE, objectives=['accuracy', 'macs'], n_trials=4,
                     constraints=dict(macs=bound), accuracy=dict(max_iters=1),
                     sampler=dict(population_size=2, seed=0))
    cfg.train_dataloader, cfg.val_dataloader = loader('train', True), loader('val', False)
    work = tmp_path / 'work'
    trained = set()

    def stem_input(module, args):
        if isinstance(module, torch.nn.Conv2d) and module.in_channels == 3 and module.training:
            trained.add(args[0].shape[-1])

    handle = torch.nn.modules.module.register_module_forward_pre_hook(stem_input)
    try:
        run_search(cfg, str(work))
    finally:
        handle.remove()
    assert trained == {16}
    done = [c for c in json.loads((work / 'candidates.json').read_text())['candidates']
            if c['state'] == 'COMPLETE']
    by_size = {c['architecture']['input_size']: c for c in done}
    assert set(by_size) == {16, 32}, 'the seed must draw both sizes'
    big, fit = by_size[32], by_size[16]
    assert big['metrics']['macs'] == macs[32] > bound > fit['metrics']['macs'] == macs[16]
    assert not big['feasible'] and big['not_trained'] == ['macs'] and big['metrics']['accuracy'] == 0.
    assert 'train_seconds' not in big['metrics']
    assert fit['feasible'] and fit['not_trained'] is None and fit['metrics']['train_seconds'] > 0
    logged = {e['key']: e for e in evaluations(work)}
    assert sorted(e['not_trained'] is None for e in logged.values()) == [False, True]
