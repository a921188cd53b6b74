"""The search space's loss (CE with label smoothing + L2 + lambda ln R), its phases, derivation and
snapshot; and the runtime term at work: a larger lambda ends a short search at a lower R."""
import json
import math

import pytest
import torch
import torch.nn.functional as F
from mmengine.logging import MessageHub

from nas_backbones.spaces.singlepath import RMSpropTF, StaircaseExponentialLR
from tests.conftest import sp_batch, sp_space, sp_train_briefly


def test_loss_is_smoothed_ce_plus_l2_on_non_bn_parameters_and_thresholds():
    s = sp_space(weight_decay=1e-3, label_smoothing=0.1)
    s.warmup_override = False
    s.eval()  # no dropout: the logits can be recomputed
    x, y = sp_batch()
    losses = s(x, y, mode='loss')
    logits = s(x, mode='tensor')
    assert losses['loss_cls'].item() == pytest.approx(
        F.cross_entropy(logits, y, label_smoothing=0.1).item(), rel=1e-6)
    bn = {id(p) for m in s.modules() if isinstance(m, torch.nn.BatchNorm2d) for p in m.parameters()}
    l2 = sum(p.pow(2).sum().item() for p in s.parameters() if id(p) not in bn)
    assert losses['loss_wd'].item() == pytest.approx(0.5 * 1e-3 * l2, rel=1e-5)
    assert any(p is s.arch.thresholds for p in s.decayed_parameters())
    assert losses['runtime'].item() == pytest.approx(s.expected_runtime().item())
    assert not losses['runtime'].requires_grad  # logged, not a loss


def test_cost_is_lambda_times_scale_times_log_runtime_and_off_in_the_warmup():
    s = sp_space(runtime_lambda=0.02, runtime_scale=1e3, warmup_iters=10)
    hub = MessageHub.get_current_instance()
    hub.update_info('iter', 9)
    assert s.in_warmup and s.cost().item() == 0.
    hub.update_info('iter', 10)
    assert not s.in_warmup
    R = s.expected_runtime()
    assert s.cost().item() == pytest.approx(20. * math.log(R.item()))
    s.cost().backward()
    assert s.arch.thresholds.grad.abs().sum() > 0  # the runtime term reaches the thresholds
    by_epoch = sp_space(warmup_epochs=2)
    hub.update_info('epoch', 1)
    assert by_epoch.in_warmup
    hub.update_info('epoch', 2)
    assert not by_epoch.in_warmup
    assert sp_space(runtime=None).cost() is None
    with pytest.raises(ValueError, match='warmup_epochs or warmup_iters, not both'):
        sp_space(warmup_epochs=1, warmup_iters=1)


def test_indicator_dropout_only_in_training_during_the_warmup():
    s = sp_space()
    x, _ = sp_batch(2)
    s.train()
    outs = []
    for phase in (True, True, False, False):
        s.warmup_override = phase
        torch.manual_seed(0 if len(outs) % 2 == 0 else 1)
        for m in s.modules():  # BN and dropout in eval: only the indicators can differ
            if isinstance(m, (torch.nn.BatchNorm2d, torch.nn.Dropout)):
                m.eval()
        outs.append(s(x, mode='tensor'))
    assert not torch.allclose(outs[0], outs[1])  # warm-up: different sampled sub-networks
    assert torch.equal(outs[2], outs[3])          # afterwards: no dropout


def test_snapshot_is_plain_json_with_the_derived_architecture():
    s = sp_space()
    snap = s.snapshot()
    json.dumps(snap)
    assert len(snap['thresholds']) == len(snap['norms']) == len(snap['decisions']) == 5
    assert snap['architecture'] == s.derive().to_dict()
    assert snap['runtime'] == pytest.approx(s.expected_runtime().item())
    assert snap['runtime_unit'] == 'M MACs' and len(snap['layer_runtimes']) == 5


def short_search(runtime_lambda: float, steps: int = 20) -> tuple[float, list[str]]:
    torch.manual_seed(0)
    s = sp_space(runtime_lambda=runtime_lambda)
    sp_train_briefly(s, steps)
    return s.expected_runtime().item(), s.derive().ops()


def test_a_larger_lambda_ends_a_short_search_at_a_lower_runtime():
    r0, ops0 = short_search(0.)
    r1, ops1 = short_search(0.02)
    full = sp_space().expected_runtime().item()
    assert r1 < r0 <= full + 1e-6
    assert ops1.count('k5e6') < ops0.count('k5e6')


def test_rmsprop_tf_matches_tf1s_update_by_hand():
    p = torch.nn.Parameter(torch.tensor(1.))
    opt = RMSpropTF([p], lr=0.1, alpha=0.9, eps=1e-3, momentum=0.9)
    expected, ms, mom = 1., 1., 0.  # TF1: the mean square starts at 1
    for _ in range(3):
        opt.zero_grad()
        (0.5 * p).backward()  # g = 0.5
        opt.step()
        ms = 0.9 * ms + 0.1 * 0.25
        mom = 0.9 * mom + 0.1 * 0.5 / math.sqrt(ms + 1e-3)
        expected -= mom
        assert p.item() == pytest.approx(expected, rel=1e-6)


def test_staircase_decay_every_fractional_period_of_epochs():
    p = torch.nn.Parameter(torch.tensor(1.))
    opt = torch.optim.SGD([p], lr=1.)
    sched = StaircaseExponentialLR.build_iter_from_epoch(opt, period=2.4, gamma=0.5, epoch_length=10)
    lrs = [opt.param_groups[0]['lr']]
    for _ in range(60):
        opt.step()
        sched.step()
        lrs.append(opt.param_groups[0]['lr'])
    # tf.train.exponential_decay(staircase=True): lr0 * gamma ** floor(step / 24)
    assert lrs == [0.5 ** (s // 24) for s in range(61)]


def test_staircase_with_warmup_is_the_references_ramp_per_iteration():
    p = torch.nn.Parameter(torch.tensor(1.))
    opt = torch.optim.SGD([p], lr=2.)
    sched = StaircaseExponentialLR.build_iter_from_epoch(opt, period=2.4, gamma=0.5, warmup=5,
                                                         epoch_length=10)
    lrs = [opt.param_groups[0]['lr']]
    for _ in range(80):
        opt.step()
        sched.step()
        lrs.append(opt.param_groups[0]['lr'])
    # MnasNet's build_learning_rate: lr0 * step / 50 below int(5 x 10) steps, else the staircase
    want = [2. * s / 50 if s < 50 else 2. * 0.5 ** (s // 24) for s in range(81)]
    assert lrs == pytest.approx(want, rel=1e-12, abs=0)
    with pytest.raises(ValueError, match='warmup must be >= 0'):
        StaircaseExponentialLR(opt, period=2.4, warmup=-1)
