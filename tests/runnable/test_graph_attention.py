"""Graph attention against the equations written as a loop, torch's scaled_dot_product_attention
(where the score is a sum, slope 1), closed forms on a complete graph, and node relabelling."""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from runnable.graph_attention import GraphAttentionLayer, demo, naive_graph_attention, two_communities

TOLERANCE = dict(atol=1e-5, rtol=1e-5)  # float32, sums over at most a dozen neighbours


def random_graph(device, N=9, p=0.35, seed=0):
    """A random directed graph with one isolated node (index N-1: only its self-loop remains)."""
    generator = torch.Generator().manual_seed(seed)
    adjacency = torch.rand(N, N, generator=generator) < p
    adjacency[N - 1, :] = adjacency[:, N - 1] = False
    h = torch.randn(N, 5, generator=generator)
    return h.to(device), adjacency.to(device)


@pytest.mark.parametrize("heads,concat", [(1, True), (3, True), (3, False)])
def test_matches_the_loop(device, heads, concat):
    torch.manual_seed(1)
    layer = GraphAttentionLayer(5, 4, heads=heads, concat=concat).to(device)
    h, adjacency = random_graph(device)
    out, alpha = layer(h, adjacency)
    ref_out, ref_alpha = naive_graph_attention(layer, h, adjacency)
    assert out.shape == ((9, heads * 4) if concat else (9, 4)) and alpha.shape == (heads, 9, 9)
    torch.testing.assert_close(alpha, ref_alpha, **TOLERANCE)
    torch.testing.assert_close(out, ref_out, **TOLERANCE)


def test_non_neighbours_get_exactly_zero_weight(device):
    torch.manual_seed(2)
    layer = GraphAttentionLayer(5, 4, heads=2).to(device)
    h, adjacency = random_graph(device, seed=3)
    _, alpha = layer(h, adjacency)
    allowed = adjacency | torch.eye(9, dtype=torch.bool, device=device)
    assert torch.all(alpha[:, ~allowed] == 0)
    assert torch.all(alpha[:, allowed] > 0)
    torch.testing.assert_close(alpha.sum(-1), torch.ones(2, 9, device=device), **TOLERANCE)
    assert torch.all(alpha[:, 8, 8] == 1)       # the isolated node attends only to itself


def test_relabelling_nodes_relabels_the_output(device):
    """Equivariance: renumber the nodes by a permutation π and h' and α are renumbered the same way."""
    torch.manual_seed(4)
    layer = GraphAttentionLayer(5, 3, heads=2).to(device)
    h, adjacency = random_graph(device, seed=5)
    perm = torch.randperm(9, generator=torch.Generator().manual_seed(6)).to(device)
    out, alpha = layer(h, adjacency)
    out_p, alpha_p = layer(h[perm], adjacency[perm][:, perm])
    torch.testing.assert_close(out_p, out[perm], **TOLERANCE)
    torch.testing.assert_close(alpha_p, alpha[:, perm][:, :, perm], **TOLERANCE)


@pytest.mark.parametrize("concat", [True, False])
def test_complete_graph_with_zero_a_is_uniform_averaging(device, concat):
    """a = 0 gives e_ij = 0 for every pair, so α_ij = 1/N and h'_i = σ(mean_j W h_j) for every i."""
    torch.manual_seed(7)
    layer = GraphAttentionLayer(5, 4, heads=2, concat=concat).to(device)
    torch.nn.init.zeros_(layer.a)
    h = torch.randn(6, 5, device=device)
    out, alpha = layer(h, torch.ones(6, 6, dtype=torch.bool, device=device))
    torch.testing.assert_close(alpha, torch.full((2, 6, 6), 1 / 6, device=device), **TOLERANCE)
    means = torch.stack([(h @ layer.W[k]).mean(0) for k in range(2)])          # (K, F')
    expected = F.elu(means).reshape(-1) if concat else means.mean(0)
    torch.testing.assert_close(out, expected.expand(6, -1), **TOLERANCE)


def test_slope_one_matches_torch_sdpa(device):
    """With slope 1 LeakyReLU is the identity and e_ij = a_1ᵀWh_i + a_2ᵀWh_j is the dot product of
    q_i = [a_1ᵀWh_i, 1] and k_j = [1, a_2ᵀWh_j]: torch's SDPA with scale 1 and the graph as mask
    must then give Σ_j α_ij W h_j (checked through concat=False with one head)."""
    torch.manual_seed(8)
    layer = GraphAttentionLayer(5, 4, heads=1, concat=False, negative_slope=1.0).to(device)
    h, adjacency = random_graph(device, seed=9)
    out, alpha = layer(h, adjacency)
    Wh = h @ layer.W[0]
    s, t = Wh @ layer.a[0, :4], Wh @ layer.a[0, 4:]
    ones = torch.ones_like(s)
    mask = adjacency | torch.eye(9, dtype=torch.bool, device=device)
    expected = F.scaled_dot_product_attention(torch.stack([s, ones], -1)[None], torch.stack([ones, t], -1)[None],
                                              Wh[None], attn_mask=mask[None], scale=1.0)[0]
    torch.testing.assert_close(out, expected, **TOLERANCE)
    # and the weights then ignore the attending node entirely: a masked softmax of a_2ᵀWh_j
    torch.testing.assert_close(alpha[0], torch.softmax(t.expand(9, 9).masked_fill(~mask, float("-inf")), -1),
                               **TOLERANCE)


def test_every_node_ranks_shared_neighbours_the_same_way(device):
    """LeakyReLU is increasing, so e_ij > e_ij' exactly when a_2ᵀWh_j > a_2ᵀWh_j', whatever i is:
    on a complete graph every row of α has the same order (the page's 'static attention')."""
    torch.manual_seed(10)
    layer = GraphAttentionLayer(5, 4, heads=2).to(device)
    _, alpha = layer(torch.randn(8, 5, device=device), torch.ones(8, 8, dtype=torch.bool, device=device))
    order = alpha.argsort(-1)
    assert torch.equal(order, order[:, :1].expand_as(order))


def test_gradients_reach_every_parameter(device):
    torch.manual_seed(11)
    layer = GraphAttentionLayer(5, 4, heads=2).to(device)
    h, adjacency = random_graph(device, seed=12)
    layer(h, adjacency)[0].square().sum().backward()
    for name, parameter in layer.named_parameters():
        assert torch.isfinite(parameter.grad).all() and parameter.grad.abs().sum() > 0, name


def test_two_communities_graph():
    adjacency = two_communities(4)
    assert torch.equal(adjacency, adjacency.T) and not adjacency.diagonal().any()
    assert adjacency.sum().item() == 2 * 4 * 3 + 2       # two 4-cliques (both directions) plus the bridge


def test_demo_runs_and_agrees(device):
    result = demo(device)
    assert result["max_error"] < 1e-5 and result["off_graph"] == 0
    assert result["neighbours"] == [0, 1, 2, 3, 4, 5]
    torch.testing.assert_close(result["alpha"].sum(-1), torch.ones(2, 10), **TOLERANCE)
    assert result["output"].shape == (10, 8)
