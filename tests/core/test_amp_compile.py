"""Mixed precision for both phases of a search (arch parameters stay float32) and the torch.compile option.

mmengine 0.10.7's ``AmpOptimWrapper`` asserts that a GPU is present, although
torch autocasts bfloat16 on CPU and its wrapper needs nothing else with the
loss scaler off (what ``--amp --amp-dtype bfloat16`` sets). The tests build it
past that assert, so the CPU runs the same AMP code path a GPU would.
"""
import warnings

import pytest
import torch
import torch.nn as nn

from nas_backbones.core.optim import SearchOptimWrapperConstructor
from nas_backbones.engine.launch import enable_amp, load_train_config, train_arg_parser
from tests.conftest import darts_search

NET = dict(type='PCDartsSupernet', num_classes=4, C=8, layers=3, stem='cifar', partial_k=2)


def optim_cfg() -> dict:
    return dict(constructor='SearchOptimWrapperConstructor',
                weights=dict(optimizer=dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=3e-4),
                             clip_grad=dict(max_norm=5.)),
                arch=dict(optimizer=dict(type='Adam', lr=6e-3, betas=(0.5, 0.999), weight_decay=1e-3)))


def build_wrappers(algo, cfg: dict):
    cfg = dict(cfg)
    cfg.pop('constructor')
    return SearchOptimWrapperConstructor(cfg)(algo)


def batch_pair(seed: int = 1) -> dict:
    g = torch.Generator().manual_seed(seed)
    return {s: {'inputs': torch.randn(4, 3, 12, 12, generator=g),
                'data_samples': torch.randint(0, 4, (4,), generator=g)} for s in ('weights', 'arch')}


@pytest.fixture
def amp_on_cpu(monkeypatch):
    """Let mmengine build an AmpOptimWrapper without a GPU (its only obstacle on CPU)."""
    import mmengine.optim.optimizer.amp_optimizer_wrapper as amp
    monkeypatch.setattr(amp, 'is_cuda_available', lambda: True)


def test_enable_amp_turns_both_search_wrappers_into_amp():
    cfg = optim_cfg()
    enable_amp(cfg, 'bfloat16')
    for name in ('weights', 'arch'):
        assert cfg[name]['type'] == 'AmpOptimWrapper' and cfg[name]['dtype'] == 'bfloat16'
        assert cfg[name]['loss_scale'] == dict(enabled=False)  # bfloat16: no loss scaling
    assert cfg['weights']['clip_grad'] == dict(max_norm=5.)
    cfg = optim_cfg()
    enable_amp(cfg)  # as MMDetection: float16 (the CUDA default), dynamic loss scaling
    assert all(cfg[n]['loss_scale'] == 'dynamic' and 'dtype' not in cfg[n] for n in ('weights', 'arch'))
    detector = dict(type='OptimWrapper', optimizer=dict(type='SGD', lr=0.01))
    enable_amp(detector, 'float16')
    assert detector['type'] == 'AmpOptimWrapper' and detector['dtype'] == 'float16'
    with pytest.raises(ValueError, match='not an OptimWrapper'):
        enable_amp(dict(type='MyWrapper', optimizer=dict(type='SGD', lr=0.1)))
    with pytest.raises(ValueError, match='amp-dtype'):
        enable_amp(optim_cfg(), 'float8')


def test_amp_dtype_on_the_command_line(tmp_path):
    cfg_file = tmp_path / 'search.py'
    cfg_file.write_text(f'optim_wrapper = {optim_cfg()!r}\n')
    parser = train_arg_parser('search')
    cfg = load_train_config(parser.parse_args([str(cfg_file), '--amp', '--amp-dtype', 'bfloat16',
                                               '--work-dir', str(tmp_path)]))
    assert {cfg.optim_wrapper[n]['dtype'] for n in ('weights', 'arch')} == {'bfloat16'}
    with pytest.raises(ValueError, match='--amp-dtype needs --amp'):
        load_train_config(parser.parse_args([str(cfg_file), '--amp-dtype', 'bfloat16']))


def test_bf16_amp_step_autocasts_both_phases_and_keeps_arch_parameters_float32(amp_on_cpu):
    torch.manual_seed(0)
    algo = darts_search(NET)
    cfg = optim_cfg()
    enable_amp(cfg, 'bfloat16')
    optim = build_wrappers(algo, cfg)
    seen = []  # (phase, dtype of a convolution's output) for every call
    conv = next(m for m in algo.space.model.modules() if isinstance(m, nn.Conv2d))
    conv.register_forward_hook(lambda m, i, out: seen.append(
        ('weights' if m.weight.requires_grad else 'arch', out.dtype)))
    arch_grads = []
    for a in algo.arch_parameters():
        a.register_hook(lambda g: arch_grads.append(g.dtype))
    before = {n: p.detach().clone() for n, p in algo.named_parameters()}
    log = algo.train_step(batch_pair(), optim)

    assert {phase for phase, _ in seen} == {'arch', 'weights'}
    assert {dtype for _, dtype in seen} == {torch.bfloat16}, 'both phases run their convs in bfloat16'
    assert arch_grads and set(arch_grads) == {torch.float32}
    assert all(p.dtype == torch.float32 for p in algo.parameters())
    assert torch.isfinite(log['loss']) and torch.isfinite(log['arch_loss'])
    moved = {n for n, p in algo.named_parameters() if not torch.equal(p.detach(), before[n])}
    assert {n for n, _ in algo.space.arch.named_parameters(prefix='space.arch')} <= moved
    assert any(n.startswith('space.model.') for n in moved)


def test_bf16_amp_second_order_step(amp_on_cpu):
    """Second order under bfloat16 AMP: no loss scaler is needed, alpha/beta stay float32 and move."""
    torch.manual_seed(0)
    algo = darts_search(NET, unrolled=True)
    cfg = optim_cfg()
    enable_amp(cfg, 'bfloat16')
    optim = build_wrappers(algo, cfg)
    before = [a.detach().clone() for a in algo.arch_parameters()]
    log = algo.train_step(batch_pair(), optim)
    assert torch.isfinite(log['arch_loss'])
    for a, b in zip(algo.arch_parameters(), before):
        assert a.dtype == torch.float32 and torch.isfinite(a).all() and not torch.equal(a, b)


def test_second_order_refuses_a_loss_scaler(amp_on_cpu):
    """float16 AMP scales losses; the second-order gradients are taken without: a clear error."""
    algo = darts_search(NET, unrolled=True)
    cfg = optim_cfg()
    enable_amp(cfg)
    optim = build_wrappers(algo, cfg)

    class Scaler:  # the CUDA GradScaler is enabled; on CPU it switches itself off
        def is_enabled(self):
            return True

    optim['arch'].loss_scaler = Scaler()
    with pytest.raises(ValueError, match='bfloat16'):
        algo.train_step(batch_pair(), optim)


def step_from_seed(compile_cfg, fake=None, steps=1, data=None, net=NET):
    """Parameters after ``steps`` train steps from seed 0; ``fake`` replaces the compiled forward."""
    torch.manual_seed(0)
    algo = darts_search(net, compile=compile_cfg)
    optim = build_wrappers(algo, optim_cfg())
    if fake is not None:
        net = algo.space.model
        net._compiled_call_impl = lambda *a, **kw: fake(net, *a, **kw)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        for _ in range(steps):
            algo.train_step(data or batch_pair(), optim)
    msgs = [str(w.message) for w in caught if issubclass(w.category, RuntimeWarning)]
    return algo, {n: p.detach().clone() for n, p in algo.named_parameters()}, msgs


def test_failed_compilation_falls_back_to_eager_from_the_state_before_the_step():
    """The compiled forward fails in the weight phase, after the architecture step has moved alpha:
    the step is redone eager from the saved state, as if compilation had never been asked for."""
    calls = []

    def fails_in_weight_phase(net, *args, **kwargs):
        calls.append(1)
        if next(net.parameters()).requires_grad:
            raise RuntimeError('inductor: something went wrong')
        return net._call_impl(*args, **kwargs)

    _, eager, none = step_from_seed(False, steps=2)
    algo, fallen, msgs = step_from_seed(True, fails_in_weight_phase, steps=2)
    assert calls == [1, 1], 'compiled forward tried once per phase, then never again'
    assert not algo.compiled and none == []
    assert len(msgs) == 1 and 'RuntimeError: inductor: something went wrong' in msgs[0]
    assert 'continues eager' in msgs[0]
    for n in eager:
        assert torch.equal(fallen[n], eager[n]), n


def test_compiled_forward_is_checked_once_per_phase_then_trusted():
    """A compiled forward that works is used for every step; the fallback state is kept only for the
    first step of each phase (a weight-only warm-up step, then the first bilevel step)."""
    calls = []

    def works(net, *args, **kwargs):
        calls.append(next(net.parameters()).requires_grad)
        return net._call_impl(*args, **kwargs)

    torch.manual_seed(0)
    algo = darts_search(NET, compile=True)
    optim = build_wrappers(algo, optim_cfg())
    net = algo.space.model
    net._compiled_call_impl = lambda *a, **kw: works(net, *a, **kw)
    data = batch_pair()
    algo.train_step(dict(weights=data['weights'], arch=None), optim)  # warm-up epoch step
    assert algo._compile_unverified == {'arch'}
    algo.train_step(data, optim)
    algo.train_step(data, optim)
    assert algo._compile_unverified == set() and algo.compiled
    assert calls == [True, False, True, False, True]


def test_unusable_compile_options_warn_and_run_eager():
    with pytest.warns(RuntimeWarning, match='at construction.*continues eager'):
        algo = darts_search(NET, compile=dict(backend='no_such_backend'))
    assert not algo.compiled
    algo.train_step(batch_pair(), build_wrappers(algo, optim_cfg()))


@pytest.mark.slow
def test_really_compiled_step_matches_eager():
    """torch.compile (dynamo, without inductor's code generation: minutes here) computes the eager step."""
    torch._dynamo.reset()
    net = dict(NET, steps=2, multiplier=2)  # 5 edges a cell, not 14: dynamo traces a third as much
    _, eager, _ = step_from_seed(False, net=net)
    algo, compiled, msgs = step_from_seed(dict(backend='eager'), net=net)
    assert msgs == [] and algo.compiled
    for n in eager:
        torch.testing.assert_close(compiled[n], eager[n], rtol=1e-4, atol=1e-5, msg=n)
