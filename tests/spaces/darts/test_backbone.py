"""DartsBackbone: shapes at detection sizes (odd ones too), freezing, pretrained loading, drop path, errors."""
import math

import pytest
import torch
import torch.nn as nn
from mmdet.registry import MODELS

from nas_backbones.spaces.darts import DartsBackbone, GenotypeClassifier
from nas_backbones.spaces.darts.ops import FactorizedReduce


def small(**kw):
    kw.setdefault('genotype', 'PC_DARTS_image')
    kw.setdefault('C', 8)
    kw.setdefault('layers', 5)
    return DartsBackbone(**kw)


def expected_sizes(size):
    """Stem: three stride-2 convs, each ceil(H/2); then one more per reduction cell."""
    s = size
    out = []
    for step in range(5):
        s = math.ceil(s / 2)
        if step >= 1:
            out.append(s)  # stride 4 (stem0), 8 (stem1 / stage 1), 16, 32
    return out


def test_channels_and_strides_of_the_reference_imagenet_net():
    bb = DartsBackbone('PC_DARTS_image', C=48, layers=14, out_indices=(0, 1, 2, 3))
    assert bb.out_channels == [48, 192, 384, 768]
    assert bb.strides == [4, 8, 16, 32]
    # Reductions at cells 4 and 9, as NetworkImageNet.
    assert [i for i, c in enumerate(bb.cells) if c.reduction] == [4, 9]
    with torch.no_grad():
        outs = bb.eval()(torch.randn(1, 3, 64, 64))
    assert [o.shape[1] for o in outs] == [48, 192, 384, 768]
    assert [o.shape[-1] for o in outs] == [16, 8, 4, 2]


@pytest.mark.parametrize('size', [300, 301, 320, 512])
def test_any_input_size_gives_ceil_sizes_at_each_stride(size):
    bb = small(out_indices=(0, 1, 2, 3)).eval()
    with torch.no_grad():
        outs = bb(torch.randn(1, 3, size, size + 32))
    assert [o.shape[1] for o in outs] == bb.out_channels == [8, 32, 64, 128]
    assert [tuple(o.shape[-2:]) for o in outs] == list(zip(expected_sizes(size),
                                                          expected_sizes(size + 32)))
    if size == 300:  # 300 -> 75, 38, 19, 10: where the reference FactorizedReduce breaks
        assert [o.shape[-2] for o in outs] == [75, 38, 19, 10]


def test_cifar_stem_keeps_full_resolution_until_the_first_reduction():
    bb = small(stem='cifar', out_indices=(0, 1, 2, 3)).eval()
    assert bb.strides == [1, 1, 2, 4]
    assert bb.out_channels == [24, 32, 64, 128]
    with torch.no_grad():
        outs = bb(torch.randn(1, 3, 32, 32))
    assert [o.shape[-1] for o in outs] == [32, 32, 16, 8]
    assert [o.shape[1] for o in outs] == bb.out_channels


def test_registered_in_mmdet_and_returns_a_tuple_of_requested_stages():
    bb = MODELS.build(dict(type='DartsBackbone', genotype='DARTS_V2', C=8, layers=5,
                           out_indices=(1, 3)))
    outs = bb.eval()(torch.randn(1, 3, 64, 64))
    assert isinstance(outs, tuple) and [o.shape[1] for o in outs] == [32, 128]


def _bn_layers(modules):
    return [m for mod in modules for m in mod.modules() if isinstance(m, nn.BatchNorm2d)]


def test_frozen_stages_freeze_weights_and_batch_statistics():
    bb = small(frozen_stages=1)
    bb.train()
    frozen = [bb.stem] + [c for c, s in zip(bb.cells, bb.cell_stages) if s == 1]
    live = [c for c, s in zip(bb.cells, bb.cell_stages) if s >= 2]
    assert frozen[1:] and live
    assert all(not p.requires_grad for m in frozen for p in m.parameters())
    assert all(p.requires_grad for m in live for p in m.parameters())
    assert all(not bn.training for bn in _bn_layers(frozen))
    assert all(bn.training for bn in _bn_layers(live))
    before = [bn.running_mean.clone() for bn in _bn_layers(frozen)]
    live_before = [bn.running_mean.clone() for bn in _bn_layers(live)]
    out = bb(torch.randn(2, 3, 64, 64))[-1]
    out.sum().backward()
    for bn, m in zip(_bn_layers(frozen), before):
        torch.testing.assert_close(bn.running_mean, m)
    assert any(not torch.equal(bn.running_mean, m) for bn, m in zip(_bn_layers(live), live_before))
    assert all(p.grad is None for m in frozen for p in m.parameters())


def test_norm_eval_keeps_every_bn_in_eval_mode():
    bb = small(norm_eval=True)
    bb.train()
    bns = _bn_layers([bb])
    assert bns and all(not bn.training for bn in bns)
    assert any(c.training for c in bb.cells)  # only BN layers are switched
    before = [bn.running_var.clone() for bn in bns]
    bb(torch.randn(2, 3, 64, 64))
    for bn, v in zip(bns, before):
        torch.testing.assert_close(bn.running_var, v)


def test_pretrained_classifier_checkpoint_loads_into_the_backbone(tmp_path):
    torch.manual_seed(1)
    clf = GenotypeClassifier(genotype='PC_DARTS_image', C=8, layers=5, num_classes=10)
    # Make the BN statistics non-default so that buffers are checked too.
    clf.train()
    clf(torch.randn(4, 3, 64, 64), mode='tensor')
    ckpt = tmp_path / 'cls.pth'
    torch.save({'state_dict': clf.state_dict(), 'meta': {'epoch': 1}}, ckpt)

    torch.manual_seed(2)
    bb = small(init_cfg=dict(type='Pretrained', checkpoint=str(ckpt), prefix='backbone.'))
    src = clf.backbone.state_dict()
    assert any(not torch.equal(v, src[k]) for k, v in bb.state_dict().items()
               if v.dtype.is_floating_point)
    bb.init_weights()
    dst = bb.state_dict()
    assert dst.keys() == src.keys()
    for k in src:
        assert torch.equal(dst[k], src[k]), k


def test_drop_path_only_in_training():
    torch.manual_seed(0)
    bb = small(out_indices=(3,))
    x = torch.randn(4, 3, 32, 32)
    bb.drop_path_prob = 0.5
    assert all(c.drop_prob == 0.5 for c in bb.cells)
    bb.eval()
    with torch.no_grad():
        a = bb(x)[0]
        bb.drop_path_prob = 0.
        b = bb(x)[0]
    torch.testing.assert_close(a, b)  # eval: drop path is off whatever the probability
    bb.train()
    with torch.no_grad():
        c, d = bb(x)[0], bb(x)[0]
        torch.testing.assert_close(c, d)  # train, p=0: deterministic
        bb.drop_path_prob = 0.5
        e, f = bb(x)[0], bb(x)[0]
    assert not torch.allclose(e, f)


@pytest.mark.parametrize('p', [1.0, -0.1])
def test_drop_path_prob_must_be_a_probability_below_one(p):
    with pytest.raises(ValueError, match='drop_path_prob must be in'):
        small(drop_path_prob=p)


@pytest.mark.parametrize('kwargs,fragment', [
    (dict(out_indices=(4,)), 'out_indices: stage 4 does not exist'),
    (dict(out_indices=(-1,)), 'out_indices: stage -1'),
    (dict(frozen_stages=4), 'frozen_stages must be in -1..3, got 4'),
    (dict(frozen_stages=-2), 'frozen_stages must be in -1..3, got -2'),
    (dict(layers=2), 'layers must be >= 3'),
    (dict(C=7), 'C must be a positive even number, got 7'),
    (dict(stem='resnet'), "stem must be one of"),
    (dict(genotype='nope'), "'nope' is neither a published name"),
])
def test_bad_arguments_give_clear_errors(kwargs, fragment):
    with pytest.raises(ValueError) as info:
        small(**kwargs)
    assert fragment in str(info.value)


def test_bad_input_names_the_shape():
    bb = small()
    with pytest.raises(ValueError, match=r'expected a \(N, 3, H, W\) image batch, got shape \(1, 1, 64, 64\)'):
        bb(torch.randn(1, 1, 64, 64))


def reference_factorized_reduce(fr, x):
    """operations.FactorizedReduce.forward: fails on odd sizes."""
    x = fr.relu(x)
    return fr.bn(torch.cat([fr.conv_1(x), fr.conv_2(x[:, :, 1:, 1:])], dim=1))


def test_factorized_reduce_equals_reference_on_even_and_works_on_odd_sizes():
    torch.manual_seed(0)
    fr = FactorizedReduce(6, 8).eval()
    nn.init.normal_(fr.bn.running_mean)
    for size in (8, 10, 76):
        x = torch.randn(2, 6, size, size)
        torch.testing.assert_close(fr(x), reference_factorized_reduce(fr, x))
    x = torch.randn(2, 6, 75, 75)
    with pytest.raises(RuntimeError):
        reference_factorized_reduce(fr, x)  # 38 vs 37: the reference's failure
    out = fr(x)
    assert out.shape == (2, 8, 38, 38)
    # The unshifted half is exactly conv_1; the shifted half sees zero padding past the edge.
    y = fr.bn(torch.cat([fr.conv_1(fr.relu(x)), fr.conv_2(nn.functional.pad(fr.relu(x)[:, :, 1:, 1:],
                                                                            (0, 1, 0, 1)))], 1))
    torch.testing.assert_close(out, y)
    torch.testing.assert_close(out[:, :, :37, :37],
                               fr.bn(torch.cat([fr.conv_1(fr.relu(x))[:, :, :37, :37],
                                                fr.conv_2(fr.relu(x)[:, :, 1:, 1:])], 1)))
