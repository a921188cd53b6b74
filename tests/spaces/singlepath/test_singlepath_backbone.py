"""The derived network as an MMDetection backbone and as an ImageNet classifier."""
import pytest
import torch
from mmdet.registry import MODELS

from nas_backbones.spaces.singlepath import PUBLISHED, SinglePathBackbone, SinglePathClassifier

SMALL = dict(arch='SPNAS_Pixel1', width_mult=0.35)


def test_stages_channels_and_strides_follow_mobilenetv2s_convention():
    b = SinglePathBackbone(arch='SPNAS_Pixel1', out_indices=tuple(range(8))).eval()
    assert b.out_channels == [16, 24, 40, 80, 96, 192, 320, 1280]
    assert b.strides == [2, 4, 8, 16, 16, 32, 32, 32]
    feats = b(torch.randn(1, 3, 64, 64))
    assert [f.shape[1] for f in feats] == b.out_channels
    assert [64 // f.shape[-1] for f in feats] == b.strides
    # the skipped fourth layer of block 1 is an identity, so names follow the file's layers
    assert isinstance(b.blocks[1][3], torch.nn.Identity) and len(b.blocks[1]) == 4


@pytest.mark.parametrize('size', [320, 321, 300, 299, 97])
def test_every_input_size_works_odd_ones_included(size):
    b = MODELS.build(dict(type='SinglePathBackbone', out_indices=(4, 7), **SMALL)).eval()
    with torch.no_grad():
        f16, f32 = b(torch.randn(1, 3, size, size + 2))
    def up(n, times):
        for _ in range(times):
            n = -(-n // 2)
        return n
    assert f16.shape[-2:] == (up(size, 4), up(size + 2, 4))
    assert f32.shape[-2:] == (up(size, 5), up(size + 2, 5))


def test_frozen_stages_and_norm_eval():
    b = SinglePathBackbone(frozen_stages=2, norm_eval=True, **SMALL)
    b.train()
    frozen = [b.stem, b.blocks[0], b.blocks[1]]
    for m in frozen:
        assert not any(p.requires_grad for p in m.parameters())
    assert all(p.requires_grad for p in b.blocks[2].parameters())
    assert all(not m.training for m in b.modules() if isinstance(m, torch.nn.BatchNorm2d))
    b = SinglePathBackbone(frozen_stages=8, **SMALL)
    assert not any(p.requires_grad for p in b.parameters())
    with pytest.raises(ValueError, match=r'frozen_stages must be in -1..8'):
        SinglePathBackbone(frozen_stages=9, **SMALL)
    with pytest.raises(ValueError, match=r'out_indices: stage 8 does not exist'):
        SinglePathBackbone(out_indices=(8,), **SMALL)


def test_backbone_initialises_from_a_classifier_checkpoint(tmp_path):
    cls = SinglePathClassifier(num_classes=7, **SMALL)
    ckpt = tmp_path / 'cls.pth'
    torch.save({'state_dict': cls.state_dict(), 'meta': {}}, ckpt)
    b = MODELS.build(dict(type='SinglePathBackbone', **SMALL,
                          init_cfg=dict(type='Pretrained', checkpoint=str(ckpt), prefix='backbone.')))
    fresh = {k: v.clone() for k, v in b.state_dict().items()}
    b.init_weights()
    loaded = b.state_dict()
    for k, v in cls.backbone.state_dict().items():
        assert torch.equal(loaded[k], v), k
    assert any(not torch.equal(fresh[k], loaded[k]) for k in loaded if k.endswith('conv.weight'))


def test_classifier_losses_and_predictions():
    from mmengine.structures import BaseDataElement
    model = SinglePathClassifier(num_classes=4, **SMALL)
    x = torch.randn(2, 3, 32, 32)
    samples = [BaseDataElement(gt_label=torch.tensor([i])) for i in (1, 3)]
    losses = model(x, samples, mode='loss')
    assert set(losses) == {'loss_cls'} and losses['loss_cls'].item() > 0
    model.eval()
    preds = model(x, samples, mode='predict')
    assert preds[0].pred_score.shape == (4,)
    with pytest.raises(ValueError, match=r'data_samples\[0\] has no gt_label'):
        model(x, [BaseDataElement()], mode='loss')


def test_architecture_width_override_keeps_the_choices():
    b = SinglePathBackbone(**SMALL)
    assert b.arch.choices == PUBLISHED['SPNAS_Pixel1'].choices and b.arch.width_mult == 0.35
    assert b.out_channels[-1] == 448  # 1280 * 0.35 rounded to 8
