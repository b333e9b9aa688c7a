# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Graph attention (Veličković et al.)
#
# A sentence is a chain of words and an image a grid of pixels, but much data is a graph: papers
# citing papers, proteins binding proteins. A graph neural network updates each node from its
# neighbours. Earlier graph convolutions mixed the neighbours with weights fixed by the graph's
# structure (for example by node degrees).
# [Graph attention networks](../../entries/2017-velickovic-graph-attention-networks/) let the node
# *choose* how much each neighbour counts, with attention restricted to the edges.
#
# Each node's features $h_i$ are first mapped by a shared matrix $W$. A shared vector $a$ scores
# the edge from neighbour $j$ to node $i$ from the two mapped features side by side, a softmax over
# the neighbourhood $\mathcal N(i)$ (which includes $i$ itself) normalises the scores, and the new
# feature is the weighted mix:
#
# $$e_{ij} = \mathrm{LeakyReLU}\big(a^\top [W h_i \,\Vert\, W h_j]\big), \qquad
#   \alpha_{ij} = \frac{\exp e_{ij}}{\sum_{k \in \mathcal N(i)} \exp e_{ik}}, \qquad
#   h'_i = \sigma\Big(\sum_{j \in \mathcal N(i)} \alpha_{ij} W h_j\Big).$$
#
# For a node $j$ that is not a neighbour, $\alpha_{ij}$ is exactly zero: the graph is an attention
# mask. $K$ heads, each with its own $W^k$ and $a^k$, run side by side; hidden layers concatenate
# their outputs and the output layer averages them. On a *complete* graph the mask disappears and
# the layer is self-attention over a set of nodes, with an additive score in place of the
# [dot product](../scaled-dot-product-attention/) of the Transformer, which the paper names as
# its inspiration; compare [multi-head attention](../multi-head-attention/) and
# [attention over sets](../set-transformer/).
#
# The module splits $a$ into a half $a_1$ for $W h_i$ and a half $a_2$ for $W h_j$, since
# $a^\top [x \Vert y] = a_1^\top x + a_2^\top y$: all $N \times N$ scores are then a sum of two
# vectors broadcast against each other, followed by the mask and a softmax along each row.

# %% [markdown]
# ## Running it: attention on a graph with two communities
#
# Ten nodes form two cliques of five, joined by a single edge between node 4 and node 5. The
# features carry the community plus noise. The layer is untrained, so its weights are close to
# uniform over each neighbourhood; what the picture shows is the shape the graph imposes. Each row
# is one node's distribution over the nodes it may attend to: two blocks, the bridge, and exact
# zeros everywhere else.

# %%
from _setup import heatmap
import runnable.graph_attention as mechanism
result = mechanism.demo("cpu")
heatmap(result["alpha"][0].numpy(), xlabel="neighbour $j$", ylabel="node $i$",
        title=r"head 0: $\alpha_{ij}$ (zero off the graph)",
        alt="Heatmap of head 0's attention weights alpha_ij, node by neighbour: zero wherever the graph has no edge, so the two communities show as two blocks.")
assert result["max_error"] < 1e-5 and result["off_graph"] == 0

# %% [markdown]
# ## Every node ranks its neighbours the same way
#
# The score depends on $i$ and $j$ only through $a_1^\top W h_i + a_2^\top W h_j$, and LeakyReLU
# never reverses an order. So whenever two nodes share neighbours $j$ and $j'$, both prefer the
# one with the larger $a_2^\top W h_j$: the node asking changes how *sharp* its weights are,
# never which neighbour comes first. On a complete graph every row of $\alpha$ is sorted the same
# way, as the cell below checks. (Later work on graph attention pointed this out as a limit of
# the original scoring function and changed where the non-linearity sits.)

# %%
import torch

torch.manual_seed(1)
layer = mechanism.GraphAttentionLayer(6, 4, heads=1)
with torch.no_grad():
    layer.a.mul_(6.0)                                       # a larger a, for sharper weights
    _, alpha = layer(torch.randn(6, 6), torch.ones(6, 6, dtype=torch.bool))
for i, row in enumerate(alpha[0]):
    order = row.argsort(descending=True).tolist()
    print(f"node {i}: weights {' '.join(f'{w:.2f}' for w in row.tolist())}   neighbours by weight {order}")
