"""GenotypeClassifier, its auxiliary heads, the drop-path hook, the accuracy metric and the ImageNet recipe."""
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmdet.registry import HOOKS, METRICS, MODELS
from mmengine.config import Config
from mmengine.hooks import Hook
from mmengine.registry import PARAM_SCHEDULERS
from mmengine.structures import BaseDataElement

from nas_backbones.evaluation import ClsAccuracy
from nas_backbones.spaces.darts import AuxiliaryHeadCIFAR, AuxiliaryHeadImageNet, GenotypeClassifier
from nas_backbones.spaces.darts.drop_path_hook import DropPathHook
from tests.conftest import ROOT, tiny_imagenet_classification_config


def samples(labels):
    return [BaseDataElement(gt_label=torch.tensor([v])) for v in labels]


def small(**kw):
    kw.setdefault('genotype', 'PC_DARTS_image')
    kw.setdefault('C', 8)
    kw.setdefault('layers', 5)
    kw.setdefault('num_classes', 5)
    return GenotypeClassifier(**kw)


def test_loss_with_auxiliary_head_backpropagates_everywhere():
    torch.manual_seed(0)
    model = small(aux_weight=0.4).train()
    assert model.aux_cell == 3 and isinstance(model.aux_head, AuxiliaryHeadImageNet)
    losses = model(torch.randn(3, 3, 32, 32), samples([0, 4, 2]), mode='loss')
    assert set(losses) == {'loss_cls', 'loss_aux'}
    sum(losses.values()).backward()
    for name in ('head.weight', 'aux_head.classifier.weight', 'backbone.stem.stem0.0.weight'):
        assert model.get_parameter(name).grad.abs().sum() > 0, name
    # Cells after the tap get no gradient from the auxiliary loss alone.
    model.zero_grad()
    model(torch.randn(3, 3, 32, 32), samples([0, 4, 2]), mode='loss')['loss_aux'].backward()
    assert model.head.weight.grad is None
    assert model.backbone.cells[-1].preprocess1[1].weight.grad is None
    assert model.backbone.cells[model.aux_cell].preprocess1[1].weight.grad.abs().sum() > 0


def test_auxiliary_head_runs_only_for_the_training_loss():
    model = small()
    calls = []
    model.aux_head.register_forward_hook(lambda *a: calls.append(1))
    x = torch.randn(2, 3, 32, 32)
    model.train()
    model(x, samples([1, 2]), mode='loss')
    assert len(calls) == 1
    model(x, mode='tensor')
    preds = model(x, samples([1, 2]), mode='predict')
    model.eval()
    assert set(model(x, samples([1, 2]), mode='loss')) == {'loss_cls'}
    preds = model(x, samples([1, 2]), mode='predict')
    assert len(calls) == 1
    assert [p.pred_score.shape for p in preds] == [(5,), (5,)]
    torch.testing.assert_close(preds[0].pred_score.sum(), torch.tensor(1.))
    assert preds[0].pred_label.item() == preds[0].pred_score.argmax().item()
    assert 'gt_label' in preds[0]  # the ground truth stays for the metric
    assert 'aux' not in str(preds[0].keys())
    with pytest.raises(ValueError, match="mode must be 'loss', 'predict' or 'tensor'"):
        model(x, mode='aux')


def test_no_auxiliary_head_when_disabled():
    model = small(auxiliary=False).train()
    assert model.aux_head is None
    assert set(model(torch.randn(2, 3, 32, 32), samples([0, 1]), mode='loss')) == {'loss_cls'}


@pytest.mark.parametrize('eps', [0.1, 0.])
def test_label_smoothing_matches_the_reference_criterion(eps):
    torch.manual_seed(0)
    model = small(label_smoothing=eps).eval()
    x = torch.randn(4, 3, 32, 32)
    labels = [0, 3, 4, 3]
    with torch.no_grad():
        logits = model(x, mode='tensor')
        loss = model(x, samples(labels), mode='loss')['loss_cls']
    # train_imagenet.py's CrossEntropyLabelSmooth.
    log_probs = F.log_softmax(logits, dim=1)
    targets = torch.zeros_like(log_probs).scatter_(1, torch.tensor(labels)[:, None], 1)
    targets = (1 - eps) * targets + eps / 5
    torch.testing.assert_close(loss, (-targets * log_probs).mean(0).sum())


def test_aux_loss_is_weighted_and_smoothed_like_the_main_loss():
    torch.manual_seed(0)
    model = small(aux_weight=0.4, label_smoothing=0.1).train()
    x = torch.randn(2, 3, 32, 32)
    logits_aux = []
    model.aux_head.register_forward_hook(lambda m, i, o: logits_aux.append(o))
    losses = model(x, samples([1, 2]), mode='loss')
    expected = 0.4 * F.cross_entropy(logits_aux[0], torch.tensor([1, 2]), label_smoothing=0.1)
    torch.testing.assert_close(losses['loss_aux'], expected)


def reference_imagenet_aux(head):
    # model.py AuxiliaryHeadImageNet.features (ReLU in place there), sharing the weights.
    f = head.features
    return nn.Sequential(nn.ReLU(), nn.AvgPool2d(5, stride=2, padding=0, count_include_pad=False),
                         f[0], f[1], nn.ReLU(), f[3], nn.ReLU())


def reference_cifar_aux(head):
    f = head.features
    return nn.Sequential(nn.ReLU(), nn.AvgPool2d(5, stride=3, padding=0, count_include_pad=False),
                         f[0], f[1], nn.ReLU(), f[3], f[4], nn.ReLU())


@pytest.mark.parametrize('cls,ref,size', [(AuxiliaryHeadImageNet, reference_imagenet_aux, 7),
                                          (AuxiliaryHeadCIFAR, reference_cifar_aux, 8)])
def test_aux_heads_equal_the_reference_at_the_reference_size(cls, ref, size):
    torch.manual_seed(0)
    head = cls(16, 10).eval()
    x = torch.randn(2, 16, size, size)
    expected = head.classifier(ref(head)(x).flatten(1))
    torch.testing.assert_close(head(x), expected)
    bns = [m for m in head.features if isinstance(m, nn.BatchNorm2d)]
    # ImageNet: no BN after the 2x2 conv, deliberately (as the reference).
    assert [b.num_features for b in bns] == ([128] if cls is AuxiliaryHeadImageNet else [128, 768])


@pytest.mark.parametrize('size', [1, 2, 4, 5, 10, 19])
def test_aux_heads_take_other_map_sizes(size):
    for cls in (AuxiliaryHeadImageNet, AuxiliaryHeadCIFAR):
        assert cls(16, 10).eval()(torch.randn(2, 16, size, size)).shape == (2, 10)


def test_built_from_registry_with_a_backbone_config():
    model = MODELS.build(dict(type='GenotypeClassifier', num_classes=3,
                              backbone=dict(type='DartsBackbone', genotype='DARTS_V2', C=8,
                                            layers=5, stem='cifar', out_indices=(3,))))
    assert isinstance(model.aux_head, AuxiliaryHeadCIFAR)
    assert model.head.in_features == model.backbone.out_channels[-1] == 128
    # The preprocessor normalises BGR uint8 to RGB ImageNet statistics.
    data = model.data_preprocessor(dict(inputs=[torch.full((3, 4, 4), 255, dtype=torch.uint8)],
                                        data_samples=samples([0])))
    torch.testing.assert_close(data['inputs'][0, :, 0, 0],
                               (255 - torch.tensor([123.675, 116.28, 103.53])) /
                               torch.tensor([58.395, 57.12, 57.375]))


@pytest.mark.parametrize('kwargs,error,fragment', [
    (dict(backbone=dict(C=8), C=16), ValueError, "option(s) ['C'] given both"),
    (dict(backbone=dict(type='ResNet', depth=18)), TypeError, 'must be a DartsBackbone'),
    (dict(num_classes=0), ValueError, 'num_classes must be >= 1'),
    (dict(label_smoothing=1.0), ValueError, 'label_smoothing must be in [0, 1)'),
    (dict(aux_weight=-1), ValueError, 'aux_weight must be >= 0'),
])
def test_bad_classifier_arguments(kwargs, error, fragment):
    if 'backbone' not in kwargs:
        kwargs = dict(kwargs, C=8, layers=5)
    with pytest.raises(error) as info:
        GenotypeClassifier(**kwargs)
    assert fragment in str(info.value)


def test_loss_needs_labels():
    with pytest.raises(ValueError, match='has no gt_label'):
        small().train()(torch.randn(1, 3, 32, 32), [BaseDataElement()], mode='loss')


# ------------------------------------------------------------------ drop path hook
class _Toy(torch.utils.data.Dataset):
    def __len__(self):
        return 4

    def __getitem__(self, i):
        return dict(inputs=torch.randint(0, 255, (3, 16, 16), dtype=torch.uint8),
                    data_samples=BaseDataElement(gt_label=torch.tensor([i % 2])))


class _Record(Hook):
    priority = 'LOW'

    def __init__(self):
        self.seen = []

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        if batch_idx == 0:
            bb = runner.model.backbone
            self.seen.append((bb.drop_path_prob, {c.drop_prob for c in bb.cells},
                              runner.message_hub.get_info('drop_path_prob')))


def test_drop_path_hook_ramps_linearly_over_epochs_in_a_real_runner(tmp_path):
    from mmengine.runner import Runner
    record = _Record()
    runner = Runner(
        model=small(C=4, layers=3, num_classes=2),
        work_dir=str(tmp_path),
        train_dataloader=dict(dataset=_Toy(), batch_size=2, num_workers=0,
                              sampler=dict(type='DefaultSampler', shuffle=False)),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.01)),
        train_cfg=dict(by_epoch=True, max_epochs=4),
        custom_hooks=[dict(type='DropPathHook', drop_prob=0.2), record],
        default_hooks=dict(checkpoint=None, logger=None),
        default_scope='mmdet')
    runner.train()
    expected = [0.2 * e / 4 for e in range(4)]
    assert [p for p, _, _ in record.seen] == pytest.approx(expected)
    assert [cells for _, cells, _ in record.seen] == [{p} for p in expected]
    assert [info for _, _, info in record.seen] == pytest.approx(expected)


def test_drop_path_hook_errors():
    with pytest.raises(ValueError, match=r'drop_prob must be in \[0, 1\), got 1.5'):
        DropPathHook(1.5)
    assert HOOKS.get('DropPathHook') is DropPathHook


# ------------------------------------------------------------------ metric
def test_topk_accuracy_on_known_scores():
    metric = ClsAccuracy(topk=(1, 2, 10))
    scores = torch.tensor([[0.5, 0.3, 0.2],   # label 0: top-1 hit
                           [0.5, 0.3, 0.2],   # label 1: top-2 hit
                           [0.5, 0.3, 0.2],   # label 2: miss in top-2
                           [0.1, 0.2, 0.7]])  # label 2: top-1 hit
    metric.process({}, [dict(pred_score=s, gt_label=torch.tensor([lbl]))
                        for s, lbl in zip(scores, [0, 1, 2, 2])])
    result = metric.evaluate(4)
    assert result == pytest.approx({'cls/top1': 50., 'cls/top2': 75., 'cls/top10': 100.})
    assert METRICS.get('ClsAccuracy') is ClsAccuracy
    with pytest.raises(ValueError, match='topk must be positive integers'):
        ClsAccuracy(topk=(0,))


def test_package_import_registers_everything_configs_name():
    # `custom_imports=['nas_backbones']` is all a config does: it must be enough.
    code = ('import nas_backbones\n'
            'from mmdet.registry import DATASETS, HOOKS, METRICS, MODELS, TRANSFORMS\n'
            'need = [(MODELS, "GenotypeClassifier"), (HOOKS, "DropPathHook"), '
            '(METRICS, "ClsAccuracy"), (DATASETS, "ImageNetDataset"), '
            '(TRANSFORMS, "RandomResizedCrop"), (TRANSFORMS, "ColorJitter"), '
            '(TRANSFORMS, "PackClsInputs")]\n'
            'missing = [n for r, n in need if n not in r.module_dict]\n'
            'assert not missing, missing\n')
    proc = subprocess.run([sys.executable, '-c', code], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-2000:]


# ------------------------------------------------------------------ the recipe
def reference_lr(epoch, lr0=0.5, epochs=250):
    """train_imagenet.py: adjust_lr, then the warm-up override for the first 5 epochs."""
    if epoch < 5:
        return lr0 * (epoch + 1) / 5
    if epochs - epoch > 5:
        return lr0 * (epochs - 5 - epoch) / (epochs - 5)
    return lr0 * (epochs - epoch) / ((epochs - 5) * 5)


def test_imagenet_config_lr_schedule_is_the_reference_one():
    cfg = Config.fromfile(str(ROOT / 'configs/cls_pcdarts_imagenet.py'))
    assert cfg.optim_wrapper.optimizer.lr == 0.5 and cfg.train_cfg.max_epochs == 250
    param = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([param], lr=cfg.optim_wrapper.optimizer.lr)
    scheds = [PARAM_SCHEDULERS.build(dict(s, optimizer=opt)) for s in cfg.param_scheduler]
    lrs = []
    with pytest.warns(UserWarning):  # stepping the schedulers without optimizer steps
        for _ in range(250):
            lrs.append(opt.param_groups[0]['lr'])
            for s in scheds:
                s.step()
    assert lrs == pytest.approx([reference_lr(e) for e in range(250)], rel=1e-9, abs=1e-12)


def test_imagenet_config_holds_the_reference_recipe():
    cfg = Config.fromfile(str(ROOT / 'configs/cls_pcdarts_imagenet.py'))
    m = cfg.model
    assert (m.backbone.genotype, m.backbone.C, m.backbone.layers) == ('PC_DARTS_image', 48, 14)
    assert (m.aux_weight, m.label_smoothing, m.num_classes) == (0.4, 0.1, 1000)
    opt = cfg.optim_wrapper
    assert (opt.optimizer.momentum, opt.optimizer.weight_decay, opt.clip_grad.max_norm) == \
        (0.9, 3e-5, 5.)
    assert cfg.train_dataloader.batch_size * 8 == 1024
    jitter = [t for t in cfg.train_pipeline if t.type == 'ColorJitter'][0]
    assert (jitter.brightness, jitter.contrast, jitter.saturation, jitter.hue) == (0.4, 0.4, 0.4, 0.2)
    assert [t.type for t in cfg.test_pipeline][1:3] == ['ResizeShortestEdge', 'CenterCrop']
    assert cfg.test_pipeline[1].scale == 256 and cfg.test_pipeline[2].crop_size == 224
    assert cfg.custom_hooks[0].type == 'DropPathHook' and cfg.custom_hooks[0].drop_prob == 0.
    assert cfg.default_scope == 'mmdet' and cfg.custom_imports.imports == ['nas_backbones']
    model = MODELS.build(cfg.model)
    assert abs(sum(p.numel() for n, p in model.named_parameters()
                   if not n.startswith('aux_head')) - 5.3e6) <= 0.05e6


def test_tiny_config_inherits_and_shrinks_the_recipe():
    cfg = Config.fromfile(str(ROOT / 'configs/cls_pcdarts_tiny_imagenet.py'))
    assert cfg.model.backbone.genotype == 'PC_DARTS_image' and cfg.model.num_classes == 10
    assert cfg.model.label_smoothing == 0.1 and cfg.model.aux_weight == 0.4  # inherited
    assert cfg.train_dataloader.dataset.data_root == 'data/tiny-imagenet-10'
    assert cfg.train_pipeline[1].size == 64 and cfg.test_pipeline[2].crop_size == 64
    assert cfg.train_dataloader.dataset.pipeline == cfg.train_pipeline
    assert cfg.val_dataloader.dataset.pipeline == cfg.test_pipeline
    assert cfg.val_dataloader.dataset.ann_file == 'meta/val.txt'
    model = MODELS.build(cfg.model).eval()
    with torch.no_grad():
        assert model(torch.randn(1, 3, 64, 64), mode='tensor').shape == (1, 10)


# ------------------------------------------------------------------ end to end
@pytest.mark.slow
def test_tiny_imagenet_config_trains_evaluates_and_transfers(tiny_imagenet, tmp_path):
    """A few iterations of configs/cls_pcdarts_tiny_imagenet.py through MMEngine's Runner,
    on per-class subsets made by the subset tool, then its checkpoint into a detection backbone."""
    from mmengine.registry import RUNNERS
    from mmengine.runner import Runner

    from nas_backbones.spaces.darts import DartsBackbone
    cfg = tiny_imagenet_classification_config('configs/cls_pcdarts_tiny_imagenet.py', tiny_imagenet, tmp_path)
    cfg.model.backbone.update(C=8, layers=5)
    cfg.custom_hooks[0].drop_prob = 0.2
    runner = RUNNERS.build(cfg)  # runner_type, as tools/train.py builds it
    assert isinstance(runner, Runner) and type(runner).__name__ == 'NASRunner'
    runner.train()
    metrics = runner.val_loop.run()
    assert set(metrics) == {'cls/top1', 'cls/top5'}
    assert 0 <= metrics['cls/top1'] <= metrics['cls/top5'] <= 100
    assert runner.model.backbone.drop_path_prob == pytest.approx(0.1)  # epoch 1 of 2
    ckpt = Path(cfg.work_dir) / 'epoch_2.pth'
    assert ckpt.is_file()
    bb = DartsBackbone('PC_DARTS_image', C=8, layers=5,
                       init_cfg=dict(type='Pretrained', checkpoint=str(ckpt), prefix='backbone.'))
    from nas_backbones.compat import checkpoint_loading
    with checkpoint_loading():  # what NASRunner opens around init_weights (docs/compat.md)
        bb.init_weights()
    trained = runner.model.backbone.state_dict()
    assert all(torch.equal(v, trained[k]) for k, v in bb.state_dict().items())
