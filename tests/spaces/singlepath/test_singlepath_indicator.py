"""The straight-through indicator: hard 0/1 forward, sigmoid-derivative backward; its warm-up dropout."""
import math

import pytest
import torch

from nas_backbones.spaces.singlepath.relaxation import indicator, indicator_dropout


def sigmoid_slope(x: float) -> float:
    s = 1 / (1 + math.exp(-x))
    return s * (1 - s)


@pytest.mark.parametrize('dtype', [torch.float32, torch.float64, torch.float16])
def test_forward_is_exactly_zero_or_one(dtype):
    x = torch.tensor([-3., -0.25, -1e-4, 0., 1e-4, 0.25, 3., 40.], dtype=dtype)
    out = indicator(x)
    assert out.dtype == dtype
    assert out.tolist() == [0., 0., 0., 1., 1., 1., 1., 1.]  # exact: x >= 0 is on


def test_backward_is_the_sigmoid_derivative_on_hand_cases():
    cases = [-3., -0.5, 0., 0.5, 2.]
    x = torch.tensor(cases, dtype=torch.float64, requires_grad=True)
    indicator(x).sum().backward()
    assert x.grad.tolist() == pytest.approx([sigmoid_slope(v) for v in cases], rel=1e-12)
    assert x.grad[2].item() == pytest.approx(0.25)  # the slope at the decision boundary


def test_gradient_flows_through_a_threshold_with_the_chain_rule():
    # d = I(norm - t): dd/dt = -sigmoid'(norm - t), dd/dnorm = +sigmoid'(norm - t)
    norm = torch.tensor(1.5, dtype=torch.float64, requires_grad=True)
    t = torch.tensor(1.0, dtype=torch.float64, requires_grad=True)
    upstream = 3.0
    (upstream * indicator(norm - t)).backward()
    assert t.grad.item() == pytest.approx(-upstream * sigmoid_slope(0.5))
    assert norm.grad.item() == pytest.approx(upstream * sigmoid_slope(0.5))


def test_dropout_keeps_or_drops_the_whole_indicator_and_rescales_like_tf():
    d = torch.ones(())
    g = torch.Generator().manual_seed(0)
    draws = [indicator_dropout(d, 0.6, generator=g).item() for _ in range(2000)]
    assert sorted(set(draws)) == [0., pytest.approx(1 / 0.6)]
    kept = sum(v > 0 for v in draws) / len(draws)
    assert 0.55 < kept < 0.65
    g = torch.Generator().manual_seed(0)
    plain = {indicator_dropout(d, 0.6, rescale=False, generator=g).item() for _ in range(50)}
    assert plain == {0., 1.}


def test_dropout_is_off_at_keep_prob_one_or_none_and_checks_its_range():
    d = torch.tensor(1., requires_grad=True)
    assert indicator_dropout(d, None) is d and indicator_dropout(d, 1.0) is d
    with pytest.raises(ValueError, match='keep_prob'):
        indicator_dropout(d, 0.)
