"""Derivation of the discrete genotype, checked on hand-built alpha/beta (docs/faithfulness.md: derivation)."""
import math

import numpy as np
import torch

from nas_backbones.spaces.darts import DEFAULT_PRIMITIVES, ArchParameters, Genotype, derive_genes, node_softmax

P = DEFAULT_PRIMITIVES  # none, max, avg, skip, sep3, sep5, dil3, dil5
NONE, MAXP, SKIP, SEP3, SEP5, DIL3 = 0, 1, 3, 4, 5, 6


def one_hot_rows(strengths, ops, steps=2):
    """op_weights with edge e putting ``strengths[e]`` on op ``ops[e]``, the rest spread evenly."""
    E = sum(2 + i for i in range(steps))
    W = torch.zeros(E, len(P))
    for e in range(E):
        W[e] = (1 - strengths[e]) / (len(P) - 1)
        W[e, ops[e]] = strengths[e]
    return W


def test_top2_edges_and_best_op_per_node():
    # node 0: edges 0,1 ; node 1: edges 2,3,4
    W = one_hot_rows([0.5, 0.6, 0.3, 0.7, 0.4], [SEP3, SKIP, DIL3, SEP5, MAXP])
    genes = derive_genes(W, None, P, steps=2)
    # Within a node, the stronger edge comes first.
    assert genes == [('skip_connect', 1), ('sep_conv_3x3', 0),
                     ('sep_conv_5x5', 1), ('max_pool_3x3', 2)]


def test_none_is_never_chosen_nor_used_for_ranking():
    W = one_hot_rows([0.9, 0.2, 0.95, 0.3, 0.25], [NONE, SEP3, NONE, SEP3, SEP5])
    # Edge 0's 'none' is 0.9, but its best real op is only 0.1/7; edge 1 wins by its sep3.
    genes = derive_genes(W, None, P, steps=2)
    assert all(op != 'none' for op, _ in genes)
    assert genes[0] == ('sep_conv_3x3', 1)
    # Node 1: edge 2 (a 'none' edge) is weakest by real ops; edges 3 and 4 are kept.
    assert [idx for _, idx in genes[2:]] == [1, 2]


def test_ties_resolve_to_lower_index_like_the_reference():
    W = torch.full((5, len(P)), 1 / len(P))  # every op and edge equal
    genes = derive_genes(W, None, P, steps=2)
    # sorted() is stable, argmax with strict '>' keeps the first non-none op.
    assert genes == [('max_pool_3x3', 0), ('max_pool_3x3', 1),
                     ('max_pool_3x3', 0), ('max_pool_3x3', 1)]


def test_beta_changes_edges_never_ops():
    torch.manual_seed(0)
    W = torch.softmax(torch.randn(14, len(P)), -1)
    plain = derive_genes(W, None, P, steps=4)

    def best_op(node, idx):  # strongest non-none op of that edge under alpha alone
        row = W[sum(2 + k for k in range(node)) + idx]
        return P[1 + int(row[1:].argmax())]

    changed_edges = False
    for seed in range(20):
        torch.manual_seed(seed)
        genes = derive_genes(W, node_softmax(3 * torch.randn(14), 4), P, steps=4)
        for g, (op, idx) in enumerate(genes):
            assert op == best_op(g // 2, idx)
        changed_edges |= [i for _, i in genes] != [i for _, i in plain]
    assert changed_edges  # while beta does move the choice of edges


def test_node_softmax_matches_hand_computation():
    betas = torch.tensor([0., math.log(3), 0., 0., math.log(2)])
    out = node_softmax(betas, 2)
    torch.testing.assert_close(out, torch.tensor([0.25, 0.75, 0.25, 0.25, 0.5]))


def test_pc_darts_strength_is_alpha_times_beta():
    # Edge 0 has the stronger op but a tiny beta; PC-DARTS ranks by product.
    W = one_hot_rows([0.9, 0.5, 0.5, 0.5, 0.5], [SEP3, SEP5, SEP5, SEP5, SEP5])
    betas = torch.tensor([-5., 5., 0., 0., 0.])  # node 0: edge 1 dominates
    genes = derive_genes(W, node_softmax(betas, 2), P, steps=2)
    assert genes[0] == ('sep_conv_5x5', 1)
    assert derive_genes(W, None, P, steps=2)[0] == ('sep_conv_3x3', 0)


def test_arch_parameters_derive_a_valid_genotype_that_round_trips():
    torch.manual_seed(1)
    arch = ArchParameters(steps=4, primitives=P, multiplier=4)
    g = arch.genotype()
    assert isinstance(g, Genotype)
    assert g.normal_concat == (2, 3, 4, 5) and len(g.normal) == 8
    assert Genotype.from_text(g.to_json()) == g
    assert Genotype.from_text(str(g)) == g


def reference_parse(weights: np.ndarray, weights2: np.ndarray, steps: int, dtype) -> list:
    """PC-DARTS' genotype()._parse, on arrays of ``dtype`` (the reference: float32 numpy)."""
    none = P.index('none')
    gene, n, start = [], 2, 0
    for i in range(steps):
        end = start + n
        W = weights[start:end].astype(dtype).copy()
        W2 = weights2[start:end].astype(dtype).copy()
        for j in range(n):
            W[j, :] = W[j, :] * W2[j]
        edges = sorted(range(i + 2), key=lambda x: -max(W[x][k] for k in range(len(W[x])) if k != none))[:2]
        for j in edges:
            k_best = None
            for k in range(len(W[j])):
                if k != none and (k_best is None or W[j][k] > W[j][k_best]):
                    k_best = k
            gene.append((P[k_best], j))
        start = end
        n += 1
    return gene


def test_near_ties_break_as_in_the_reference_float32():
    """Edges within a few float32 rounding steps: rank them in the reference's precision."""
    differs_in_float64 = 0
    for seed in range(200):
        g = torch.Generator().manual_seed(seed)
        # alpha and beta nearly constant: the products differ only in the last bits
        alphas = 1e-6 * torch.randn(14, len(P), generator=g)
        betas = 1e-6 * torch.randn(14, generator=g)
        w, ew = torch.softmax(alphas, -1), node_softmax(betas, 4)
        want = reference_parse(w.numpy(), ew.numpy(), 4, np.float32)
        assert derive_genes(w, ew, P, steps=4) == want, f'seed {seed}'
        differs_in_float64 += reference_parse(w.numpy(), ew.numpy(), 4, np.float64) != want
    assert differs_in_float64 > 0  # the cases do exercise the precision
