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
# # DeltaNet: the delta rule, trained in parallel
#
# The [fast weight programmers](../fast-weights/) of
# [1991](../../entries/1991-schmidhuber-fast-weight-memories-report/) and
# [1992](../../entries/1992-schmidhuber-fast-weight-memories/) store key–value associations in a
# weight matrix that a slow network writes as it reads the sequence. Written additively, that is
# unnormalised [linear attention](../linear-attention/), and it can only add: a key written twice
# returns the sum of its two values. [Schlag, Irie and Schmidhuber (2021)](../../entries/2021-schlag-linear-transformers-fast-weights/)
# made each write a correction instead. Read what the memory holds for the key, and move it
# towards the new value by a step $\beta_t \in (0, 1)$:
#
# $$S_t = S_{t-1} + \beta_t\,(v_t - S_{t-1} k_t)\,k_t^\top
#       = S_{t-1}\,(I - \beta_t k_t k_t^\top) + \beta_t v_t k_t^\top, \qquad o_t = S_t q_t .$$
#
# This is the Widrow–Hoff rule applied at every step to the fast weights, and the recurrent form
# on this page is the same function as the fast-weights page's `delta_rule`. As a recurrence it
# runs one token at a time. The summing rule's state is a cumulative sum, which parallelises
# directly; the delta rule's is not, because every step *multiplies* the state by
# $I - \beta_t k_t k_t^\top$, a generalised Householder matrix (a true reflection when
# $\beta_t = 2/\lVert k_t\rVert^2$). Unrolled,
#
# $$S_t = \sum_{i \le t} \beta_i v_i k_i^\top \prod_{i < j \le t} \big(I - \beta_j k_j k_j^\top\big).$$
#
# ## The WY representation
#
# Yang, Wang, Zhang, Shen and Kim (2024) made this trainable at scale with a representation from
# numerical linear algebra, used for decades to apply blocks of Householder reflections at once:
# a product of such factors is the identity minus one low-rank term,
#
# $$\prod_{i \le t} \big(I - \beta_i k_i k_i^\top\big) = I - \sum_{i \le t} w_i k_i^\top, \qquad
#   w_t = \beta_t \Big(k_t - \sum_{i < t} (k_i^\top k_t)\, w_i\Big),$$
#
# and the value writes collapse the same way, $u_t = \beta_t \big(v_t - \sum_{i<t} (k_i^\top k_t)\, u_i\big)$.
# Stacking the $w_t$ and $u_t$ as rows, both recurrences are one unit lower-triangular system,
#
# $$\big(I + \mathrm{tril}(\mathrm{diag}(\beta) K K^\top, -1)\big)\,[\,W \;\; U\,] = \mathrm{diag}(\beta)\,[\,K \;\; V\,],$$
#
# the *UT transform*. For a chunk of tokens entering with state $S$, the state inside the chunk is
# $S_t = S + \sum_{i \le t} (u_i - S w_i) k_i^\top$, so with $\tilde U = U - W S^\top$
#
# $$O = Q S^\top + \mathrm{tril}(Q K^\top)\,\tilde U, \qquad S' = S + \tilde U^\top K .$$
#
# Inside a chunk: matrix products and one small triangular solve; between chunks, a state carried
# forward as in linear attention. The module computes the chunkwise form, checks it against the
# recurrence, and against a loop that multiplies the $d_k \times d_k$ factors one by one.

# %% [markdown]
# ## Running it
#
# The agreements in float64 (unit-length keys, DeltaNet's convention, and $\beta$ uniform in
# $(0, 1)$), the WY form of a product of eight factors, and the overwrite that the summing rule
# cannot do.

# %%
from _setup import show_figure
import runnable.deltanet as mechanism
import matplotlib.pyplot as plt
import torch

result = mechanism.demo("cpu")

# %% [markdown]
# ## DeltaNet's attention matrix
#
# Starting from an empty memory the output is linear in the values, $O = M V$, with
# $M = \mathrm{tril}(QK^\top)\,T\,\mathrm{diag}(\beta)$ and $T$ the inverse of the UT transform's
# triangular matrix. With $T = I$ and $\beta = 1$ this is the causal $QK^\top$ of linear attention.
# The correction $T$ takes back, from each older key's weight, what later writes under the same
# key have overwritten. Below, 16 tokens whose keys are drawn from four orthonormal directions, so
# keys repeat; at each step the query asks for the value last written under a *different* direction
# (the next one round). Linear attention's weights stay on every earlier token written under that
# direction; the delta rule's sit on the latest one only, with weight exactly 1.

# %%
torch.manual_seed(2)
directions = torch.linalg.qr(torch.randn(8, 4))[0].T          # four orthonormal unit keys
slots = torch.randint(0, 4, (16,))
k, q = directions[slots], directions[(slots + 1) % 4]
linear = (q @ k.T).tril()
delta = mechanism.implied_attention(q, k, torch.ones(16))
figure, axes = plt.subplots(1, 2, figsize=(7.5, 3.6))
for axis, (title, M) in zip(axes, {"linear attention: tril(QKᵀ)": linear, "delta rule, β = 1": delta}.items()):
    axis.imshow(M.abs(), cmap="viridis", vmin=0, vmax=1)
    axis.set_title(title, fontsize=9)
    axis.set_xlabel("key position j")
    axis.set_xticks(range(0, 16, 3))
    axis.set_yticks(range(0, 16, 3))
axes[0].set_ylabel("query position t")
show_figure("Two lower-triangular heatmaps for 16 tokens whose keys repeat: linear attention puts weight on every "
            "earlier token written under the queried key, the delta rule only on the latest one.")
asked = (slots + 1) % 4
latest = [max((j for j in range(t + 1) if slots[j] == asked[t]), default=None) for t in range(16)]
expected = torch.zeros(16, 16)
for t, j in enumerate(latest):
    if j is not None:
        expected[t, j] = 1.0
print(f"delta rule: weight 1 on the latest write of the queried key, 0 elsewhere: max deviation {(delta - expected).abs().max():.1e} (float32)")
print(f"linear attention: rows with weight on more than one earlier token: {int(((linear.abs() > 0.5).sum(-1) > 1).sum())} of 16")

# %% [markdown]
# ## Where it sits
#
# The delta rule is the fast weight programmers' second write rule; DeltaNet is what it is called
# once it is trained in parallel at language-model scale. Adding a decay gate in front of the
# update, in the manner of [gated linear attention](../gated-linear-attention/), gives the gated
# delta rule; the [state-space duality](../state-space-duality/) page shows the scalar-decay
# case without the delta correction as masked attention.
