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
# # Reformer: attention within hash buckets
#
# After the softmax, most of a query's weight sits on the few keys with the largest dot
# products; the rest share what is left. If those few keys could be found without scoring
# every pair, attention could skip the $L^2$ scores. Kitaev, Kaiser and Levskaya
# ([Reformer](../../entries/2020-kitaev-reformer/)) find them with locality-sensitive hashing,
# which sends vectors pointing in similar directions to the same bucket.
#
# ## Shared queries and keys
#
# The hash has to put a query and its best keys in the same bucket, which is easiest if they
# are the same kind of vector. Reformer gives each position one vector $x_i$ that serves as its
# query, and the normalised $k_j = x_j / \|x_j\|$ as its key:
#
# $$a_{ij} \propto \exp\!\left(\frac{x_i^\top x_j}{\|x_j\|\sqrt d}\right).$$
#
# Then a position's own key would always score highest ($x_i^\top x_i / \|x_i\| = \|x_i\| \ge x_i^\top k_j$),
# so a position attends to itself only when no other key is available.
#
# ## Angular LSH, sort, chunk
#
# For a random matrix $R \in \mathbb R^{d \times b/2}$,
#
# $$h(x) = \arg\max\,\big[\,xR\,;\; -xR\,\big] \in \{0, \dots, b-1\}:$$
#
# the bucket is the nearest of $b$ random directions $\pm r_1, \dots, \pm r_{b/2}$. Two vectors at
# a small angle usually pick the same one; opposite vectors never do. Positions are sorted by
# bucket (then by position), the sorted sequence is cut into chunks of length $c$, and each
# position attends to the positions of its bucket in its own chunk and the one before (a bucket
# can straddle a chunk boundary). That is $O(Lc)$ scores after an $O(L \log L)$ sort.
#
# One hash can split a close pair, so the paper hashes several times with independent $R$ and
# lets a query see the union; this page implements a single round, and the demo shows what
# that costs. The paper's other half, reversible layers that save activation memory, is not
# about attention and is not shown.
#
# [Linformer](../linformer/) and [Performer](../performer/) also make attention cheaper, by a
# projection of the sequence and by random features; [FlashAttention](../flash-attention/)
# keeps every pair and saves memory instead.

# %% [markdown]
# ## Running it
#
# 512 vectors scattered around 16 cluster centres, chunks of 32. For each number of buckets
# the demo draws ten hashes and reports how much of *full* attention's weight falls on the pairs
# LSH lets a query see, how often a query's single strongest key is among them, and what share
# of the $L^2$ pairs gets scored. One bucket is plain local attention over chunks of the
# original order: it sees as much weight as it pays for.

# %%
from _setup import heatmap, show_figure
import runnable.reformer_lsh as mechanism
import matplotlib.pyplot as plt

result = mechanism.demo("cpu")
figure, axis = plt.subplots(figsize=(5, 3.2))
axis.semilogx(result["buckets"], result["mass"], "o-", base=2, label="full attention's weight on visible pairs")
axis.semilogx(result["buckets"], result["top_visible"], "s-", base=2, label="strongest key visible")
axis.semilogx(result["buckets"], result["pairs"], "^-", base=2, label="share of pairs scored")
axis.set_xlabel("number of buckets $b$")
axis.set_ylim(0, 1)
axis.legend()
show_figure("Line chart against the number of buckets: the share of full attention's weight on visible pairs, how often the strongest key is visible, and the share of pairs scored.")

# %% [markdown]
# More buckets make the buckets purer, so the pairs a query sees carry more of the weight, while
# fewer pairs are scored. But one round tops out below half the weight here: clusters get cut
# by bucket boundaries, and a bucket longer than a chunk leaves its later members out of its
# earlier members' view. That is the gap the paper's multiple rounds close.
#
# ## Who sees whom
#
# The visible pairs for 64 vectors from four clusters of 16 (cluster $r$ holds positions
# $16r, \dots, 16r + 15$), eight buckets, chunks of eight. Rows are queries, columns keys; the
# diagonal is visible but scores $-10^5$, so it gets weight only in a row with nothing else.

# %%
import torch

torch.manual_seed(1)
centres = torch.randn(4, 16)
labels = torch.arange(64) // 16
x = 4 * (centres[labels] + 0.15 * torch.randn(64, 16))
R = mechanism.random_rotations(16, 8, torch.Generator().manual_seed(1))
buckets = mechanism.lsh_hash(x, 8, R)
visible = mechanism.visible_pairs(buckets, 8)
same_cluster = labels[:, None] == labels[None, :]
for r in range(4):
    print(f"cluster {r}: buckets {buckets[labels == r].tolist()}")
print(f"visible pairs: {visible.float().mean():.1%} of all; of them, in the same cluster: "
      f"{(visible & same_cluster).sum() / visible.sum():.1%}; same-cluster pairs visible: "
      f"{(visible & same_cluster).sum() / same_cluster.sum():.1%}")
figure, axis = plt.subplots(figsize=(3.6, 3.6))
axis.imshow(visible.numpy(), cmap="viridis")
axis.set_xlabel("key position")
axis.set_ylabel("query position")
axis.set_title("visible pairs (one hash round)")
show_figure("Image of which query-key pairs one hashing round lets attend, query position by key position.")
