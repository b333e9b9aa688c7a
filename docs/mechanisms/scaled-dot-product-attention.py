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
# # Scaled dot-product attention
#
# The Transformer's attention is a dot score, like [Luong et al.](../luong-attention/)'s, computed
# for all positions at once and scaled. With separate projections for queries and keys the score
# $q_i^\top k_j$ is not symmetric: $i$ scoring $j$ is not $j$ scoring $i$ (Luong's *general*
# score $h_t^\top W_a \bar h_s$ is the same bilinear form with $W_a = W^Q {W^K}^\top$ folded into one
# matrix). Each position asks with a *query* vector $q_i$, offers a *key* $k_j$ to
# be matched against and a *value* $v_j$ to be read. Stacking them as the rows of $Q$, $K$ and
# $V$, every query is scored against every key at once, and a softmax along each row gives the
# weights of the values:
#
# $$\mathrm{Attention}(Q, K, V) = \mathrm{softmax}\!\Big(\frac{Q K^\top}{\sqrt{d}}\Big) V,
#   \qquad \text{shapes } (L_q \times d)(d \times L_k)(L_k \times d_v).$$
#
# ## Why divide by $\sqrt d$
#
# If the entries of $q$ and $k$ are independent with mean 0 and variance 1, then
# $q \cdot k = \sum_{l=1}^{d} q_l k_l$ is a sum of $d$ terms of variance 1, so its standard
# deviation is $\sqrt d$. With $d = 64$ the scores differ by several units, the softmax puts
# nearly all the weight on one key, and its gradient almost vanishes. Dividing by $\sqrt d$
# brings the scores back to unit variance whatever the head size. Vaswani et al. give this
# reason, and report that without the scaling, dot-product attention falls behind
# [additive attention](../bahdanau-attention/) for large $d$, while the two are similar
# for small $d$.
#
# ## Masks
#
# Two kinds of key are removed by setting their scores to $-\infty$ before the softmax, so that
# their weight is exactly zero:
#
# * **padding**: a batch holds sequences of different lengths, padded to the longest; no query
#   may read the padding. Changing what sits in the padded positions then changes nothing.
# * **the future** (causal mask): in a decoder that predicts token $i + 1$ from tokens
#   $\le i$, query $i$ may only see keys $j \le i$. With $L_q \ne L_k$ the triangle here starts
#   in the top-left corner, as PyTorch's `is_causal` does.
#
# A query whose keys are *all* masked has nothing to average: the softmax would be $0/0$. This
# module gives it zero weights and a zero output. PyTorch's `F.scaled_dot_product_attention`
# did the same where we checked (2.13 on the CPU, 2.11 on an H100), but `nn.MultiheadAttention`
# returns NaN there, so a row like this is best avoided, not relied on.
# Next: [multi-head attention](../multi-head-attention/) runs several of these side by side;
# [FlashAttention](../flash-attention/) computes exactly the same function without ever
# storing the $L_q \times L_k$ matrix, and [linear attention](../linear-attention/) replaces
# the softmax to avoid it altogether.

# %% [markdown]
# ## Running it
#
# A batch of two sequences of lengths 6 and 4, padded to 6, with causal self-attention. The
# weights of the shorter sequence have zeros above the diagonal (the future) and in the
# columns of the padding. The queries at padded positions still attend to the real keys; their
# outputs are simply ignored downstream. The result is checked against a loop and against
# PyTorch. Then random queries and keys show the variance argument for the scale.

# %%
from _setup import heatmap, show_figure
import runnable.scaled_dot_product_attention as mechanism
result = mechanism.demo("cpu")
heatmap(result["weights"][1].numpy(), xlabels=range(1, 7), ylabels=range(1, 7), xlabel="key $j$",
        ylabel="query $i$", title="causal + padding (length 4): weights",
        alt="Heatmap of causal and padding-masked attention weights, query by key: zero above the diagonal and on the padded keys.")
assert result["error_loop"] < 1e-5 and result["error_torch"] < 1e-5

# %%
import matplotlib.pyplot as plt
import math

figure, axis = plt.subplots(figsize=(5, 3))
axis.plot(result["dims"], result["entropy_unscaled"], "o-", label=r"softmax$(q \cdot k)$")
axis.plot(result["dims"], result["entropy_scaled"], "o-", label=r"softmax$(q \cdot k / \sqrt{d})$")
axis.axhline(math.log(32), linestyle=":", color="#888888", label="uniform over 32 keys")
axis.set_xscale("log", base=2)
axis.set_xlabel("dimension $d$")
axis.set_ylabel("mean entropy (nats)")
axis.legend()
show_figure("Line chart of the mean entropy of the attention weights against dimension d, unscaled and scaled by the square root of d, with the uniform level dotted.")

# %% [markdown]
# ## A query with nothing to attend to
#
# A sequence of length 0 (all padding): its rows have no allowed key. Here the output and the
# weights are zero, and the other sequences are untouched.

# %%
import torch

torch.manual_seed(0)
q, k, v = torch.randn(3, 2, 1, 3, 4).unbind(0)
mask = mechanism.padding_mask(torch.tensor([3, 0]), 3)
output, weights = mechanism.scaled_dot_product_attention(q, k, v, mask=mask)
print("ours, empty sequence, output:", output[1, 0, 0].tolist(), " weights:", weights[1, 0, 0].tolist())
print("torch F.scaled_dot_product_attention (CPU):",
      torch.nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=mask)[1, 0, 0].tolist())
