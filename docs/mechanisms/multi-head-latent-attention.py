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
# # Multi-head latent attention
#
# Multi-head latent attention (MLA), introduced with DeepSeek-V2 in 2024, attacks the same cost as
# [grouped-query attention](../grouped-query-attention/): the key-value cache that a decoder reads
# in full at every generated token. Grouped-query attention shrinks the cache by letting query heads
# share key and value heads. MLA keeps a separate key and value for every head, but stores neither:
# for each token it caches one low-rank vector, the latent
# $c_t^{KV} = W^{DKV} h_t$ of size $d_c$, from which head $i$ rebuilds its key and value,
#
# $$k_{t,i}^C = W_i^{UK} c_t^{KV}, \qquad v_{t,i}^C = W_i^{UV} c_t^{KV}.$$
#
# The queries pass through a bottleneck of their own, $c_t^Q = W^{DQ} h_t$ and
# $q_{t,i}^C = W_i^{UQ} c_t^Q$, which saves activation memory during training.
#
# **Why the rebuilt keys never need to exist.** The score of head $i$ is
# $q_{t,i}^{C\top} k_{j,i}^C = \big(W_i^{UK\top} W_i^{UQ} c_t^Q\big)^\top c_j^{KV}$: the product
# $W_i^{UK\top} W_i^{UQ}$ can be computed once, turning each query into a vector in the latent
# space that meets the cached latent directly. Likewise the output projection's slice for head $i$,
# $W_i^O$, can absorb $W_i^{UV}$. After this *weight absorption* every head attends over the same
# cached vectors: inference is multi-query attention with wide keys.
#
# **Why RoPE needs its own dimensions.** [Rotary embeddings](../rotary-embeddings/) rotate a key by
# its position. A rotation applied to $k_{j,i}^C$ would sit between $W_i^{UK}$ and the query and
# would differ from key to key, so $W_i^{UK}$ could no longer be folded into the query. MLA therefore
# carries position in a few extra dimensions: a rotated query part $q_{t,i}^R$ per head and a
# single rotated key part $k_t^R$ shared by all heads, concatenated to the content parts:
#
# $$o_{t,i} = \sum_{j \le t} \mathrm{softmax}_j\!\left(\frac{[q_{t,i}^C; q_{t,i}^R]^\top
#   [k_{j,i}^C; k_j^R]}{\sqrt{d_h + d_R}}\right) v_{j,i}^C .$$
#
# The cache per token and layer is $c_t^{KV}$ and $k_t^R$, $d_c + d_R$ numbers. With DeepSeek-V2's
# choice $d_c = 4 d_h$ and $d_R = d_h/2$ that is $4.5\,d_h$, the cache of grouped-query
# attention with 2.25 groups, while every head still gets a key and value of its own.

# %% [markdown]
# ## Running it
#
# The cache per token and layer at DeepSeek-V2's head count and size, then a small random layer in
# double precision: the absorbed path that attends over the latents, and generation one token at
# a time from a cache of $[c^{KV}; k^R]$, each against the equations as written.

# %%
from _setup import show_figure
import runnable.multi_head_latent_attention as mechanism
import matplotlib.pyplot as plt

result = mechanism.demo("cpu")
assert all(error < 1e-12 for error in result["errors"].values())

# %% [markdown]
# ## The cache, side by side
#
# The same counts as a chart, on a logarithmic axis because multi-head attention's cache is more than
# fifty times MLA's at this size. The numbers come from `cache_elements_per_token`, whose MLA entry a
# test checks against the width of what `compress` returns.

# %%
names, sizes = zip(*result["cache_elements"].items())
figure, axis = plt.subplots(figsize=(4.8, 2.6))
axis.bar(names, sizes)
axis.set_yscale("log")
axis.set_ylim(top=3 * max(sizes))                                  # room for the labels
axis.set_ylabel("numbers per token and layer")
axis.set_title("KV cache: 128 heads of size 128")
for position, size in enumerate(sizes):
    axis.annotate(f"{size}", (position, size), ha="center", va="bottom")
show_figure("Bar chart on a logarithmic scale of the numbers cached per token and layer: multi-head 32768, "
            "grouped-query with 8 groups 2048, multi-query 256, multi-head latent attention 576.")

# %% [markdown]
# ## Where absorption needs decoupled RoPE
#
# Without rotation, the score from rebuilt keys equals the score from the absorbed query against the
# raw latent. Rotate the rebuilt keys and queries by position, as plain RoPE would, and the two part
# ways: the absorbed query has no way to know which key position it is facing. That is the reason for
# the separate, shared $k^R$.

# %%
import torch

torch.manual_seed(0)
model = mechanism.MultiHeadLatentAttention(d_model=32, num_heads=4, d_head=8).double()
x = torch.randn(1, 12, 32, dtype=torch.float64)
B, L, _ = x.shape
positions = torch.arange(L)
with torch.no_grad():
    query_fold, _ = model.absorbed_weights()
    c_q, c_kv = model.q_down(x), model.kv_down(x)
    q_c = model.q_up(c_q).view(B, L, 4, 8).transpose(1, 2)
    k_c = model.k_up(c_kv).view(B, L, 4, 8).transpose(1, 2)
    absorbed = torch.einsum("hcq,btq->bhtc", query_fold, c_q) @ c_kv[:, None].transpose(-2, -1)
    plain = q_c @ k_c.transpose(-2, -1)
    rotated = mechanism.apply_rotary(q_c, positions) @ mechanism.apply_rotary(k_c, positions).transpose(-2, -1)
print(f"max |plain scores - absorbed scores|   = {(plain - absorbed).abs().max():.1e}")
print(f"max |rotated scores - absorbed scores| = {(rotated - absorbed).abs().max():.1e}")
