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
# # Multi-head attention
#
# One [scaled dot-product attention](../scaled-dot-product-attention/) gives each query a
# single distribution over the keys, so whatever a position needs to gather (the previous word,
# the subject of its verb, a matching bracket) gets mixed into one weighted average. Multi-head
# attention runs $h$ attentions side by side instead, each on its own learned projection to a
# smaller space of size $d_k = d_{\text{model}}/h$, and concatenates what they read:
#
# $$\mathrm{head}_i = \mathrm{Attention}(Q W_i^Q,\; K W_i^K,\; V W_i^V), \qquad
#   \mathrm{MultiHead}(Q, K, V) = [\mathrm{head}_1; \dots; \mathrm{head}_h]\, W^O,$$
#
# with $W_i^Q, W_i^K, W_i^V \in \mathbb{R}^{d_{\text{model}} \times d_k}$ and
# $W^O \in \mathbb{R}^{d_{\text{model}} \times d_{\text{model}}}$. Each head can put its weight
# somewhere else. Because the heads are narrower, the cost is about that of one attention of
# full width: the parameter count does not depend on $h$ at all.
#
# ## One matrix, many heads
#
# Placing the $h$ matrices $W_i^Q$ side by side gives one $d_{\text{model}} \times
# d_{\text{model}}$ matrix, so one matrix product computes every head's queries; reshaping
# $(B, L, h d_k)$ to $(B, h, L, d_k)$ turns the heads into a batch dimension that the attention
# broadcasts over. `heads_one_by_one` below computes the heads separately, each as a
# single-head attention on its own slice of the weights, then concatenates and projects;
# the tests check that it equals the batched module and PyTorch's `nn.MultiheadAttention`
# with the same weights (copied from its packed `in_proj_weight`, whose rows hold
# $W^Q$, $W^K$ and $W^V$ one after another).
#
# A note on masks: here `mask=True` means *may attend*, as in `F.scaled_dot_product_attention`.
# `nn.MultiheadAttention`'s `key_padding_mask` and boolean `attn_mask` use the opposite sense,
# *True = blocked*, so a mask moved between the two must be negated.
#
# In the Transformer the same module serves as self-attention (queries, keys and values from
# one sequence, causal in the decoder) and as [cross-attention](../cross-attention/) (queries
# from the decoder, keys and values from the encoder, the role that
# [additive attention](../bahdanau-attention/) played in recurrent translation models).
# [Grouped-query attention](../grouped-query-attention/) later let several query heads share
# one key/value head.

# %% [markdown]
# ## Running it
#
# Four heads of self-attention over a padded batch, with torch's initialisation of the weights
# (untrained, so the patterns only show that the heads differ, not what trained heads learn).
# The output and the per-head weights are compared with `nn.MultiheadAttention` and with the
# heads computed one by one.

# %%
from _setup import heatmap, show_figure
import runnable.multi_head_attention as mechanism
import matplotlib.pyplot as plt

result = mechanism.demo("cpu")
figure, axes = plt.subplots(1, 4, figsize=(10, 2.8))
for head, axis in enumerate(axes):
    axis.imshow(result["weights"][1, head].numpy(), cmap="viridis", vmin=0, vmax=1)
    axis.set_title(f"head {head + 1}")
    axis.set_xlabel("key")
axes[0].set_ylabel("query")
figure.suptitle("example 2 (length 5, padded to 8): one weight matrix per head")
show_figure("Row of heatmaps, one per head: the query by key weights of example 2, whose last three padded keys get zero weight.")
assert result["error_torch"] < 1e-5 and result["error_split"] < 1e-5

# %% [markdown]
# ## More heads, same parameters, narrower scores
#
# Changing $h$ keeps every weight matrix the same size; only how the width is cut up changes.
# What does change is the number of $L \times L$ weight matrices ($B \cdot h$ of them), which is
# what memory-saving kernels such as [FlashAttention](../flash-attention/) avoid storing.

# %%
import torch

x = torch.randn(1, 8, 64)
for h in [1, 2, 4, 8, 16]:
    attention = mechanism.MultiHeadAttention(64, h)
    with torch.no_grad():
        _, weights = attention(x, x, x)
    print(f"h = {h:>2}: d_k = {64 // h:>2}, parameters {sum(p.numel() for p in attention.parameters())}, "
          f"weights {tuple(weights.shape)}")
