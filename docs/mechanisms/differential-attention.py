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
# # Differential attention
#
# A softmax never gives a key exactly zero weight. When a query is after one token among thousands,
# the small weights on all the others add up, and Ye et al. (2024) argue that this spread, which they
# call attention noise, drowns the relevant context in long inputs. Their Differential Transformer
# borrows the idea of a differential amplifier: compute two attention maps and subtract one from the
# other, so that whatever both maps agree on cancels.
#
# Each head splits its query and key projections into two halves of width $d$, forms two ordinary
# [scaled dot-product](../scaled-dot-product-attention/) maps, and reads one set of values, $2d$ wide:
#
# $$\mathrm{DiffAttn}(X) = \Big(\mathrm{softmax}\big(Q_1 K_1^\top/\sqrt d\big)
#   - \lambda\, \mathrm{softmax}\big(Q_2 K_2^\top/\sqrt d\big)\Big) V .$$
#
# The weight $\lambda$ is learned, through four vectors so that training starts near a chosen value:
# $\lambda = e^{\lambda_{q1}\cdot\lambda_{k1}} - e^{\lambda_{q2}\cdot\lambda_{k2}} + \lambda_{\text{init}}$,
# with $\lambda_{\text{init}} = 0.8 - 0.6\,e^{-0.3(l-1)}$ in layer $l$: small in the first layers,
# close to $0.8$ in deep ones. The difference is no longer a probability distribution (a row sums to
# $1-\lambda$ and entries can be negative), so each head's output is normalised on its own, by an
# RMSNorm over its features, and multiplied by $1 - \lambda_{\text{init}}$. Against a Transformer of the
# same width the number of heads is halved, which keeps the cost of the two maps close to that of
# one ordinary attention layer.
#
# Because both maps multiply the same $V$, the subtraction can also be done after attending:
# $(A_1 - \lambda A_2)V = A_1 V - \lambda A_2 V$, two calls of any fast attention kernel. The tests
# use exactly this as their reference, beside a loop over heads and queries.

# %% [markdown]
# ## Running it
#
# $\lambda_{\text{init}}$ by depth; a query built by hand so that both maps share the same distractor
# scores and only the first also sees the needle; then the module against two calls of PyTorch's
# `scaled_dot_product_attention`.

# %%
from _setup import show_figure
import runnable.differential_attention as mechanism
import matplotlib.pyplot as plt
import torch

result = mechanism.demo("cpu")
assert result["error"] < 1e-12

# %% [markdown]
# ## Cancelling the common part
#
# In the example, distractor $j$ receives a weight proportional to $e^{n_j}$ in both maps; the first
# map divides by a larger sum because the needle takes a share of it. For one value of $\lambda$, the
# ratio of the two normalisers, every distractor weight cancels exactly and what remains sits on the
# needle. Here that $\lambda$ is computed, not learned; the claim of the paper is that training finds
# useful values of this kind.

# %%
needle, maps = result["needle"], result["maps"]
figure, (left, right) = plt.subplots(1, 2, figsize=(8, 2.8), gridspec_kw={"width_ratios": [1, 2]})
layers = torch.arange(1, 33)
left.plot(layers, [mechanism.lambda_init(int(l)) for l in layers])
left.set_xlabel("layer l")
left.set_ylabel("λ_init")
left.set_ylim(0, 1)
keys = torch.arange(len(maps[0.0]))
for offset, (lam, weights) in zip((-0.27, 0.0, 0.27), maps.items()):
    right.bar(keys + offset, weights, width=0.27, label=f"λ = {lam:.2f}")
right.axhline(0, linewidth=0.5)
right.set_xticks(keys)
right.set_xlabel(f"key (the needle is {needle})")
right.set_ylabel("weight")
right.legend(fontsize=7)
show_figure("Left: lambda_init rising from 0.2 in layer 1 towards 0.8 by layer 16. Right: the weights one query "
            "gives sixteen keys for three values of lambda; with lambda 0 the distractors share about a third "
            "of the weight, and at the cancelling lambda only the needle keeps any weight.")
