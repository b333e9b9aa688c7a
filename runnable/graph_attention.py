"""Graph attention (Veličković et al., Graph Attention Networks; bib: velickovic2018graph).

Every node i has features h_i. One head k maps them with a shared matrix W (here W^k), scores each
edge from a neighbour j to i with a shared vector a ∈ R^{2F'}, normalises over i's neighbourhood
N(i) (which contains i itself: self-loops are always added) and mixes the mapped neighbours:

    e_ij  = LeakyReLU(aᵀ [W h_i ‖ W h_j])                 (slope 0.2 for negative inputs)
    α_ij  = exp(e_ij) / Σ_{k ∈ N(i)} exp(e_ik)            for j ∈ N(i), and 0 for every other j
    h'_i  = σ(Σ_{j ∈ N(i)} α_ij W h_j)

K independent heads are either concatenated, h'_i = ‖_k σ(Σ_j α^k_ij W^k h_j), with σ = ELU as in
the paper's hidden layers, or, in an output layer, averaged, h'_i = (1/K) Σ_k Σ_j α^k_ij W^k h_j,
with the final non-linearity (the paper's softmax or logistic sigmoid) left to the caller's loss.

Because aᵀ[x ‖ y] = a_1ᵀ x + a_2ᵀ y, the N × N scores are one broadcast sum of two per-node
numbers rather than N² concatenations. LeakyReLU is increasing, so for any two neighbours j, j'
every node ranks them the same way (the order of a_2ᵀ W h_j decides it).

`naive_graph_attention` loops over heads, nodes and neighbours with the concatenation written out;
it is what the vectorised layer is checked against.

Differences from the paper:
- No dropout on inputs or attention weights (the paper uses 0.6 on both for its transductive tasks).
- The output layer's final softmax or sigmoid is left to the caller's loss.

Shapes: N nodes, F input features, F' features per head, K heads; adjacency (N, N) boolean,
adjacency[i, j] True when j is a neighbour of i (i attends to j). Edges need not be symmetric.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class GraphAttentionLayer(nn.Module):
    """One graph attention layer with K heads, each with its own W^k and a^k; heads are concatenated
    (hidden layers) or averaged (output layer)."""

    def __init__(self, in_features: int, out_features: int, heads: int = 1, concat: bool = True,
                 negative_slope: float = 0.2):
        super().__init__()
        self.heads, self.out_features, self.concat, self.slope = heads, out_features, concat, negative_slope
        self.W = nn.Parameter(torch.empty(heads, in_features, out_features))   # W^k
        self.a = nn.Parameter(torch.empty(heads, 2 * out_features))             # a^k = [a_1 ; a_2]
        nn.init.xavier_uniform_(self.W)
        nn.init.xavier_uniform_(self.a)

    def forward(self, h, adjacency):
        """h (N, F), adjacency (N, N) boolean. Returns h' (N, K·F') if concat else (N, F'),
        and α (K, N, N) with α[k, i, j] = α^k_ij."""
        N = h.shape[0]
        Wh = torch.einsum("nf,kfo->kno", h, self.W)                               # W h_j   (K, N, F')
        to_self = Wh @ self.a[:, :self.out_features, None]                        # a_1ᵀ W h_i  (K, N, 1)
        to_neighbour = Wh @ self.a[:, self.out_features:, None]                   # a_2ᵀ W h_j  (K, N, 1)
        e = F.leaky_relu(to_self + to_neighbour.transpose(1, 2), self.slope)      # e_ij    (K, N, N)
        neighbours = adjacency | torch.eye(N, dtype=torch.bool, device=h.device)  # N(i) ∋ i
        # -inf before the softmax makes a non-neighbour's weight exactly 0, not just small
        alpha = torch.softmax(e.masked_fill(~neighbours, float("-inf")), dim=-1)  # α_ij
        mixed = alpha @ Wh                                                        # Σ_j α_ij W h_j  (K, N, F')
        if self.concat:
            return F.elu(mixed).transpose(0, 1).reshape(N, -1), alpha
        return mixed.mean(0), alpha


def naive_graph_attention(layer: GraphAttentionLayer, h, adjacency):
    """The same equations one head, node and neighbour at a time: the slow reference the tests use."""
    N, out = h.shape[0], []
    alpha = torch.zeros(layer.heads, N, N, dtype=h.dtype, device=h.device)
    for k in range(layer.heads):
        W, a, rows = layer.W[k], layer.a[k], []
        for i in range(N):
            neighbours = [j for j in range(N) if j == i or adjacency[i, j]]
            e = {j: F.leaky_relu(a @ torch.cat([h[i] @ W, h[j] @ W]), layer.slope) for j in neighbours}
            top = max(e.values())
            total = sum(torch.exp(x - top) for x in e.values())
            for j in neighbours:
                alpha[k, i, j] = torch.exp(e[j] - top) / total
            rows.append(sum(alpha[k, i, j] * (h[j] @ W) for j in neighbours))
        out.append(torch.stack(rows))
    out = torch.stack(out)                                                         # (K, N, F')
    if layer.concat:
        return torch.cat([F.elu(o) for o in out], dim=-1), alpha
    return out.mean(0), alpha


def two_communities(size: int = 5, device: torch.device | str = "cpu") -> torch.Tensor:
    """Two cliques of `size` nodes (0..size-1 and size..2·size-1) joined by one edge between
    node size-1 and node size. Symmetric, no self-loops (the layer adds them)."""
    N = 2 * size
    community = torch.arange(N, device=device) // size
    adjacency = community[:, None] == community[None, :]
    adjacency[size - 1, size] = adjacency[size, size - 1] = True                 # the bridge
    return adjacency & ~torch.eye(N, dtype=torch.bool, device=device)


def demo(device: torch.device | str = "cpu", seed: int = 0) -> dict:
    """Two heads over two five-node communities joined by a bridge; features carry the community
    plus noise. Print the bridge node's weights over its neighbours and check against the loop."""
    torch.manual_seed(seed)
    adjacency = two_communities(5, device)
    community = (torch.arange(10, device=device) // 5).float()
    h = torch.cat([community[:, None], 1 - community[:, None]], -1) + 0.3 * torch.randn(10, 2, device=device)
    h = torch.cat([h, torch.randn(10, 4, device=device)], -1)                     # (10, 6)
    layer = GraphAttentionLayer(6, 4, heads=2).to(device)
    with torch.no_grad():
        out, alpha = layer(h, adjacency)
        ref_out, ref_alpha = naive_graph_attention(layer, h, adjacency)
    error = max((out - ref_out).abs().max().item(), (alpha - ref_alpha).abs().max().item())
    off_graph = alpha[:, ~(adjacency | torch.eye(10, dtype=torch.bool, device=device))]
    bridge = 4
    neighbours = [j for j in range(10) if j == bridge or adjacency[bridge, j]]
    print(f"graph: nodes 0-4 and 5-9 are cliques, bridge edge 4-5; h' has shape {tuple(out.shape)}")
    print(f"node {bridge} attends to {neighbours} (itself included):")
    for k in range(2):
        print(f"  head {k}: " + "  ".join(f"α_{bridge},{j} = {alpha[k, bridge, j]:.3f}" for j in neighbours))
    print(f"weights on non-edges: max {off_graph.abs().max().item():.1e} (exactly 0 expected)")
    print(f"rows sum to 1: max |Σ_j α_ij - 1| = {(alpha.sum(-1) - 1).abs().max().item():.1e}")
    print(f"max |vectorised - loop| = {error:.2e} (tolerance 1e-5)")
    return {"alpha": alpha.cpu(), "adjacency": adjacency.cpu(), "output": out.cpu(), "bridge": bridge,
            "neighbours": neighbours, "max_error": error, "off_graph": off_graph.abs().max().item()}


if __name__ == "__main__":
    from runnable._cli import device_from_args

    demo(device_from_args(__doc__.splitlines()[0]))
