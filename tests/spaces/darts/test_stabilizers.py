"""The search stabilisers (spaces/darts/stabilizers.py): each off by default, each doing what its paper says."""
import pytest
import torch
from mmengine.logging import MessageHub

from nas_backbones.core import DifferentiableSearch
from nas_backbones.core.optim import SearchOptimWrapperConstructor
from nas_backbones.spaces.darts import DEFAULT_PRIMITIVES, ArchParameters, derive_genotype
from nas_backbones.spaces.darts.topology import node_edge_ranges
from tests.conftest import darts_classifier_space

SKIP = DEFAULT_PRIMITIVES.index('skip_connect')
OPTIM = dict(
    weights=dict(optimizer=dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=3e-4)),
    arch=dict(optimizer=dict(type='Adam', lr=6e-3, betas=(0.5, 0.999), weight_decay=1e-3)))
SUPERNET = dict(type='PCDartsSupernet', num_classes=4, C=8, layers=3, stem='cifar', partial_k=2)


def make(**space):
    torch.manual_seed(0)
    algo = DifferentiableSearch(space=darts_classifier_space(SUPERNET, **space))
    return algo, SearchOptimWrapperConstructor(OPTIM)(algo)


def batch(seed):
    g = torch.Generator().manual_seed(seed)
    return {'inputs': torch.randn(4, 3, 16, 16, generator=g),
            'data_samples': torch.randint(0, 4, (4,), generator=g)}


def skip_heavy_arch(seed):
    torch.manual_seed(seed)
    arch = ArchParameters(4, DEFAULT_PRIMITIVES, 4)
    with torch.no_grad():
        arch.alphas_normal.normal_(0, 0.3)
        arch.alphas_normal[:, SKIP] += 1.  # skip leads on most edges: the collapse
        arch.betas_normal.normal_(0, 0.3)
    return arch


def skips(genes):
    return sum(op == 'skip_connect' for op, _ in genes)


# ------------------------------------------------------------------ P-DARTS cap
@pytest.mark.parametrize('seed', range(5))
def test_skip_cap_never_keeps_more_than_m_skips(seed):
    arch = skip_heavy_arch(seed)
    free = arch.genotype()
    assert skips(free.normal) >= 5
    for m in range(0, 4):
        capped = arch.genotype(max_skips=m)
        assert skips(capped.normal) == m  # enough other ops to fill the rest
        assert capped.reduce == free.reduce  # the cap is on the normal cell only
    assert arch.genotype(max_skips=8) == free


def test_skip_cap_drops_the_weakest_skip_first():
    arch = skip_heavy_arch(0)
    free = arch.genotype()
    W = torch.softmax(arch.alphas_normal, -1) * arch.edge_weights(False)[:, None]
    starts = [s for s, _ in node_edge_ranges(4)]
    kept = [(W[starts[g // 2] + j, SKIP].item(), (op, j), g // 2)
            for g, (op, j) in enumerate(free.normal) if op == 'skip_connect']
    weakest_value, weakest_gene, node = min(kept)
    capped = arch.genotype(max_skips=len(kept) - 1)
    # the other nodes keep their genes; only the weakest skip's node is derived again
    for n in range(4):
        if n != node:
            assert capped.normal[2 * n:2 * n + 2] == free.normal[2 * n:2 * n + 2]
    assert skips(capped.normal[2 * node:2 * node + 2]) < skips(free.normal[2 * node:2 * node + 2])


def test_space_derives_with_its_cap_and_rejects_a_bad_one():
    algo, _ = make(max_skips=1)
    with torch.no_grad():
        algo.space.arch.alphas_normal[:, SKIP] += 1.
    assert skips(algo.derive().normal) <= 1
    with pytest.raises(ValueError, match='max_skips must be None or an integer >= 0, got -1'):
        make(max_skips=-1)


# ------------------------------------------------------------------ beta-DARTS
def test_beta_decay_gradient_is_its_formula_and_ramps_with_the_epoch():
    algo, _ = make(beta_decay=dict(weight=0.5))
    space = algo.space
    hub = MessageHub.get_instance('test_beta_decay')
    hub.update_info('max_epochs', 4)
    hub.update_info('epoch', 1)
    with torch.no_grad():
        space.arch.alphas_normal.normal_()
        space.arch.alphas_reduce.normal_()
    loss = space.cost()
    a_n, a_r = space.arch.alphas_normal, space.arch.alphas_reduce
    lam = 0.5 * 1 / 4
    E = a_n.size(0) + a_r.size(0)
    expected = lam * torch.cat([a_n.logsumexp(-1), a_r.logsumexp(-1)]).mean()
    torch.testing.assert_close(loss, expected)
    loss.backward()
    # d/d alpha_e of lam * mean_e logsumexp(alpha_e) = lam / E * softmax(alpha_e)
    torch.testing.assert_close(a_n.grad, lam / E * torch.softmax(a_n.detach(), -1))
    torch.testing.assert_close(a_r.grad, lam / E * torch.softmax(a_r.detach(), -1))
    assert space.arch.betas_normal.grad is None  # beta-DARTS regularises the op logits only
    hub.update_info('epoch', 0)
    assert space.cost().item() == 0.  # the ramp starts at 0
    hub.update_info('epoch', 3)
    torch.testing.assert_close(space.cost(), 0.5 * 3 / 4 * expected / lam)


def test_beta_decay_enters_the_architecture_step_only_when_configured():
    plain, _ = make()
    assert plain.space.cost() is None
    algo, optim = make(beta_decay=dict(weight=1.))
    MessageHub.get_instance('test_beta_decay_step').update_info('max_epochs', 2)
    MessageHub.get_current_instance().update_info('epoch', 1)
    log = algo.train_step({'weights': batch(1), 'arch': batch(2)}, optim)
    assert log['cost'] > 0


# ------------------------------------------------------------------ SDARTS-RS
def test_perturbation_is_bounded_and_only_inside_the_weight_step():
    algo, _ = make(perturb=dict(epsilon=0.03))
    space = algo.space
    clean = {r: w.detach() for r, (w, _) in space.arch().items()}
    for r, (w, _) in space.arch.search_weights().items():
        assert torch.equal(w.detach(), clean[r])
    with space.weight_step():
        noisy = space.arch.search_weights()
    for r, (w, ew) in noisy.items():
        d = w - clean[r]
        assert 0 < d.abs().max() <= 0.03
        assert not w.requires_grad and not ew.requires_grad
    assert not space.arch._perturbing


def test_perturbation_changes_the_weight_step_and_not_the_arch_step():
    ref, ref_optim = make()
    algo, optim = make(perturb=dict(epsilon=0.03))
    algo.load_state_dict(ref.state_dict())
    torch.manual_seed(1)
    ref.train_step({'weights': batch(1), 'arch': batch(2)}, ref_optim)
    torch.manual_seed(1)
    algo.train_step({'weights': batch(1), 'arch': batch(2)}, optim)
    for p, q in zip(algo.arch_parameters(), ref.arch_parameters()):
        assert torch.equal(p, q)  # the arch step ran first, unperturbed
    assert any(not torch.equal(p, q) for p, q in zip(algo.weight_parameters(),
                                                       ref.weight_parameters()))


# ------------------------------------------------------------------ DARTS-
def set_progress(name, epoch, max_epochs=4):
    hub = MessageHub.get_instance(name)
    hub.update_info('max_epochs', max_epochs)
    hub.update_info('epoch', epoch)


def cell_by_formula(cell, s0, s1, weights, edge_weights, w):
    """node_i = sum_j beta_ij * MixedOp_ij(h_j) + w * sum_j skip_ij(h_j), written out here.

    skip_ij is the identity (stride 1) or the edge's FactorizedReduce (stride 2);
    the mixed ops are called one edge at a time (their own forward).
    """
    states = [cell.preprocess0(s0), cell.preprocess1(s1)]
    for start, n in node_edge_ranges(cell.steps):
        node = 0
        for j in range(n):
            e = start + j
            node = node + edge_weights[e] * cell._ops[e](states[j], weights[e])
            stride = cell._ops[e].stride
            node = node + w * (states[j] if stride == 1 else cell.aux_ops[e](states[j]))
        states.append(node)
    return torch.cat(states[-cell.multiplier:], dim=1)


@pytest.mark.parametrize('impl', ['fast', 'reference'])
def test_aux_skip_cell_is_the_formula_at_a_known_weight(impl):
    from nas_backbones.spaces.darts.ops import FactorizedReduce
    algo, _ = make(aux_skip=dict(start=1.))
    space = algo.space
    net = space.backbone
    net.impl = impl
    for c in net.cells:
        c.impl = impl
        for op in c._ops:
            op.impl = impl
    with torch.no_grad():
        for p in space.arch.parameters():
            p.normal_()
    arch_w = space.arch()
    x = batch(0)['inputs']
    s0, s1 = net.stem(x)
    for cell in net.cells:  # a normal and a reduction cell (C=8, 3 layers)
        stride2 = [a for a, op in zip(cell.aux_ops, cell._ops) if op.stride == 2]
        assert len(stride2) == (8 if cell.reduction else 0)  # each node reads both inputs
        assert all(type(a) is FactorizedReduce and not a.bn.affine for a in stride2)
        w, ew = arch_w[cell.reduction]
        for aux_w in (0.3, 0.):
            torch.manual_seed(5)  # (BN batch statistics: the same in both)
            got = cell(s0, s1, w, ew, aux_weight=aux_w)
            want = cell_by_formula(cell, s0, s1, w, ew, aux_w)
            torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-5)
        s0, s1 = s1, got


def test_aux_skip_weight_decays_to_zero_with_the_search():
    algo, _ = make(aux_skip=dict(start=2.))
    space = algo.space
    weights = []
    for epoch in range(5):
        set_progress('test_aux_decay', epoch)
        weights.append(space.arch.aux_weight())
    assert weights == [2. * (1 - e / 4) for e in range(5)]  # the paper's linear decay, 0 at the end
    MessageHub.get_instance('test_aux_decay_outside')  # no runner: the search is over
    assert space.arch.aux_weight() == 0.
    cos, _ = make(aux_skip=dict(start=1., schedule='cosine'))
    set_progress('test_aux_decay_cos', 2)
    assert cos.space.arch.aux_weight() == pytest.approx(0.5)
    set_progress('test_aux_decay_cos', 4)
    assert cos.space.arch.aux_weight() == pytest.approx(0.)


def test_aux_skip_at_weight_zero_is_the_plain_supernet_and_on_changes_the_step():
    ref, ref_optim = make()
    algo, optim = make(aux_skip=dict(start=1.))
    missing, unexpected = algo.load_state_dict(ref.state_dict(), strict=False)
    assert not unexpected and missing and all('aux_ops' in k for k in missing)
    x = batch(0)['inputs']
    set_progress('test_aux_zero', 4)  # the end of the search: weight 0
    torch.manual_seed(0)
    plain_logits = ref.space.tensor(x)
    torch.manual_seed(0)
    assert torch.equal(algo.space.tensor(x), plain_logits)
    set_progress('test_aux_zero', 1)
    assert not torch.allclose(algo.space.tensor(x), plain_logits)
    aux_params = [p for n, p in algo.space.named_parameters() if 'aux_ops' in n]
    assert aux_params and all(any(p is q for q in algo.weight_parameters()) for p in aux_params)
    before = [p.detach().clone() for p in aux_params]
    torch.manual_seed(1)
    algo.train_step({'weights': batch(1), 'arch': batch(2)}, optim)
    assert all(not torch.equal(p, b) for p, b in zip(aux_params, before))  # trained with the weights
    torch.manual_seed(1)
    ref.train_step({'weights': batch(1), 'arch': batch(2)}, ref_optim)
    assert any(not torch.equal(p, q) for p, q in zip(algo.arch_parameters(), ref.arch_parameters()))


def test_aux_skip_is_not_in_the_derivation():
    algo, _ = make(aux_skip=dict(start=1.))
    plain, _ = make()
    arch = algo.space.arch
    with torch.no_grad():
        for p in arch.parameters():
            p.normal_()
        for aux in algo.space.backbone.cells[1].aux_ops:  # whatever the aux convs hold
            for p in aux.parameters():
                p.mul_(-3.)
    plain.space.arch.load_state_dict(arch.state_dict())
    assert algo.derive() == plain.derive()
    assert not any('aux' in n for n, _ in arch.named_parameters())


def test_aux_skip_with_cp_keeps_the_weight():
    from nas_backbones.spaces.darts import SearchTrunk
    torch.manual_seed(0)
    trunk = SearchTrunk(C=8, layers=3, stem='cifar', partial_k=2, aux_skip=True)
    arch = ArchParameters(4, DEFAULT_PRIMITIVES, 4)
    x = batch(0)['inputs']
    torch.manual_seed(0)
    plain = trunk.forward_cells(x, arch(), aux_weight=0.5)
    torch.manual_seed(0)
    cp = trunk.forward_cells(x, arch(), with_cp=True, aux_weight=0.5)
    torch.testing.assert_close(cp[2], plain[2])
    torch.manual_seed(0)
    assert not torch.allclose(trunk.forward_cells(x, arch(), aux_weight=0.)[2], plain[2])


# ------------------------------------------------------------------ Fair DARTS
def test_fair_darts_runs_the_supernet_on_sigmoid_weights():
    algo, _ = make(fair_darts=dict(zero_one=10.))
    space = algo.space
    with torch.no_grad():
        for p in space.arch.parameters():
            p.normal_()
    for r, (w, ew) in space.arch.search_weights().items():
        a = space.arch.alphas_reduce if r else space.arch.alphas_normal
        torch.testing.assert_close(w, torch.sigmoid(a))  # each op on its own: rows do not sum to 1
        torch.testing.assert_close(ew, space.arch.edge_weights(r))
    plain, _ = make()
    plain.load_state_dict(algo.state_dict())  # the same parameters; only the relaxation differs
    x = batch(0)['inputs']
    torch.manual_seed(0)
    fair_logits = space.tensor(x)
    torch.manual_seed(0)
    assert not torch.allclose(fair_logits, plain.space.tensor(x))


def test_fair_darts_zero_one_loss_gradient_is_its_formula():
    algo, _ = make(fair_darts=dict(zero_one=10.))
    space = algo.space
    with torch.no_grad():
        space.arch.alphas_normal.normal_()
        space.arch.alphas_reduce.normal_()
    keep = [k for k, p in enumerate(DEFAULT_PRIMITIVES) if p != 'none']
    a_n, a_r = space.arch.alphas_normal, space.arch.alphas_reduce
    loss = space.cost()
    s = torch.cat([a_n[:, keep], a_r[:, keep]]).detach().sigmoid()
    torch.testing.assert_close(loss, -10. * ((s - 0.5) ** 2).mean())
    loss.backward()
    N = s.numel()
    for a in (a_n, a_r):
        sa = a.detach().sigmoid()
        expected = -10. * 2 * (sa - 0.5) * sa * (1 - sa) / N  # pushes each weight away from 0.5
        expected[:, DEFAULT_PRIMITIVES.index('none')] = 0.
        torch.testing.assert_close(a.grad, expected)
    assert space.arch.betas_normal.grad is None
    assert make(fair_darts=dict(zero_one=0.))[0].space.cost() is None  # sigmoid alone


def test_fair_darts_derives_on_sigmoid_weights():
    algo, _ = make(fair_darts=dict())
    arch = algo.space.arch
    assert algo.space.arch.fair_darts == {'zero_one': 10.}  # the paper's weight
    conv = SKIP + 1
    with torch.no_grad():
        for p in arch.parameters():
            p.zero_()
        # node 1 reads edges 2, 3, 4 (inputs 0, 1, 2) and keeps two. Input 0: one strong op;
        # input 1: every op strong, one a little more; input 2: one fairly strong op. softmax
        # (peaked rows win) keeps inputs 0 and 2, sigmoid (the strongest op wins) inputs 1 and 0.
        arch.alphas_normal[2, SKIP] = 3.
        arch.alphas_normal[3, :] = 3.5
        arch.alphas_normal[3, conv] = 3.6
        arch.alphas_normal[4, conv] = 2.
    W = torch.sigmoid(arch.alphas_normal) * arch.edge_weights(False)[:, None]
    genes = list(algo.derive().normal)
    assert genes == derive_genes_of(W)
    assert genes[2:4] == [(DEFAULT_PRIMITIVES[conv], 1), ('skip_connect', 0)]
    soft = derive_genotype(arch.alphas_normal, arch.alphas_reduce, arch.betas_normal,
                           arch.betas_reduce, DEFAULT_PRIMITIVES, 4, 4).normal
    assert list(soft[2:4]) == [('skip_connect', 0), (DEFAULT_PRIMITIVES[conv], 2)]


def derive_genes_of(W):
    from nas_backbones.spaces.darts import derive_genes
    return derive_genes(W, None, DEFAULT_PRIMITIVES, 4)


@pytest.mark.parametrize('kwargs, msg', [
    (dict(fair_darts=dict(zero_one=-1)), 'fair_darts.zero_one must be a number >= 0, got -1'),
    (dict(fair_darts=dict(weight=1)), "fair_darts: unknown key(s) ['weight']"),
    (dict(aux_skip=dict(start=0)), 'aux_skip.start must be a number > 0, got 0'),
    (dict(aux_skip=dict(schedule='step')), "aux_skip.schedule must be one of ['cosine', 'linear']"),
    (dict(aux_skip=dict(weight=1.)), "aux_skip: unknown key(s) ['weight']"),
    (dict(aux_skip=1.), 'aux_skip: expected a dict'),
    (dict(perturb=dict(epsilon=0)), 'perturb.epsilon must be a number > 0, got 0'),
    (dict(perturb=dict(eps=0.1)), "perturb: unknown key(s) ['eps']"),
    (dict(beta_decay=dict()), 'beta_decay.weight must be a number > 0, got None'),
    (dict(beta_decay=0.5), 'beta_decay: expected a dict'),
])
def test_bad_options_are_named(kwargs, msg):
    with pytest.raises((ValueError, TypeError)) as e:
        make(**kwargs)
    assert msg in str(e.value)


def test_defaults_are_the_reference_search():
    """No switch set: the same parameters after a step as a space built without the arguments."""
    ref, ref_optim = make()
    algo, optim = make(max_skips=None, beta_decay=None, perturb=None, aux_skip=None, fair_darts=None)
    algo.load_state_dict(ref.state_dict())  # strict: the same parameters and buffers, no aux skips
    for a in (ref, algo):
        torch.manual_seed(3)
        a.train_step({'weights': batch(1), 'arch': batch(2)}, ref_optim if a is ref else optim)
    for p, q in zip(algo.parameters(), ref.parameters()):
        assert torch.equal(p, q)
    assert algo.derive() == derive_genotype(
        *(getattr(algo.space.arch, n) for n in
          ('alphas_normal', 'alphas_reduce', 'betas_normal', 'betas_reduce')),
        DEFAULT_PRIMITIVES, 4, 4)
