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
# # Set Transformer: attention blocks for sets
#
# Some inputs have no order: the points of a point cloud, the members of a cluster, the cards in
# a hand. A network for them should give the same answer for every ordering. The simplest way is
# to encode each element alone and sum (Deep Sets, $\rho(\sum_i \varphi(x_i))$), but then elements
# never see each other before the sum. The [Set Transformer](../../entries/2018-lee-set-transformer/)
# of Lee and colleagues lets them interact through attention, with blocks that respect the
# symmetry.
#
# Everything is built from one *multihead attention block*, a Transformer encoder block with no
# positional encoding:
#
# $$\mathrm{MAB}(X, Y) = \mathrm{LN}\big(H + \mathrm{rFF}(H)\big), \qquad
#   H = \mathrm{LN}\big(X + \mathrm{Multihead}(X, Y, Y)\big),$$
#
# where $\mathrm{LN}$ is layer normalisation, $\mathrm{rFF}$ a feed-forward layer applied to each
# row on its own, and $\mathrm{Multihead}$ the [multi-head attention](../multi-head-attention/)
# of the Transformer, with the rows of $X$ as queries and the rows of $Y$ as keys and values.
# From it:
#
# - **SAB** $(X) = \mathrm{MAB}(X, X)$: self-attention over the set, $n \times n$ weights.
# - **ISAB** $_m(X) = \mathrm{MAB}(X, \mathrm{MAB}(I, X))$: $m$ learned *inducing points* $I$ first
#   attend over the set ($m \times n$ weights) and summarise it in $m$ vectors, then the set
#   attends over those ($n \times m$). The cost is $O(nm)$ instead of $O(n^2)$, an idea the
#   authors take from inducing-point methods for sparse Gaussian processes.
# - **PMA** $_k(Z) = \mathrm{MAB}(S, \mathrm{rFF}(Z))$: $k$ learned *seed vectors* $S$ attend over
#   the encoded set and pool it into $k$ vectors.
#
# The module follows these equations from the paper, not the authors' released code
# ([juho-lee/set_transformer](https://github.com/juho-lee/set_transformer), `modules.py`), which
# departs from them in several places: it divides the scores by $\sqrt{d_V}$, the full width, not
# by a head's width; its residual adds the projected queries $Q W^Q$ rather than $X$; it has no output
# projection $W^O$; its feed-forward is a single Linear + ReLU added as a residual; LayerNorm is
# off unless asked for; and its PMA attends over $Z$ directly, without $\mathrm{rFF}(Z)$. Numbers
# from a model trained with that code need not match this page's.
#
# Nothing in a MAB knows which row is which, except through the rows' contents. Permuting the
# rows of $X$ permutes the rows of $\mathrm{SAB}(X)$ and $\mathrm{ISAB}(X)$ in the same way
# (*equivariance*), and leaves $\mathrm{PMA}$'s output, whose rows belong to the seeds, unchanged
# (*invariance*). A model made of an encoder of SABs or ISABs and a PMA is therefore a function
# of the set.
#
# ## Where it sits
#
# The block is the Transformer's encoder block with the positions taken out (see the
# [Transformer block](../transformer-block/)). Attending over a set of elements with shared
# weights is the stance of [relation networks](../relation-networks/), which sum a function of
# every pair with equal weight; here the pairs are weighted by a softmax. ISAB's inducing points
# and PMA's seeds are learned queries that read a large input into a few vectors, a pattern that
# recurs in later attention architectures.

# %% [markdown]
# ## Running it: the largest number in a set
#
# Each set holds ten numbers drawn from $[-2, 2]$, and the target is the largest. A small Set
# Transformer (embedding, one $\mathrm{ISAB}_4$, $\mathrm{PMA}_1$, a linear read-out) and a sum-pooling
# baseline of similar size are trained for 200 steps each on the absolute error. The maximum is
# a question about the whole set at once; a sum of per-element features can only approximate it,
# while attention can let elements compare themselves with the others before pooling.

# %%
from _setup import heatmap, show_figure
import runnable.set_transformer as mechanism
result = mechanism.demo("cpu")

# %%
import matplotlib.pyplot as plt

figure, axis = plt.subplots(figsize=(5, 3.4))
for name, predicted in reversed(result["predictions"].items()):   # the Set Transformer on top
    axis.scatter(result["target"], predicted, s=6, label=name)
axis.plot([0.4, 2], [0.4, 2], color="#888888", linewidth=1)
axis.set_xlabel("largest number in the set")
axis.set_ylabel("prediction")
axis.legend(frameon=False)
axis.set_title("300 test sets")
show_figure("Scatter of predicted against true largest number in the set for 300 test sets, one colour per model, with the identity line.")

# %% [markdown]
# Where is the work done? After the ISAB every element already carries information about the
# others, so the pooling seed need not find the largest element itself. How the trained seed
# spreads its weight varies from run to run (with other random seeds it sometimes puts most of
# its weight on one of the largest elements); for this run, the weights of three sets:

# %%
for values, weights in zip(result["set"][:3], result["pooling_weights"][:3]):
    order = values.argsort(descending=True)
    print("numbers, largest first:", " ".join(f"{v:5.2f}" for v in values[order].tolist()))
    print("PMA weight (mean of heads):", " ".join(f"{w:5.3f}" for w in weights.mean(0)[order].tolist()))

# %% [markdown]
# ## Inducing points: what ISAB costs
#
# For a set of $n$ elements, SAB forms an $n \times n$ weight matrix per head, while
# $\mathrm{ISAB}_m$ forms one $m \times n$ and one $n \times m$. With $m = 4$ and growing $n$,
# the number of attention weights per head:

# %%
import torch

sab, isab = mechanism.SAB(16, 2), mechanism.ISAB(16, 2, inducing=4)
with torch.no_grad():
    for n in (10, 100, 1000):
        X = torch.randn(1, n, 16)
        sab(X)
        isab(X)
        print(f"n = {n:>4}: SAB {tuple(sab.weights.shape[-2:])} = {sab.weights[0, 0].numel():>7} weights, "
              f"ISAB {tuple(isab.mab_in.weights.shape[-2:])} + {tuple(isab.mab_out.weights.shape[-2:])} "
              f"= {isab.mab_in.weights[0, 0].numel() + isab.mab_out.weights[0, 0].numel():>5} weights")
