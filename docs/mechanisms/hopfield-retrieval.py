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
# # Hopfield networks: from associative memory to attention
#
# A content-addressable memory returns a stored item from a fragment of it: retrieval by
# similarity rather than by address, which is what attention does with its keys.
#
# ## The classical network (1982)
#
# [Hopfield's network](../../entries/1982-hopfield-associative-memory/) has $d$ binary units. Here
# they take the values $\pm 1$ (Hopfield used 0 and 1; the two are equivalent up to relabelling).
# $N$ patterns $\xi^\mu$ are stored in symmetric weights by a Hebb-like outer-product rule,
#
# $$T = \frac1d \sum_\mu \xi^\mu \xi^{\mu\top}, \qquad T_{ii} = 0,$$
#
# and units are updated one at a time, $s_i \leftarrow \operatorname{sign}\big(\sum_j T_{ij} s_j\big)$.
# Because $T$ is symmetric with a zero diagonal, no such update can raise the energy
# $E = -\tfrac12 s^\top T s$, so the state runs downhill and stops in a local minimum. The stored
# patterns sit at or near minima as long as there are few of them. Each pattern's own term
# pushes a unit towards the right sign with strength about 1; the other $N-1$ patterns add
# crosstalk of size about $\sqrt{N/d}$. Hopfield's simulations found recall breaking down at
# about $0.15\,d$ patterns, and later statistical-physics analyses put the limit at about
# $0.14\,d$.
#
# ## The modern network (2020)
#
# [Ramsauer and colleagues](../../entries/2020-ramsauer-hopfield-networks/) defined a
# Hopfield network with continuous states and a log-sum-exp energy. With the patterns as the
# rows of $X$ and a state $\xi$, its update is
#
# $$\xi^{\text{new}} = X^\top \operatorname{softmax}(\beta X \xi).$$
#
# This is softmax attention: the state is the query, the stored patterns are the keys *and*
# the values, and $\beta$ is the scale. The authors show the update converges, that the
# network can store a number of patterns exponential in $d$, and that a well-separated pattern
# is retrieved after a single update. With learned projections of queries, keys and values and
# $\beta = 1/\sqrt{d_k}$, the update is the Transformer's attention.

# %% [markdown]
# ## Running it
#
# First the equivalence: one update, with states as queries, against
# `scaled_dot_product_attention(ξ, X, X, scale=β)`. Then the capacity test: $d = 64$ units,
# $N$ random patterns stored, and each cue is a stored pattern with a random half of its
# entries erased (set to 0). The classical net gets five sweeps; the modern one gets one update
# with $\beta = 0.5$. A cue counts as recalled when all 64 signs come out right. This strict
# test makes the classical net fail a little before $0.14\,d \approx 9$ (that figure allows a
# small fraction of wrong bits); far beyond it, it recalls nothing, while one modern update
# recalls every cue even with 1024 patterns in 64 dimensions.

# %%
from _setup import heatmap, show_figure
import runnable.hopfield_retrieval as mechanism
import matplotlib.pyplot as plt

result = mechanism.demo("cpu")
table, d = result["table"], result["d"]
N = list(table)
figure, axis = plt.subplots(figsize=(6, 3))
axis.plot([n / d for n in N], [table[n]["classical"] for n in N], "o-", label="classical, 5 sweeps")
axis.plot([n / d for n in N], [table[n]["modern"] for n in N], "s-", label=f"modern, 1 update, β = {result['beta']}")
axis.axvline(0.14, color="#888888", lw=0.8)
axis.text(0.15, 0.5, "0.14 d", color="#888888")
axis.set_xscale("log")
axis.set_xlabel("stored patterns per unit, N / d")
axis.set_ylabel("fraction recalled exactly")
axis.legend(fontsize=8)
show_figure("Line chart of the fraction of patterns recalled exactly against stored patterns per unit N/d, for the classical network after five sweeps and the modern one after one update.")

# %% [markdown]
# ## One cue, both networks
#
# $N = 32$ patterns ($0.5\,d$) stored, one of them cued with half its entries erased (grey). The
# 64 units are drawn as an 8×8 grid.

# %%
import torch

generator = torch.Generator().manual_seed(1)
X = (torch.randint(0, 2, (32, 64), generator=generator) * 2 - 1).double()
cue = mechanism.mask_half(X[:1], generator)[0]
classical = mechanism.classical_hopfield_recall(cue, X, steps=5)
modern = mechanism.hopfield_update(cue, X, 0.5)
panels = [("stored", X[0]), ("cue", cue), (f"classical: {int((classical != X[0]).sum())} wrong", classical),
          (f"modern: {int((torch.sign(modern) != X[0]).sum())} wrong", modern)]
figure, axes = plt.subplots(1, 4, figsize=(8, 2.4))
for axis, (title, state) in zip(axes, panels):
    axis.imshow(state.reshape(8, 8), cmap="coolwarm", vmin=-1, vmax=1)
    axis.set_title(title, fontsize=8)
    axis.axis("off")
show_figure("Four 8 by 8 patterns: a stored pattern, the half-masked cue, and the classical and modern networks' recalls, each titled with its number of wrong units.")
weights = torch.softmax(0.5 * X @ cue, dim=0)
print(f"modern update: weight on the cued pattern {weights[0]:.4f}, largest other weight {weights[1:].max():.1e}")
T = mechanism.hebbian_weights(X)
state = cue.clone()
for sweep in range(1, 4):
    state = mechanism.classical_hopfield_recall(state, X, steps=1)
    print(f"classical, after sweep {sweep}: energy {mechanism.energy(state, T):.3f}, "
          f"overlap with the stored pattern {(state @ X[0]).item() / 64:+.3f}")

# %% [markdown]
# The classical net's energy falls, as Hopfield proved it must, but into a minimum that is not
# the stored pattern: at $0.5\,d$ the crosstalk swamps the signal. The modern update puts almost
# all of its softmax weight on the one pattern that agrees with the 32 known entries.
#
# ## Where it leads
#
# One modern Hopfield update is one head of
# [scaled dot-product attention](../scaled-dot-product-attention/) with the stored patterns as
# keys and values; learned projections and several of them in parallel give
# [multi-head attention](../multi-head-attention/). Storing associations in an outer-product
# matrix, as the classical net's Hebbian rule does, is also how a
# [fast weight programmer](../fast-weights/) writes its memory. The
# [equivalences page](../equivalences/) checks the update against attention beside the other
# identities of the atlas.
