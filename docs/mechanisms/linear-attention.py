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
# # Linear attention: Transformers as RNNs
#
# Softmax attention compares every query with every key, so its cost grows with the square of
# the sequence length, and generating one token costs time proportional to the number of tokens
# before it. [Katharopoulos, Vyas, Pappas and Fleuret (2020)](../../entries/2020-katharopoulos-linear-attention/)
# write attention for one query as a normalised, similarity-weighted average,
#
# $$V'_i = \frac{\sum_j \mathrm{sim}(Q_i, K_j)\, V_j}{\sum_j \mathrm{sim}(Q_i, K_j)},$$
#
# and note that softmax attention is the choice $\mathrm{sim}(q,k) = \exp(q^\top k/\sqrt d)$. Any
# non-negative similarity gives a valid attention; if it *factorises* through a feature map,
# $\mathrm{sim}(q,k) = \phi(q)^\top \phi(k)$, the sums can be regrouped:
#
# $$V'_i = \frac{\phi(Q_i)^\top \sum_j \phi(K_j) V_j^\top}{\phi(Q_i)^\top \sum_j \phi(K_j)} .$$
#
# The two sums do not depend on $i$: compute them once, in time linear in the length, and every
# query reuses them. The paper uses $\phi(x) = \mathrm{elu}(x) + 1$, which is positive, so the
# weights are non-negative and the output is a weighted average of the values.
#
# ## The causal case is a recurrent network
#
# With a causal mask, query $i$ sees keys $j \le i$ only, and the sums become running totals:
#
# $$S_i = S_{i-1} + \phi(K_i) V_i^\top, \qquad z_i = z_{i-1} + \phi(K_i), \qquad
#   V'_i = \frac{\phi(Q_i)^\top S_i}{\phi(Q_i)^\top z_i} .$$
#
# That is an RNN whose state is a $d \times d_v$ matrix and a $d$-vector. Generating a token
# costs the same at position 10 and at position 10 000, where softmax attention has to look at
# all of its cached keys and values. The price is expressiveness: a fixed-size state cannot hold
# an arbitrarily long past exactly, and $\phi(q)^\top\phi(k)$ is not the softmax kernel.
#
# The running matrix $S_i$ is the additive outer-product memory of a
# [fast weight programmer](../fast-weights/): with $\phi$ the identity and no denominator the two
# computations are identical, which is the observation of
# [Schlag, Irie and Schmidhuber (2021)](../../entries/2021-schlag-linear-transformers-fast-weights/).
# The normalised form is also a [Nadaraya–Watson estimator](../nadaraya-watson/) whose kernel is
# $\phi(q)^\top\phi(k)$.

# %% [markdown]
# ## Running it
#
# First the agreements, in float64: the causal parallel form against the recurrence, the
# parallel form against a double loop over $\phi(Q_i)^\top\phi(K_j)$, and the unnormalised
# identity-map form against the fast weight programmer. Then the cost of generating one token
# at increasing positions, for the recurrent step and for softmax attention over a cache of all
# past keys and values. The absolute figures depend on the machine (on a CPU with $d = 32$ much
# of a step is fixed overhead per call). On the CPU this page runs on, the recurrent step is
# flat and the softmax step grows with the position. On a GPU, at these sizes, every step is
# dominated by the fixed cost of launching its kernels, and the softmax step's growth only shows
# at much longer contexts; the recurrent step's state stays the same size either way.

# %%
from _setup import heatmap, show_figure
import runnable.linear_attention as mechanism
import matplotlib.pyplot as plt

result = mechanism.demo("cpu")
figure, axis = plt.subplots(figsize=(6, 3))
for name, curve in result["curve_us"].items():
    axis.plot(result["curve_positions"], curve, marker=".", label=name)
axis.set_xlabel("position of the generated token")
axis.set_ylabel("µs per token (median of 128)")
axis.set_ylim(bottom=0)
axis.legend(fontsize=8)
show_figure("Line chart of microseconds per generated token against position, for softmax attention and recurrent linear attention.")

# %% [markdown]
# ## Linear attention is not softmax attention
#
# No finite feature map gives $\exp(q^\top k)$ exactly, so the weights differ. For one query
# over eight keys, the weights each kernel gives:

# %%
import torch

torch.manual_seed(0)
q, k = torch.randn(1, 8), torch.randn(8, 8)
phi = mechanism.elu_feature_map
linear_weights = (phi(q) @ phi(k).T) / (phi(q) @ phi(k).T).sum()
softmax_weights = torch.softmax(q @ k.T / 8 ** 0.5, dim=-1)
heatmap(torch.cat([softmax_weights, linear_weights]).numpy(), xlabels=range(8),
        ylabels=["softmax", "elu + 1"], xlabel="key", title="weights of one query",
        alt="Heatmap of one query's weights over eight keys, softmax attention in the first row and elu + 1 linear attention in the second.")
print(f"largest weight: softmax {softmax_weights.max():.3f}, linear {linear_weights.max():.3f}; "
      f"total variation distance {0.5 * (softmax_weights - linear_weights).abs().sum():.3f}")

# %% [markdown]
# The elu + 1 kernel is flatter: its weights vary less between keys (for random Gaussian queries
# and keys like these its largest weight is below the softmax's in about 98% of draws), so a
# linear-attention layer finds it harder to attend sharply to one key. Approximating the softmax kernel itself with
# random features is the route the [Performer](../performer/) takes.
#
# ## Where it leads
#
# The same computation read as memory is the [fast weight programmer](../fast-weights/), and
# its delta-rule update is the linear-attention variant Schlag, Irie and Schmidhuber proposed to
# reduce interference. The [Performer](../performer/) keeps the linear cost with a feature map
# whose inner product estimates the softmax kernel; [FlashAttention](../flash-attention/) keeps
# exact softmax attention and attacks its memory traffic instead. The
# [equivalences page](../equivalences/) checks the fast-weight identity beside the others.
