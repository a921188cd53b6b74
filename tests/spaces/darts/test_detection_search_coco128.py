"""The detection search on coco128 (configs/search/pcdarts_ssd_coco128.py on 8 + 8 images): end to end to
a genotype that builds the SSD config, each phase moves only its own parameters, an exact resume
after a kill, and two CPU ranks that agree."""
import json
import os
import subprocess
import sys

import pytest
import torch
from mmengine.config import Config
from mmengine.runner import Runner

import nas_backbones  # noqa: F401
import nas_backbones.datasets.coco  # noqa: F401  SearchCocoDataset, for the in-process data loader
from nas_backbones.compat import checkpoint_loading
from nas_backbones.core.optim import SearchOptimWrapperConstructor
from nas_backbones.spaces.darts import load_genotype
from tests.conftest import (
    NO_REPORT,
    ROOT,
    assert_same_search,
    coco128_search_config,
    coco128_split,
    free_port,
    kill_then_resume,
    log_text,
    run_full_search,
)

pytestmark = pytest.mark.slow

CONFIG = """
_base_ = '{root}/configs/search/pcdarts_ssd_coco128.py'
_dataset = dict(data_prefix=dict(img='{data}/train2017/'))
train_dataloader = dict(batch_size=4, dataset=dict(_dataset, ann_file='{split}/train.json'))
train_cfg = dict(max_epochs=3, arch_warmup_epochs=1,
                 arch_dataloader=dict(batch_size=4, dataset=dict(_dataset, ann_file='{split}/val.json')))
param_scheduler = dict(weights=[dict(type='CosineAnnealingLR', T_max=3, eta_min=0., by_epoch=True,
                                     begin=0, end=3)], arch=[])
default_hooks = dict(logger=dict(interval=1), checkpoint=dict(max_keep_ckpts=5))
custom_hooks = [dict(type='DerivationHook'), dict(type='RNGStateHook'),
                dict(type='SearchReportHook', measure_cost=False)]
"""
# Checkpoints every 3 iterations (2 per epoch): iter_3 is taken after batch 1 of epoch 2, with the
# architecture split mid-pass; one persistent worker process per loader, whose augmentation
# (SearchCocoDataset under ResumableSampler) must not depend on where the run was resumed.
MID_EPOCH = """
default_hooks['checkpoint'].update(by_epoch=False, interval=3)
for loader in (train_dataloader, train_cfg['arch_dataloader']):
    loader.update(num_workers=1, persistent_workers=True)
custom_imports = dict(imports=['nas_backbones', 'nas_backbones.datasets.coco',
                               'nas_backbones.visualization.report_hook', 'kill_hook'])
custom_hooks = custom_hooks + [dict(type='KillAfterIter')]
"""


@pytest.fixture(scope='module')
def split(tmp_path_factory):
    """8 + 8 disjoint images of coco128 (tools/dataset/coco_split.py)."""
    return coco128_split(tmp_path_factory, 'coco128_search')


def search_config(split, tmp_path, extra: str = ''):
    return coco128_search_config(CONFIG, split, tmp_path, extra)


@pytest.fixture(scope='module')
def full_search(split, tmp_path_factory):
    """One uninterrupted 3-epoch search (1 warm-up epoch, 2 with architecture steps)."""
    return run_full_search(search_config(split, tmp_path_factory.mktemp('full'), MID_EPOCH), timeout=300)


def test_search_writes_a_genotype_that_builds_the_ssd_config(full_search):
    _, work, stdout = full_search
    assert f'result: {work}/genotype.json' in stdout
    genotype = load_genotype(str(work / 'genotype.json'))  # validated
    history = json.loads((work / 'search_history.json').read_text())['history']
    assert [h['epoch'] for h in history] == [1, 2, 3]
    assert [h['arch_active'] for h in history] == [False, True, True]
    assert history[-1]['genotype'] == genotype.to_dict()
    # alpha changed over the search (that SSD's loss moves it, with the cost term and alpha's
    # weight decay off, is checked step by step in test_each_phase_moves_only_its_own_parameters)
    assert history[0]['alpha_normal'] != history[-1]['alpha_normal']
    assert (work / 'report/README.md').is_file()
    log = log_text(work)
    assert 'loss_cls' in log and 'loss_bbox' in log and 'arch_loss' in log

    from mmdet.registry import MODELS
    cfg = Config.fromfile(str(ROOT / 'configs/ssd_pcdarts_coco.py'))
    cfg.model.backbone.genotype = str(work / 'genotype.json')
    ssd = MODELS.build(cfg.model).eval()
    assert ssd.backbone.genotype == genotype
    with torch.no_grad():
        feats = ssd.extract_feat(torch.zeros(1, 3, 300, 300))
    assert [f.shape[-1] for f in feats] == [38, 19, 10, 5, 3, 1]  # SSD300's six maps


def test_each_phase_moves_only_its_own_parameters(split, tmp_path):
    """On coco128 batches through the config's data pipeline: the architecture phase of a step
    changes alpha/beta and no weight, the weight phase every weight it reaches and no alpha/beta.
    The FLOPs term and alpha's weight decay are off (each would move alpha by itself, Adam
    normalising even a tiny gradient), so what moves alpha here is SSD's loss."""
    cfg = Config.fromfile(str(search_config(split, tmp_path)))
    cfg.model.space.cost.weight = 0.
    cfg.optim_wrapper.arch.optimizer.weight_decay = 0.
    torch.manual_seed(0)
    from mmdet.registry import MODELS
    algo = MODELS.build(cfg.model)
    algo.init_weights()
    optim = SearchOptimWrapperConstructor(
        {k: v for k, v in cfg.optim_wrapper.to_dict().items() if k != 'constructor'})(algo)
    batches = [next(iter(Runner.build_dataloader(dict(loader, num_workers=0, persistent_workers=False),
                                                 seed=0)))
               for loader in (cfg.train_dataloader, cfg.train_cfg.arch_dataloader)]
    space = algo.space

    def state():
        return ([p.detach().clone() for p in space.model.parameters()],
                [p.detach().clone() for p in space.arch.parameters()])

    w0, a0 = state()
    log = {}
    algo._arch_step(algo, algo.data_preprocessor(batches[0], True), algo.data_preprocessor(batches[1], True),
                    optim['weights'], optim['arch'], log)
    w1, a1 = state()
    assert all(torch.equal(x, y) for x, y in zip(w0, w1)), 'the architecture step changed a weight'
    assert all(not torch.equal(x, y) for x, y in zip(a0, a1)), 'alpha or beta did not move'
    # Adam's first step moves every entry with a non-zero gradient by about lr: SSD's loss
    # reaches each alpha and beta (a zero gradient would leave its entry where it was)
    lr = cfg.optim_wrapper.arch.optimizer.lr
    assert all(((y - x).abs() > lr / 2).all() for x, y in zip(a0, a1)), \
        'an alpha or beta entry did not receive a gradient from the detection loss'
    assert torch.isfinite(log['arch_loss'])

    algo.train_step(dict(weights=batches[0], arch=None), optim)
    w2, a2 = state()
    assert all(torch.equal(x, y) for x, y in zip(a1, a2)), 'the weight step changed alpha/beta'
    moved = sum(not torch.equal(x, y) for x, y in zip(w1, w2))
    assert moved == len(w1), f'{len(w1) - moved} weights of the detector did not move'


def test_kill_mid_epoch_then_resume_is_exact(full_search, split, tmp_path, monkeypatch):
    _, full, _ = full_search
    cfg = search_config(split, tmp_path, MID_EPOCH + NO_REPORT)  # the same search
    ckpt, log = kill_then_resume(cfg, tmp_path / 'killed', 3, monkeypatch, timeout=300)
    assert (ckpt['meta']['epoch'], ckpt['meta']['iter']) == (1, 3)  # mid-epoch 2
    assert 'Epoch(train) [2][2/2]' in log and 'Epoch(train) [2][1/2]' not in log
    assert_same_search(full, tmp_path / 'killed', 'iter_6.pth')


def test_two_cpu_ranks_agree(split, tmp_path):
    cfg = search_config(split, tmp_path, "\ntrain_cfg['max_epochs'] = 2\n"
                                         "param_scheduler['weights'][0].update(T_max=2, end=2)\n"
                        + NO_REPORT)
    env = dict(os.environ, PYTHON=sys.executable, PORT=str(free_port()), OMP_NUM_THREADS='1')
    proc = subprocess.run(['bash', 'tools/dist_search.sh', str(cfg), '2', '--work-dir', str(tmp_path / 'work')],
                          cwd=ROOT, capture_output=True, text=True, timeout=300, env=env)
    assert proc.returncode == 0, proc.stderr[-6000:]
    log = next((tmp_path / 'work').glob('*/*.log')).read_text()
    assert 'Distributed training: True' in log
    assert log.count('architecture parameters are identical on all 2 ranks') == 2
    history = json.loads((tmp_path / 'work/search_history.json').read_text())['history']
    assert [h['arch_active'] for h in history] == [False, True]
    with checkpoint_loading():
        ckpt = torch.load(tmp_path / 'work/epoch_2.pth', weights_only=True)
    assert ckpt['meta']['search_history'][-1]['genotype'] == history[-1]['genotype']
