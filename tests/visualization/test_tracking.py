"""Experiment tracking: each family's per-epoch state (SearchSpace.tracking) and SearchReportHook sending
it through runner.visualizer, checked in the event file of TensorBoard's backend after a short search."""
import json
import subprocess
import sys

import numpy as np
import pytest
import torch

from nas_backbones.spaces.darts.ops import PARAMETER_FREE_OPS
from nas_backbones.spaces.singlepath.search_op import THRESHOLDS
from tests.conftest import ROOT, darts_search, shared_data, sp_space

TINY_BLOCKS = [dict(channels=8, repeats=1, stride=1, searchable=False, kernel=3, expansion=1, residual=False),
               dict(channels=16, repeats=2, stride=2)]


def darts_space():
    torch.manual_seed(0)
    algo = darts_search(supernet=dict(type='PCDartsSupernet', num_classes=4, C=8, layers=3, stem='cifar',
                                      partial_k=2))
    with torch.no_grad():  # a state away from uniform, so a wrong edge or op name shows
        algo.space.arch.alphas_normal.normal_(0, 1)
        algo.space.arch.betas_reduce.normal_(0, 1)
    return algo.space


def test_darts_tracking_names_every_edge_and_op_with_the_history_values():
    space = darts_space()
    snap = space.snapshot()
    t = space.tracking()
    ops = space.arch.primitives
    for kind in ('normal', 'reduce'):
        alphas = [v for k, v in t.scalars.items() if k.startswith(f'alpha_{kind}/')]
        assert alphas == [pytest.approx(w) for row in snap[f'alpha_{kind}'] for w in row]
        betas = [v for k, v in t.scalars.items() if k.startswith(f'beta_{kind}/')]
        assert betas == [pytest.approx(w) for w in snap[f'beta_{kind}']]
        genes = snap['genotype'][kind]
        assert t.scalars[f'genotype/{kind}_param_free'] == sum(op in PARAMETER_FREE_OPS for op, _ in genes)
    # the first node reads c_{k-2} and c_{k-1}; the second also node 0
    assert f'alpha_normal/n0<-c_k-2/{ops[0]}' in t.scalars and 'beta_normal/n1<-n0' in t.scalars
    assert t.texts['genotype'] == str(space.derive())
    for kind in ('normal', 'reduce'):
        img = t.images[f'cell_{kind}']
        assert img.dtype == np.uint8 and img.ndim == 3 and img.shape[2] == 3
        assert (img < 250).any()  # something is drawn, not a blank canvas
    assert not space.tracking(images=False).images


def test_singlepath_tracking_has_thresholds_per_searchable_layer_and_runtime():
    space = sp_space(backbone=dict(blocks=TINY_BLOCKS))  # FLOPs at 32 px as the runtime
    with torch.no_grad():
        space.arch.thresholds.uniform_(0, 1)
    snap = space.snapshot()
    t = space.tracking()
    for idx, row in zip(snap['searchable_layers'], snap['thresholds']):
        for name, v in zip(THRESHOLDS, row):
            assert t.scalars[f'thresholds/layer{idx}/{name}'] == pytest.approx(v)
    assert len([k for k in t.scalars if k.startswith('thresholds/')]) == 3 * len(snap['searchable_layers'])
    assert t.scalars['runtime/R'] == pytest.approx(snap['runtime'])
    assert t.scalars['runtime/lambda'] == snap['runtime_lambda']
    assert t.texts['architecture'] == space.derive().to_json()
    assert t.images['architecture'].shape[2] == 3


SEARCH = """
_base_ = '{root}/configs/search/pcdarts_tiny_imagenet.py'
custom_imports = dict(imports=['nas_backbones', 'nas_backbones.visualization.report_hook'],
                      allow_failed_imports=False)
model = dict(space=dict(model=dict(backbone=dict(C=4, layers=3))))
pipeline = [dict(type='LoadImageFromFile'), dict(type='RandomResizedCrop', size=32), dict(type='PackClsInputs')]
train_dataloader = dict(batch_size=10, num_workers=0, persistent_workers=False, dataset=dict(
    data_prefix='{data}/train', ann_file='{lists}/train.txt', pipeline=pipeline))
train_cfg = dict(max_epochs=2, arch_warmup_epochs=1, arch_dataloader=dict(
    batch_size=10, num_workers=0, persistent_workers=False, dataset=dict(
        data_prefix='{data}/train', ann_file='{lists}/val.txt', pipeline=pipeline)))
param_scheduler = dict(weights=[], arch=[])
visualizer = dict(type='Visualizer', vis_backends=[dict(type='LocalVisBackend'),
                                                   dict(type='TensorboardVisBackend')])
custom_hooks = [dict(type='DerivationHook'), dict(type='SearchReportHook', measure_cost=False)]
"""


@pytest.mark.slow
def test_search_sends_alpha_and_cell_diagram_to_tensorboard(tmp_path):
    pytest.importorskip('tensorboard', reason="TensorBoard is optional: pip install 'nas_backbones[tensorboard]'")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    data = shared_data('tiny-imagenet-10')
    lists = tmp_path / 'lists'
    subprocess.run([sys.executable, 'tools/dataset/imagenet_subset.py', str(data / 'train'), '--out', str(lists),
                    '--train-frac', '0.01', '--val-frac', '0.01', '--seed', '0'],
                   cwd=ROOT, check=True, capture_output=True)
    cfg = tmp_path / 'search.py'
    cfg.write_text(SEARCH.format(root=ROOT, data=data, lists=lists))
    work = tmp_path / 'work'
    r = subprocess.run([sys.executable, 'tools/search.py', str(cfg), '--work-dir', str(work)],
                       cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-3000:]
    events = list(work.glob('*/vis_data/events.out.tfevents.*'))
    assert len(events) == 1
    acc = EventAccumulator(str(events[0]), size_guidance={'scalars': 0, 'images': 0, 'tensors': 0})
    acc.Reload()
    tags = acc.Tags()
    alpha_tags = [t for t in tags['scalars'] if t.startswith('alpha_normal/')]
    assert len(alpha_tags) == 14 * 8  # every edge x every op of the 4-node cell
    history = json.loads((work / 'search_history.json').read_text())['history']
    prims = primitives_in_order(acc, 'alpha_normal/n0<-c_k-2/')
    assert len(prims) == len(history[0]['alpha_normal'][0]) and [e['epoch'] for e in history] == [1, 2]
    for entry in history:  # each epoch's value is that epoch's softmax(alpha) in the history
        got = [value_at(acc, f'alpha_normal/n0<-c_k-2/{p}', entry['epoch']) for p in prims]
        assert got == [pytest.approx(v, rel=1e-5) for v in entry['alpha_normal'][0]]
    for name in ('genotype/normal_param_free', 'genotype/reduce_skip', 'beta_normal/n3<-n2'):
        assert name in tags['scalars']
    assert {'cell_normal', 'cell_reduce'} <= set(tags['images'])
    image = acc.Images('cell_normal')[-1]
    assert image.step == 2 and image.width > 100 and image.height > 100
    final = json.loads((work / 'genotype.json').read_text())
    assert value_at(acc, 'genotype/normal_skip', 2) == sum(op == 'skip_connect' for op, _ in final['normal'])
    text = acc.Tensors('genotype/text_summary')[-1].tensor_proto.string_val[0].decode()
    assert 'Genotype(normal=' in text and str(final['normal'][0][0]) in text  # the genotype as text


def primitives_in_order(acc, prefix):
    """The op names under ``prefix`` in the order the space lists them (the history's column order)."""
    from nas_backbones.spaces.darts.ops import DEFAULT_PRIMITIVES
    names = {t.rsplit('/', 1)[1] for t in acc.Tags()['scalars'] if t.startswith(prefix)}
    return [p for p in DEFAULT_PRIMITIVES if p in names]


def value_at(acc, tag, step):
    return next(e.value for e in acc.Scalars(tag) if e.step == step)


def test_network_search_sends_its_front_when_it_exports(tmp_path):
    pytest.importorskip('tensorboard', reason="TensorBoard is optional: pip install 'nas_backbones[tensorboard]'")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    from nas_backbones.network_search.search import run_search
    from tests.conftest import network_search_cfg
    cfg = network_search_cfg(plot=True)
    cfg.visualizer = dict(type='Visualizer', vis_backends=[dict(type='TensorboardVisBackend')])
    front = run_search(cfg, str(tmp_path))
    events = list((tmp_path / 'vis_data').glob('events.out.tfevents.*'))
    assert len(events) == 1
    acc = EventAccumulator(str(events[0]), size_guidance={'scalars': 0, 'images': 0, 'tensors': 0})
    acc.Reload()
    assert value_at(acc, 'pareto/points', 6) == len(front['points'])
    assert value_at(acc, 'pareto/best_macs', 6) == min(p['objectives']['macs'] for p in front['points'])
    assert acc.Images('pareto')[-1].width > 100
    assert 'pareto_front/text_summary' in acc.Tags()['tensors']
    # a visualizer that writes only locally is sent nothing (the work dir has the front already)
    from nas_backbones.visualization.tracking import send_front
    local = dict(type='Visualizer', vis_backends=[dict(type='LocalVisBackend')])
    assert not send_front(local, str(tmp_path / 'local'), front, str(tmp_path / 'pareto.png'))
    assert not (tmp_path / 'local').exists()


def test_detection_search_tracks_its_backbones_cells():
    """DetectorSearchSpace states nothing itself: the searchable backbone's family does."""
    from tests.conftest import detector_search, tiny_ssd
    space = detector_search(tiny_ssd()).space
    snap = space.snapshot()
    t = space.tracking(images=False)
    assert [v for k, v in t.scalars.items() if k.startswith('alpha_reduce/')] == \
        [pytest.approx(w) for row in snap['alpha_reduce'] for w in row]
    assert t.texts['genotype'] == str(space.derive()) and not t.images
