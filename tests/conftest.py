"""Fixtures, and the helpers and constants the test modules share: a test module imports from here,
never from another test module. ROOT is the repository. The tests lie in folders that mirror the
package (tests/core/, tests/spaces/darts/, ...); tests/tools/ runs the commands end to end."""
import os
import re
from pathlib import Path
from typing import Optional

# One thread per process, here and in every subprocess a test starts (set before torch is imported;
# an OMP_NUM_THREADS already set wins). The suite's networks are tiny, several tests run two or three
# processes at once, and on 2 shared cores two spinning threads per process made steps 10-25x slower.
os.environ.setdefault('OMP_NUM_THREADS', '1')

import pytest  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get('NAS_SHARED', ROOT.parent / 'shared'))


def shared_data(rel: str) -> Path:
    """A path under ../shared/data; skip when absent, but fail under CI."""
    path = SHARED / 'data' / rel
    if not path.exists():
        msg = (f'real-data test needs {path} (the project\'s ../shared/data/{rel}); '
               'it is missing')
        if os.environ.get('CI', '').lower() == 'true':
            pytest.fail(msg + ' and CI=true, so this is a failure, not a skip')
        pytest.skip(msg)
    return path


def edit_template(path: str, out: Path, **values) -> Path:
    """The template as a user edits it: the EDIT lines replaced; `_base_` made absolute."""
    text = (ROOT / path).read_text()
    text = text.replace("_base_ = '../", f"_base_ = '{ROOT}/configs/")
    for key, value in values.items():
        name = key.replace('__', ', ')
        text, n = re.subn(rf'^{re.escape(name)} = .*$', f'{name} = {value}', text, count=1, flags=re.M)
        assert n == 1, name
    out.write_text(text)
    return out


@pytest.fixture(autouse=True)
def mmdet_scope():
    """Every test starts in the scope every config of this project sets (default_scope='mmdet')."""
    from mmengine.registry import init_default_scope
    init_default_scope('mmdet')


@pytest.fixture
def coco128() -> Path:
    return shared_data('coco128')


@pytest.fixture
def tiny_imagenet() -> Path:
    return shared_data('tiny-imagenet-10')


def darts_classifier_space(supernet: dict, edge_norm: bool = True, cost=None, **arch) -> dict:
    """The DARTS classification space's config, as the search configs write it: ``ModelSearchSpace``
    around a ``SearchClassifier`` of ``PCDartsSearchBackbone``. ``supernet``: the trunk's arguments
    and ``num_classes`` (a ``PCDartsSupernet`` config); ``arch``: the stabilisers."""
    trunk = {k: v for k, v in supernet.items() if k not in ('type', 'num_classes', 'out_indices')}
    return dict(type='ModelSearchSpace',
                model=dict(type='SearchClassifier', num_classes=supernet.get('num_classes', 1000),
                           backbone=dict(type='PCDartsSearchBackbone', out_indices=(-1,),
                                         aux_skip=arch.get('aux_skip') is not None, **trunk)),
                arch=dict(edge_norm=edge_norm, **arch), cost=cost)


def darts_search(supernet: dict, edge_norm: bool = True, cost=None, **kwargs):
    """A ``DifferentiableSearch`` over the DARTS classification space (what the search configs build)."""
    from nas_backbones.core import DifferentiableSearch
    return DifferentiableSearch(space=darts_classifier_space(supernet, edge_norm, cost), **kwargs)


# SSD's training and test settings (mmdet's SSD300 recipe, fewer detections) for the tiny detectors
SSD_TRAIN_CFG = dict(assigner=dict(type='MaxIoUAssigner', pos_iou_thr=0.5, neg_iou_thr=0.5, min_pos_iou=0.,
                                   ignore_iof_thr=-1, gt_max_assign_all=False),
                     sampler=dict(type='PseudoSampler'), smoothl1_beta=1., allowed_border=-1, pos_weight=-1,
                     neg_pos_ratio=3, debug=False)
SSD_TEST_CFG = dict(nms_pre=100, nms=dict(type='nms', iou_threshold=0.45), min_bbox_size=0, score_thr=0.02,
                    max_per_img=20)


def tiny_ssd(size: int = 64, num_classes: int = 3, **backbone) -> dict:
    """An SSD detector config around a small ``PCDartsSearchBackbone`` (4 feature maps at 64 px)."""
    bb = dict(type='PCDartsSearchBackbone', C=4, layers=3, partial_k=2, out_indices=(1, 2, 3))
    bb.update(backbone)
    C = bb['C']
    in_channels = (4 * C, 8 * C, 16 * C)  # 4 nodes x C, 2C, 4C (reductions at cells 1 and 2)
    out_channels = in_channels + (16,)
    return dict(
        type='SingleStageDetector', backbone=bb,
        neck=dict(type='SSDNeck', in_channels=in_channels, out_channels=out_channels,
                  level_strides=(2,), level_paddings=(1,), l2_norm_scale=None),
        bbox_head=dict(
            type='SSDHead', in_channels=out_channels, num_classes=num_classes,
            anchor_generator=dict(type='SSDAnchorGenerator', scale_major=False, input_size=size,
                                  strides=[8, 16, 32, 64], ratios=[[2], [2], [2], [2]],
                                  min_sizes=[6, 16, 28, 44], max_sizes=[16, 28, 44, 64]),
            bbox_coder=dict(type='DeltaXYWHBBoxCoder', target_means=[.0] * 4,
                            target_stds=[0.1, 0.1, 0.2, 0.2])),
        train_cfg=SSD_TRAIN_CFG, test_cfg=SSD_TEST_CFG)


def detector_search(detector: dict, arch=None, cost=None, preprocess: bool = False, **kwargs):
    """A ``DifferentiableSearch`` over ``DetectorSearchSpace(detector)``; ``preprocess``: with SSD's
    ``DetDataPreprocessor`` (batches of uint8 images), else batches of ready float tensors."""
    from nas_backbones.core import DifferentiableSearch
    pre = dict(type='DetDataPreprocessor', mean=[123.675, 116.28, 103.53],
               std=[58.395, 57.12, 57.375], bgr_to_rgb=True) if preprocess else None
    return DifferentiableSearch(space=dict(type='DetectorSearchSpace', detector=detector,
                                           arch=arch, cost=cost),
                                data_preprocessor=pre, **kwargs)


def det_batch(n: int, size: int = 64, num_classes: int = 3, seed: int = 0, dtype=None) -> dict:
    """``n`` random images (float, already normalised) with two boxes each, as a detector takes them."""
    import torch
    from mmdet.structures import DetDataSample
    from mmengine.structures import InstanceData
    g = torch.Generator().manual_seed(seed)
    samples = []
    for _ in range(n):
        ds = DetDataSample(metainfo=dict(img_shape=(size, size), ori_shape=(size, size),
                                         pad_shape=(size, size), batch_input_shape=(size, size),
                                         scale_factor=(1., 1.)))
        xy = torch.rand(2, 2, generator=g) * size / 2
        wh = size / 8 + torch.rand(2, 2, generator=g) * size / 3
        ds.gt_instances = InstanceData(bboxes=torch.cat([xy, xy + wh], 1).to(dtype or torch.float32),
                                       labels=torch.randint(0, num_classes, (2,), generator=g))
        samples.append(ds)
    inputs = torch.randn(n, 3, size, size, generator=g, dtype=dtype or torch.float32)
    return {'inputs': inputs, 'data_samples': samples}


def tiny_ssd_demo_config(path: Path, data_root: str, **backbone) -> Path:
    """``configs/ssd_pcdarts_demo.py`` shrunk to seconds (C=4, 3 cells, narrow extra levels, one
    epoch of batches of 2, validation and a checkpoint at its end) on the shapes under ``data_root``
    (``make_synthetic_coco``); ``backbone`` overrides ``model.backbone``. Written to ``path``."""
    path.write_text(f'''
_base_ = {str(ROOT / 'configs' / 'ssd_pcdarts_demo.py')!r}
data_root = {data_root.rstrip('/') + '/'!r}
backbone_channels = (16, 32, 64)
neck_channels = backbone_channels + (16, 16, 16)
model = dict(backbone=dict(C=4, layers=3, **{backbone!r}),
             neck=dict(in_channels=backbone_channels, out_channels=neck_channels),
             bbox_head=dict(in_channels=neck_channels))
train_dataloader = dict(batch_size=2, dataset=dict(data_root=data_root))
val_dataloader = dict(batch_size=2, dataset=dict(data_root=data_root))
test_dataloader = val_dataloader
val_evaluator = dict(ann_file=data_root + 'annotations/instances_val.json')
test_evaluator = val_evaluator
train_cfg = dict(max_epochs=1, val_interval=1)
param_scheduler = [dict(type='LinearLR', start_factor=0.5, by_epoch=False, begin=0, end=2),
                   dict(type='CosineAnnealingLR', by_epoch=True, begin=0, end=1, eta_min=1e-4)]
default_hooks = dict(logger=dict(interval=1), checkpoint=dict(interval=1))
''')
    return path


@pytest.fixture(scope='session')
def shapes(tmp_path_factory) -> Path:
    """The generated shapes (COCO format): 4 training and 2 validation images."""
    from nas_backbones.datasets.synthetic_coco import make_synthetic_coco
    root = tmp_path_factory.mktemp('shapes')
    make_synthetic_coco(str(root), num_train=4, num_val=2, seed=0)
    return root


TINY_SEARCH_NET = dict(type='PCDartsSupernet', num_classes=3, C=4, layers=3, stem='cifar', partial_k=2)


def run_tiny_search(work_dir, epochs: int, warmup: int, arch_lr: float = 6e-3, images: int = 8,
                    prepare=None, hook: Optional[dict] = None, **train_cfg):
    """A real search through the runner (``SearchLoop`` + ``DerivationHook``) of a small DARTS
    supernet (3 cells) on ``images`` random 8 px images, batches of 2; ``prepare(model)`` runs
    before it. Returns the history, the log text and the runner."""
    import json
    import uuid

    import torch
    from mmengine.runner import Runner
    torch.manual_seed(0)
    model = darts_search(supernet=TINY_SEARCH_NET)
    if prepare is not None:
        prepare(model)
    g = torch.Generator().manual_seed(0)
    data = [dict(inputs=torch.randn(3, 8, 8, generator=g), data_samples=torch.tensor(i % 3))
            for i in range(images)]
    loader = dict(dataset=data, batch_size=2, sampler=dict(type='DefaultSampler', shuffle=False),
                  collate_fn=dict(type='default_collate'))
    runner = Runner(  # its own experiment name: runners started within a second share a message hub
        model=model, work_dir=str(work_dir), train_dataloader=loader,
        experiment_name=f'tiny_search_{uuid.uuid4().hex}',
        train_cfg=dict(type='SearchLoop', max_epochs=epochs, arch_warmup_epochs=warmup,
                       arch_dataloader=loader, **train_cfg),
        optim_wrapper=dict(constructor='SearchOptimWrapperConstructor',
                           weights=dict(optimizer=dict(type='SGD', lr=0.05)),
                           arch=dict(optimizer=dict(type='Adam', lr=arch_lr, betas=(0.5, 0.999)))),
        custom_hooks=[dict(type='DerivationHook', **(hook or {}))],
        default_hooks=dict(checkpoint=None, logger=dict(type='LoggerHook', interval=100)),
        default_scope='mmdet')
    runner.train()
    history = json.loads((Path(work_dir) / 'search_history.json').read_text())['history']
    return history, next(Path(work_dir).glob('*/*.log')).read_text(), runner


# A network space of a few tiny DARTS networks (tests/network_search/)
TINY_SPACE = dict(type='DartsNetworkSpace', genotypes=['PC_DARTS_image', 'DARTS_V2'], genotype_per_stage=True,
                  C=[4, 8], stage_cells=[[1, 2], [0, 1], [0, 1]], input_size=[32], stem='imagenet')


def network_search_cfg(**ns):
    """A network-search config over TINY_SPACE (macs and params by default, 6 trials, one worker)."""
    search = dict(space=TINY_SPACE, objectives=['macs', 'params'], n_trials=6, workers=1,
                  sampler=dict(population_size=4, seed=0), plot=False,
                  heartbeat=dict(interval=1, grace=2, max_retry=2))
    search.update(ns)
    from mmengine.config import Config
    return Config(dict(default_scope='mmdet', custom_imports=dict(imports=['nas_backbones']),
                       model=dict(type='GenotypeClassifier', backbone=dict(type='DartsBackbone'),
                                  num_classes=10, auxiliary=False),
                       network_search=search))


def _study_rows(url: str, sql: str) -> list:
    """Rows of ``sql`` on an Optuna study's database (SQLite file or server); none while the
    database or its tables do not exist yet."""
    import sqlalchemy
    if url.startswith('sqlite:///') and not Path(url[len('sqlite:///'):]).exists():
        return []  # connecting would create the file before Optuna does
    engine = sqlalchemy.create_engine(url, **({'connect_args': {'timeout': 30}}
                                              if url.startswith('sqlite') else {}))
    try:
        with engine.connect() as con:
            return [tuple(r) for r in con.execute(sqlalchemy.text(sql)).fetchall()]
    except sqlalchemy.exc.DBAPIError:  # tables not created yet, a busy SQLite file
        return []
    finally:
        engine.dispose()


def kill_and_resume_network_search(cfg_path: Path, work: Path, url: str, n_trials: int,
                                   kill: str = 'all') -> None:
    """Two worker processes fill one study (``tools/network_search.py`` with 2 workers, the config at
    ``cfg_path``, its study at ``url``) and are killed mid-trial: ``kill='all'`` the whole run,
    ``kill='one'`` worker 1 alone, while worker 0 goes on (and the command ends saying a worker
    failed); a restart finishes the study. Checks: the killed trials are failed and retried (never
    completed), nothing finished before the kill is evaluated again, and only networks whose trial
    was running at the kill are evaluated twice.
    Shared by the SQLite test (tests/network_search/test_network_search.py) and the PostgreSQL one."""
    import json
    import signal
    import subprocess
    import sys
    import time

    from mmengine.config import Config

    def evaluations():
        """The log's complete lines (a worker may be appending one as it is read)."""
        path = work / 'evaluations.jsonl'
        lines = path.read_text().split('\n')[:-1] if path.exists() else []
        return [json.loads(line) for line in lines]

    def states():
        return _study_rows(url, 'SELECT number, state FROM trials')

    def beating(worker=None):
        """Running trials that have sent a heartbeat (Optuna fails only those when they go stale),
        of one worker if given."""
        of_worker = ('' if worker is None else
                     " AND t.trial_id IN (SELECT trial_id FROM trial_user_attributes "
                     f"WHERE key = 'worker' AND value_json = '{worker}')")
        return {n for (n,) in _study_rows(
            url, "SELECT t.number FROM trials t JOIN trial_heartbeats h ON t.trial_id = h.trial_id "
                 "WHERE t.state = 'RUNNING'" + of_worker)}

    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.Popen([sys.executable, str(ROOT / 'tools/network_search.py'), str(cfg_path),
                             '--work-dir', str(work)], cwd=ROOT, env=env, start_new_session=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    victim = None if kill == 'all' else 1
    deadline = time.time() + 240
    while time.time() < deadline and proc.poll() is None:
        workers = {e['worker'] for e in evaluations()}
        if workers == {0, 1} and beating(victim):
            break
        time.sleep(0.2)
    assert proc.poll() is None, proc.stdout.read().decode()[-3000:]
    if kill == 'all':
        os.killpg(proc.pid, signal.SIGKILL)  # the whole run: both workers
        proc.wait()
    else:
        pid = next(e['pid'] for e in evaluations() if e['worker'] == 1)
        os.kill(pid, signal.SIGKILL)  # worker 1 only
        time.sleep(0.2)  # delivered: it writes nothing more
    running = beating(victim)  # what the kill cut off, of those Optuna can tell are stale
    before = evaluations()
    snapshot = states()
    done_before = {n for n, s in snapshot if s == 'COMPLETE'}
    cut = {n for n, s in snapshot if s == 'RUNNING'}  # running at the kill (worker 0's too, if alive)
    out = proc.communicate(timeout=300)[0].decode()

    def checks():
        if kill == 'one':  # worker 0 went on to the end, then the command reported the dead worker
            assert proc.returncode == 1 and '1 worker process(es) failed' in out
        assert {e['worker'] for e in before} == {0, 1} and running
        time.sleep(3)  # past the heartbeat grace period: the killed trials are stale

        from nas_backbones.network_search.search import run_search
        front = run_search(Config.fromfile(str(cfg_path)), str(work), workers=1)
        after = evaluations()
        assert after[:len(before)] == before
        final = dict(states())
        assert sum(s == 'COMPLETE' for s in final.values()) >= n_trials
        assert all(final[n] == 'FAIL' for n in running)  # stale, then retried as new trials
        if kill == 'all':
            assert not any(final[n] == 'COMPLETE' for n in cut)  # a dead worker finishes nothing
        # nothing finished before the kill was evaluated again
        keys_before = {e['key'] for e in before if e['trial'] in done_before}
        assert not keys_before & {e['key'] for e in after[len(before):]}
        # evaluated again: only networks whose trial was running at the kill (evaluated, not recorded)
        again = {e['key'] for e in after[len(before):]} & {e['key'] for e in before}
        assert again <= {e['key'] for e in before if e['trial'] in cut}
        # before the kill, a network is evaluated twice only by two workers that drew it at once
        for key in {e['key'] for e in before}:
            by = [e['worker'] for e in before if e['key'] == key]
            assert len(by) == len(set(by)), (key, by)
        assert front['trials_complete'] >= n_trials and front['points']
        assert front['storage'] == url

    try:
        checks()
    except AssertionError as e:  # with what the run said, the one clue to a race on a busy machine
        raise AssertionError(f'{e}\n--- the killed run printed:\n{out[-3000:]}') from e


# ------------------------------------------------- searches run as a user runs them (subprocesses)
KILL_HOOK = '''
import os, signal
from mmdet.registry import HOOKS
from mmengine.hooks import Hook


@HOOKS.register_module()
class KillAfterIter(Hook):
    """SIGKILLs its own process after iteration KILL_AT_ITER, once the CheckpointHook has saved."""
    priority = 'LOWEST'

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        if runner.iter + 1 == int(os.environ.get('KILL_AT_ITER', '0')):
            os.kill(os.getpid(), signal.SIGKILL)
'''


def free_port() -> int:
    import socket
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def with_path(folder) -> str:
    """PYTHONPATH with ``folder`` in front (where a kill hook is), keeping what was there."""
    return os.pathsep.join(p for p in (str(folder), os.environ.get('PYTHONPATH')) if p)


def search(cfg, work_dir, *extra):
    """``tools/search.py cfg`` in a subprocess (stdout dropped, stderr kept for the failure message)."""
    import subprocess
    import sys
    return subprocess.Popen([sys.executable, 'tools/search.py', str(cfg), '--work-dir', str(work_dir),
                             *extra], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def log_text(work_dir):
    logs = sorted(Path(work_dir).glob('*/*.log'))
    return logs[-1].read_text() if logs else ''


def assert_same_search(full, resumed, checkpoint, result: str = 'genotype.json') -> None:
    """Weights, architecture parameters, every optimizer's state, history and the result file
    (``result``): bit-identical on CPU. ``checkpoint``: one file name, or the pair (full's, resumed's)."""
    import torch

    from nas_backbones.compat import checkpoint_loading  # the types mmengine checkpoints carry
    full_ckpt, resumed_ckpt = (checkpoint, checkpoint) if isinstance(checkpoint, str) else checkpoint
    with checkpoint_loading():
        a = torch.load(Path(full) / full_ckpt, weights_only=True)
        b = torch.load(Path(resumed) / resumed_ckpt, weights_only=True)
    assert a['state_dict'].keys() == b['state_dict'].keys()
    for k in a['state_dict']:
        assert torch.equal(a['state_dict'][k], b['state_dict'][k]), k
    assert a['optimizer'].keys() == b['optimizer'].keys()
    for name in a['optimizer']:  # weights (and arch, in a bilevel search)
        sa, sb = a['optimizer'][name]['state'], b['optimizer'][name]['state']
        assert sa.keys() == sb.keys(), name
        assert all(torch.equal(sa[i][k], sb[i][k]) for i in sa for k in sa[i] if torch.is_tensor(sa[i][k]))
    if full_ckpt == resumed_ckpt:  # an iteration checkpoint is saved before its epoch's derivation
        assert a['meta']['search_history'] == b['meta']['search_history']
    assert (Path(full) / 'search_history.json').read_text() == \
        (Path(resumed) / 'search_history.json').read_text()
    assert (Path(full) / result).read_text() == (Path(resumed) / result).read_text()


# ----------------------------------------- one DARTS search step (tests/core/test_search_step.py and others)
# The search recipe's two optimizers (SGD on the weights, Adam on alpha/beta), as in the search configs
SEARCH_OPTIM = dict(
    weights=dict(optimizer=dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=3e-4),
                 clip_grad=dict(max_norm=5.)),
    arch=dict(optimizer=dict(type='Adam', lr=6e-3, betas=(0.5, 0.999), weight_decay=1e-3)))


def image_batch(seed: int) -> dict:
    """4 random 16 px images with labels of 4 classes, as a classification search step takes them."""
    import torch
    g = torch.Generator().manual_seed(seed)
    return {'inputs': torch.randn(4, 3, 16, 16, generator=g),
            'data_samples': torch.randint(0, 4, (4,), generator=g)}


# ------------------------------------------------- a tiny Single-Path space (tests/spaces/singlepath/)
SP_TINY_BLOCKS = [dict(channels=8, repeats=1, stride=1, searchable=False, kernel=3, expansion=1, residual=False),
                  dict(channels=16, repeats=2, stride=2),
                  dict(channels=24, repeats=3, stride=2)]


# the runtime term of sp_space(): FLOPs at 32 px, the classifier's 5 classes counted in R
SP_COST = dict(metric='flops', input_size=32, num_classes=5)


def sp_space_config(cost: Optional[dict] = SP_COST, backbone: Optional[dict] = None,
                    label_smoothing: float = 0.1, **arch) -> dict:
    """The Single-Path classification space's config, as the search configs write it:
    ``ModelSearchSpace`` around a ``SearchClassifier`` of 5 classes whose backbone is a
    ``SinglePathSearchBackbone`` on SP_TINY_BLOCKS (``backbone``: other trunk arguments). ``arch``:
    the warm-up and the L2 term (weight_decay 1e-5, the reference's, unless given); ``cost``: the
    runtime term (SP_COST; None: no runtime term)."""
    arch.setdefault('weight_decay', 1e-5)
    trunk = dict(type='SinglePathSearchBackbone', out_indices=(-1,), initialise=False,
                 blocks=SP_TINY_BLOCKS, stem_channels=8, head_channels=32)
    trunk.update(backbone or {})
    return dict(type='ModelSearchSpace',
                model=dict(type='SearchClassifier', num_classes=5, label_smoothing=label_smoothing,
                           dropout=0.2, loss_name='loss_cls', backbone=trunk),
                arch=arch, cost=None if cost is None else dict(cost))


def sp_space(**kw):
    """The ``ModelSearchSpace`` of :func:`sp_space_config` (same arguments), built."""
    from nas_backbones.core import ModelSearchSpace
    cfg = sp_space_config(**kw)
    del cfg['type']
    return ModelSearchSpace(**cfg)


def sp_runtime(s):
    """The runtime model's estimate R of the Single-Path space ``s``'s current thresholds."""
    return s.resource_cost.expected_runtime(s.arch)


def sp_batch(n: int = 8, seed: int = 0):
    """``n`` random 32 px images and their labels (5 classes)."""
    import torch
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, 3, 32, 32, generator=g), torch.randint(0, 5, (n,), generator=g)


def sp_train_briefly(s, steps: int = 20) -> None:
    """``steps`` one-level search steps of the space ``s`` (weights and thresholds together, past the
    warm-up)."""
    from nas_backbones.spaces.singlepath import RMSpropTF
    s.arch.warmup_override = False
    s.train()
    # The thresholds start ~8 below these small layers' kernel norms; a larger learning rate
    # lets them get there in 20 steps (the reference's search has 10,008).
    opt = RMSpropTF([dict(params=s.model.parameters()),
                     dict(params=s.arch.parameters(), lr=5.)], lr=0.05)
    for i in range(steps):
        x, y = sp_batch(8, seed=i)
        losses = s(x, y, mode='loss')
        loss = sum(v for k, v in losses.items() if k.startswith('loss')) + s.cost()
        opt.zero_grad()
        loss.backward()
        opt.step()


# --------------------------------------------- the smallest real search config, on generated images
def image_folder(root: Path, classes=('a', 'b', 'c'), per_class: int = 4) -> Path:
    """A class-per-folder image tree of random 32 px images."""
    import cv2
    import numpy as np
    rng = np.random.default_rng(0)
    for c in classes:
        (root / c).mkdir(parents=True)
        for i in range(per_class):
            cv2.imwrite(str(root / c / f'{i}.png'), rng.integers(0, 255, (32, 32, 3), dtype=np.uint8))
    return root


def set_num_classes(node, value: int) -> int:
    """Set every num_classes in a config, whatever its shape; return how many there were."""
    found = 0
    if isinstance(node, dict):
        for k in list(node):
            if k == 'num_classes':
                node[k] = value
                found += 1
            else:
                found += set_num_classes(node[k], value)
    return found


def set_key(node, key: str, value) -> None:
    if isinstance(node, dict):
        for k in list(node):
            if k == key:
                node[k] = value
            else:
                set_key(node[k], key, value)


def tiny_search_cfg(tmp_path: Path, num_classes: int):
    """``configs/search/pcdarts_tiny_imagenet.py`` at its smallest (C=4, 3 cells, one epoch of batches
    of 4) on image_folder()s under ``tmp_path``, its model set to ``num_classes``."""
    from mmengine.config import Config
    cfg = Config.fromfile(str(ROOT / 'configs/search/pcdarts_tiny_imagenet.py'))
    assert set_num_classes(cfg.model, num_classes) == 1
    pipeline = [dict(type='LoadImageFromFile'), dict(type='RandomResizedCrop', size=32),
                dict(type='PackClsInputs')]
    for loader, split in ((cfg.train_dataloader, 'images'), (cfg.train_cfg.arch_dataloader, 'arch_images')):
        loader.batch_size = 4
        loader.dataset = dict(type='ImageNetDataset', data_prefix=str(image_folder(tmp_path / split)),
                              pipeline=pipeline)
    cfg.train_cfg.update(max_epochs=1, arch_warmup_epochs=0)
    set_key(cfg.model, 'C', 4)  # the smallest supernet: only the checks matter here
    set_key(cfg.model, 'layers', 3)
    cfg.param_scheduler = dict(weights=[], arch=[])
    cfg.custom_hooks = [dict(type='DerivationHook')]
    cfg.work_dir = str(tmp_path / 'work')
    return cfg


# ------------------------------------------------------------ the project's commands, as a user runs them
def load_tool(rel: str):
    """The command-line tool at ``rel`` (under the repository) as a module, to call its ``main``."""
    import importlib.util
    spec = importlib.util.spec_from_file_location(Path(rel).stem + '_tool', ROOT / rel)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_script(args: list, cwd: Path = ROOT, timeout: int = 300) -> str:
    """``python *args`` in a subprocess that must succeed; its stdout and stderr."""
    import subprocess
    import sys
    proc = subprocess.run([sys.executable, *map(str, args)], cwd=cwd, capture_output=True,
                          text=True, timeout=timeout)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-4000:]
    return out


def coco_map(log: str) -> list[float]:
    """The last CocoMetric summary line: mAP, mAP_50, mAP_75, mAP_s, mAP_m, mAP_l."""
    lines = re.findall(r'bbox_mAP_copypaste: ([-\d. ]+)', log)
    assert lines, 'no CocoMetric result in the log:\n' + log[-3000:]
    return [float(v) for v in lines[-1].split()]


def trained_epochs(log: str) -> list[int]:
    return sorted({int(e) for e in re.findall(r'Epoch\(train\)\s+\[(\d+)\]', log)})


def coco_subset(src: Path, dst: Path, n: int) -> None:
    """The first n images that have boxes, and their annotations."""
    import json
    coco = json.loads(src.read_text())
    with_boxes = {a['image_id'] for a in coco['annotations']}
    images = [im for im in coco['images'] if im['id'] in with_boxes][:n]
    ids = {im['id'] for im in images}
    coco.update(images=images, annotations=[a for a in coco['annotations'] if a['image_id'] in ids])
    dst.write_text(json.dumps(coco))


# --------------------------------------------- searches killed and resumed (tests/engine, tests/spaces/*)
# The PC-DARTS search on tiny-imagenet-10 at its smallest (C=8, 3 cells, 32 px, 3 epochs, the first a
# warm-up) on per-class lists; tests/engine/test_search_resume.py resumes it, test_search_distributed.py
# runs it on two ranks.
TINY_IMAGENET_SEARCH = """
_base_ = '{root}/configs/search/pcdarts_tiny_imagenet.py'
model = dict(space=dict(model=dict(backbone=dict(C=8, layers=3))))
pipeline = [dict(type='LoadImageFromFile'), dict(type='RandomResizedCrop', size=32),
            dict(type='RandomFlip', prob=0.5, direction='horizontal'), dict(type='PackClsInputs')]
train_dataloader = dict(batch_size=10, dataset=dict(
    data_prefix='{data}/train', ann_file='{lists}/train.txt', pipeline=pipeline))
train_cfg = dict(max_epochs=3, arch_warmup_epochs=1, arch_dataloader=dict(batch_size=6, dataset=dict(
    data_prefix='{data}/train', ann_file='{lists}/val.txt', pipeline=pipeline)))
param_scheduler = dict(weights=[dict(type='CosineAnnealingLR', T_max=3, eta_min=0., by_epoch=True,
                                     begin=0, end=3)], arch=[])
default_hooks = dict(logger=dict(interval=1), checkpoint=dict(max_keep_ckpts=5))
custom_hooks = [dict(type='DerivationHook'), dict(type='RNGStateHook')]  # the report: test_visualization
"""


def tiny_imagenet_search_config(tiny_imagenet, tmp_path, extra: str = ''):
    """TINY_IMAGENET_SEARCH on 1%/0.8% per-class lists of tiny-imagenet-10 written under tmp_path,
    plus ``extra``."""
    import subprocess
    import sys
    lists = tmp_path / 'lists'
    subprocess.run([sys.executable, 'tools/dataset/imagenet_subset.py', str(tiny_imagenet / 'train'),
                    '--out', str(lists), '--train-frac', '0.01', '--val-frac', '0.008', '--seed', '0'],
                   cwd=ROOT, check=True, capture_output=True)
    cfg = tmp_path / 'search.py'
    cfg.write_text(TINY_IMAGENET_SEARCH.format(root=ROOT, data=tiny_imagenet, lists=lists) + extra)
    return cfg


def coco128_split(tmp_path_factory, name: str) -> tuple[Path, Path]:
    """coco128 and 8 + 8 disjoint images of it (tools/dataset/coco_split.py, seed 0) listed under a new
    temporary folder ``name``: what the detection searches of both families search on."""
    from tools.dataset.coco_split import main as coco_split
    data = shared_data('coco128')
    out = tmp_path_factory.mktemp(name)
    assert coco_split([str(data / 'annotations/instances_train2017.json'), '--out', str(out),
                       '--train-frac', '0.0625', '--val-frac', '0.0625', '--seed', '0']) == 0
    return data, out


def coco128_search_config(template: str, split, tmp_path: Path, extra: str = '') -> Path:
    """``template`` with ``{root}``, ``{data}`` and ``{split}`` filled in (the repository, coco128 and the
    lists of ``coco128_split``), plus ``extra``, written to ``tmp_path / 'search.py'``."""
    data, lists = split
    cfg = tmp_path / 'search.py'
    cfg.write_text(template.format(root=ROOT, data=data, split=lists) + extra)
    return cfg


# A search config's lines that leave out the report (~10 s of plotting after training)
NO_REPORT = """
custom_hooks = [h for h in custom_hooks if h['type'] != 'SearchReportHook']
"""


def run_full_search(cfg: Path, timeout: int = 300) -> tuple[Path, Path, str]:
    """The uninterrupted search a killed one is compared with: ``tools/search.py cfg`` (whose hooks
    may include KillAfterIter: it does nothing without KILL_AT_ITER) into ``work`` beside the config.
    Returns the config, the work dir and the command's stdout."""
    import subprocess
    import sys
    (cfg.parent / 'kill_hook.py').write_text(KILL_HOOK)
    env = dict(os.environ, PYTHONPATH=with_path(cfg.parent), OMP_NUM_THREADS='1')
    proc = subprocess.run([sys.executable, 'tools/search.py', str(cfg), '--work-dir', str(cfg.parent / 'work')],
                          cwd=ROOT, capture_output=True, text=True, timeout=timeout, env=env)
    assert proc.returncode == 0, proc.stderr[-4000:]
    return cfg, cfg.parent / 'work', proc.stdout


def kill_then_resume(cfg: Path, work_dir: Path, at_iter: int, monkeypatch, timeout: int = 300):
    """``tools/search.py cfg`` (its hooks include KillAfterIter) SIGKILLed after iteration ``at_iter``,
    whose checkpoint must then be the last one, and resumed with ``--resume`` to its end. Returns the
    checkpoint the kill left (loaded) and the log text afterwards."""
    import signal

    import torch

    from nas_backbones.compat import checkpoint_loading  # the types mmengine checkpoints carry
    (cfg.parent / 'kill_hook.py').write_text(KILL_HOOK)
    monkeypatch.setenv('PYTHONPATH', with_path(cfg.parent))
    monkeypatch.setenv('KILL_AT_ITER', str(at_iter))
    killed = search(cfg, work_dir)
    assert killed.wait(timeout=timeout) == -signal.SIGKILL, killed.stderr.read().decode()[-3000:]
    assert (work_dir / 'last_checkpoint').read_text().strip().endswith(f'iter_{at_iter}.pth')
    with checkpoint_loading():
        ckpt = torch.load(work_dir / f'iter_{at_iter}.pth', weights_only=True)

    monkeypatch.delenv('KILL_AT_ITER')
    resumed = search(cfg, work_dir, '--resume')
    assert resumed.wait(timeout=timeout) == 0, resumed.stderr.read().decode()[-3000:]
    return ckpt, log_text(work_dir)


# --------------------------------------------- a classification config on tiny-imagenet (tests/spaces/*)
def tiny_imagenet_classification_config(config: str, tiny_imagenet, tmp_path):
    """``config`` (a ``configs/cls_*_tiny_imagenet.py``) on 10 training images a class (per-class lists
    written under tmp_path), validated and tested on 100 images, batches of 50, no worker processes,
    2 epochs, logging every iteration, work dir under tmp_path."""
    from mmengine.config import Config

    from nas_backbones.datasets import sample_per_class, scan_image_folder, write_classes, write_image_list
    classes, per_class = scan_image_folder(tiny_imagenet / 'train')
    train, _ = sample_per_class(per_class, classes, (0.02, 0.01), seed=0)  # 10 a class
    write_image_list(tmp_path / 'lists/train.txt', train)
    write_classes(tmp_path / 'lists/classes.txt', classes)
    cfg = Config.fromfile(str(ROOT / config))
    cfg.work_dir = str(tmp_path / 'work')
    cfg.train_dataloader.dataset.update(
        data_root=str(tiny_imagenet), data_prefix='train',
        ann_file=str(tmp_path / 'lists/train.txt'), classes=str(tmp_path / 'lists/classes.txt'))
    cfg.train_dataloader.update(batch_size=50, num_workers=0)
    cfg.val_dataloader.dataset.update(data_root=str(tiny_imagenet), indices=100)
    cfg.val_dataloader.update(batch_size=50, num_workers=0)
    cfg.test_dataloader = cfg.val_dataloader
    cfg.train_cfg.max_epochs = 2
    cfg.param_scheduler[0].end = 2
    cfg.default_hooks.logger.interval = 1
    return cfg
