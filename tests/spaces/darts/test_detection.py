"""SSD with the genotype-built backbone: shapes through backbone, neck and head; loss and predict."""
import argparse
import math

import pytest
import torch
from mmdet.registry import MODELS
from mmdet.structures import DetDataSample
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.structures import InstanceData

import nas_backbones  # noqa: F401
from tests.conftest import ROOT


@pytest.fixture(scope='module')
def coco_cfg() -> Config:
    init_default_scope('mmdet')
    return Config.fromfile(str(ROOT / 'configs' / 'ssd_pcdarts_coco.py'))


@pytest.fixture(scope='module')
def detector(coco_cfg):
    torch.manual_seed(0)
    model = MODELS.build(coco_cfg.model)
    model.init_weights()
    return model


def conv_out(n: int, stride: int, padding: int, kernel: int = 3) -> int:
    return (n + 2 * padding - kernel) // stride + 1


def expected_maps(size: int, neck_cfg) -> list[int]:
    """Backbone: every stride-2 step rounds up (3x3/pad-1 convs, padded FactorizedReduce)."""
    maps = []
    n = size
    for stride in (2, 2, 2, 2, 2):  # stem0 (2 convs) -> 4, stem1 -> 8, reductions -> 16, 32
        n = math.ceil(n / stride)
        maps.append(n)
    maps = maps[2:]  # strides 8, 16, 32
    for i, (s, p) in enumerate(zip(neck_cfg.level_strides, neck_cfg.level_paddings)):
        last = i == len(neck_cfg.level_strides) - 1
        maps.append(conv_out(maps[-1], s, p, neck_cfg.get('last_kernel_size', 3) if last else 3))
    return maps


def samples_for(size: int, n: int = 1) -> list[DetDataSample]:
    out = []
    for i in range(n):
        s = DetDataSample()
        s.set_metainfo(dict(img_shape=(size, size), ori_shape=(size, size), pad_shape=(size, size),
                            batch_input_shape=(size, size), scale_factor=(1., 1.)))
        box = torch.tensor([[0.1, 0.2, 0.6, 0.7]]) * size
        s.gt_instances = InstanceData(bboxes=box + i, labels=torch.tensor([3 + i]))
        out.append(s)
    return out


def test_config_wiring_is_consistent(coco_cfg):
    neck, head = coco_cfg.model.neck, coco_cfg.model.bbox_head
    backbone = MODELS.build(coco_cfg.model.backbone)
    out_channels = tuple(backbone.out_channels[i] for i in backbone.out_indices)
    assert out_channels == neck.in_channels == (192, 384, 768)
    assert [backbone.strides[i] for i in backbone.out_indices] == [8, 16, 32]
    assert neck.out_channels[:len(neck.in_channels)] == neck.in_channels
    assert head.in_channels == neck.out_channels
    levels = len(neck.out_channels)
    anchors = head.anchor_generator
    assert len(anchors.strides) == len(anchors.ratios) == levels
    assert expected_maps(300, neck) == [38, 19, 10, 5, 3, 1]


@pytest.mark.parametrize('size', [300, 320, 512, 333])
def test_ssd_forward_loss_predict(detector, coco_cfg, size):
    neck = coco_cfg.model.neck
    x = torch.randn(1, 3, size, size)
    detector.eval()
    with torch.no_grad():
        feats = detector.extract_feat(x)
        cls_scores, bbox_preds = detector.bbox_head(feats)
    assert [f.shape[-1] for f in feats] == [f.shape[-2] for f in feats] == expected_maps(size, neck)
    assert [f.shape[1] for f in feats] == list(neck.out_channels)
    anchors_per_level = detector.bbox_head.prior_generator.num_base_priors
    num_cls = detector.bbox_head.cls_out_channels
    assert [c.shape[1] for c in cls_scores] == [a * num_cls for a in anchors_per_level]
    assert [b.shape[1] for b in bbox_preds] == [a * 4 for a in anchors_per_level]

    detector.train()
    losses = detector.loss(x, samples_for(size))
    assert set(losses) == {'loss_cls', 'loss_bbox'}
    total = sum(sum(v) for v in losses.values())
    assert torch.isfinite(total) and total > 0
    total.backward()
    grads = [p.grad for p in detector.backbone.parameters() if p.requires_grad]
    assert all(g is not None for g in grads)
    detector.zero_grad()

    detector.eval()
    with torch.no_grad():
        result = detector.predict(x, samples_for(size))[0]
    boxes = result.pred_instances.bboxes
    assert boxes.ndim == 2 and boxes.shape[1] == 4
    assert len(result.pred_instances.scores) == len(boxes) <= coco_cfg.model.test_cfg.max_per_img
    if len(boxes):
        assert boxes.min() >= 0 and boxes.max() <= size  # clipped to the image


def test_demo_config_maps():
    cfg = Config.fromfile(str(ROOT / 'configs' / 'ssd_pcdarts_demo.py'))
    init_default_scope('mmdet')
    model = MODELS.build(cfg.model).eval()
    size = cfg.input_size
    with torch.no_grad():
        feats = model.extract_feat(torch.randn(1, 3, size, size))
    assert [f.shape[-1] for f in feats] == expected_maps(size, cfg.model.neck)
    gen = model.bbox_head.prior_generator
    assert len(feats) == gen.num_levels == len(cfg.model.bbox_head.anchor_generator.min_sizes)


def test_genotype_file_and_pretrained_prefix(tmp_path):
    """The documented overrides: a search's genotype.json, and a classifier checkpoint whose trunk
    is `backbone.`, given with --cfg-options as the config's header says."""
    from mmengine.config import DictAction

    from nas_backbones.spaces.darts.published import PUBLISHED
    genotype_file = tmp_path / 'genotype.json'
    PUBLISHED['DARTS_V2'].save(genotype_file)
    classifier = MODELS.build(dict(type='GenotypeClassifier', genotype=str(genotype_file), C=16,
                                   layers=5, num_classes=10, auxiliary=False))
    ckpt = tmp_path / 'cls.pth'
    torch.save({'state_dict': classifier.state_dict()}, ckpt)

    parser = argparse.ArgumentParser()
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    args = parser.parse_args([
        '--cfg-options', f'model.backbone.genotype={genotype_file}', 'model.backbone.C=16',
        'model.backbone.layers=5', 'model.backbone.init_cfg.type=Pretrained',
        f'model.backbone.init_cfg.checkpoint={ckpt}', 'model.backbone.init_cfg.prefix=backbone.'])
    cfg = Config.fromfile(str(ROOT / 'configs' / 'ssd_pcdarts_coco.py'))
    cfg.merge_from_dict(args.cfg_options)
    backbone = MODELS.build(cfg.model.backbone)
    assert backbone.genotype == PUBLISHED['DARTS_V2']
    backbone.init_weights()
    trunk = classifier.state_dict()
    for k, v in backbone.state_dict().items():
        assert torch.equal(v, trunk['backbone.' + k]), k
