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
# # Multi-query and grouped-query attention
#
# When a Transformer generates text, each new token attends to the keys and values of every
# earlier token, kept in a [KV cache](../transformer-block/). A step does little arithmetic per
# byte it reads from that cache, so for long contexts its speed is set by memory bandwidth, and
# the cache, one key and one value per head, layer and token, also caps how many sequences fit
# on the accelerator at once.
#
# **Multi-query attention** (Shazeer, 2019) keeps the $H$ query heads of
# [multi-head attention](../multi-head-attention/) but gives them one shared key head and one
# shared value head:
#
# $$\mathrm{head}_h = \mathrm{Attention}(Q W_h^Q,\; K W^K,\; V W^V),$$
#
# which divides the cache by $H$. **Grouped-query attention** (Ainslie et al., 2023) sits in
# between: the query heads are split into $H_{kv}$ groups of $G = H / H_{kv}$ consecutive heads,
# and each group shares one key/value head,
#
# $$\mathrm{head}_h = \mathrm{Attention}\big(Q W_h^Q,\; K W_{g(h)}^K,\; V W_{g(h)}^V\big),
#   \qquad g(h) = \lfloor h / G \rfloor .$$
#
# $H_{kv} = 1$ is multi-query attention and $H_{kv} = H$ is ordinary multi-head attention. The
# implementation makes no copy of the keys or values: it folds the $G$ query heads of a group into
# the sequence axis, $(B, H, L, d) \to (B, H_{kv}, G L, d)$, so one matrix product per group serves
# all $G$ heads. (Letting keys viewed as $(B, H_{kv}, 1, L, d)$ broadcast over a group axis looks
# free but is not: `torch.matmul` materialises the expanded operand, $G$ copies of $K$ and $V$; a
# test traces every operation and checks that no tensor that large is created.) The tests compare it with PyTorch's
# `scaled_dot_product_attention(..., enable_gqa=True)` and with keys and values copied to every
# query head by `repeat_interleave`.
#
# **Uptraining.** Ainslie et al. also turn an existing multi-head checkpoint into a grouped one:
# average the key and value projection matrices of the heads in each group, keep the query and
# output projections, and continue pre-training for a small fraction of the original compute.
# `mean_pool_heads` performs the averaging step.

# %% [markdown]
# ## Running it
#
# Cache sizes at an illustrative large-model size (32 layers, 32 query heads of size 128,
# 16-bit numbers), then the agreement checks.

# %%
from _setup import heatmap, show_figure
# (imported before the page's own module, so that the self-contained notebook defines this page's names last)
import runnable.multi_head_latent_attention as latent
import runnable.grouped_query_attention as mechanism
import matplotlib.pyplot as plt

result = mechanism.demo("cpu")
assert all(error < 1e-5 for error in result["errors"].values())

# %% [markdown]
# [Multi-head latent attention](../multi-head-latent-attention/) (DeepSeek-V2) takes another route
# to a small cache: each token stores one low-rank latent of $d_c$ numbers plus a shared rotary key of
# $d_R$ numbers, and every head rebuilds its own key and value from the latent. At the same size, with
# DeepSeek-V2's ratios $d_c = 4 d_h$ and $d_R = d_h / 2$, its row joins the table, computed by that
# page's module:

# %%
layers, H, d_head, bytes_per_number = 32, 32, 128, 2
d_c, d_R = latent.deepseek_v2_ranks(d_head)
per_layer = latent.cache_elements_per_token(H, d_head, 8, d_c, d_R)
cache = dict(result["cache_bytes_per_token"])
cache["MLA"] = per_layer["MLA"] * layers * bytes_per_number
assert all(cache[name] == per_layer[name] * layers * bytes_per_number for name in ["MHA", "GQA-8", "MQA"])
print(f"{'':>6}  numbers per token and layer   KiB per token ({layers} layers, 16-bit)")
for name, size in cache.items():
    print(f"{name:>6}  {per_layer[name]:>27}   {size / 1024:>10g}")
names, sizes = zip(*cache.items())
figure, axis = plt.subplots(figsize=(4.5, 2.6))
axis.bar(names, [s / 1024 for s in sizes])
axis.set_ylabel("KiB per token")
axis.set_title("KV cache per token")
show_figure("Bar chart of the key-value cache in KiB per token for multi-head, grouped-query (8 groups), "
            "multi-query and multi-head latent attention: 512, 128, 16 and 36 KiB.")

# %% [markdown]
# ## Mean-pooling a multi-head layer
#
# The conversion is exact when the heads of a group already have the same key and value
# projections. For an arbitrary (here random, untrained) multi-head layer it changes the output;
# that gap is what the paper's short continued pre-training has to close. The numbers below
# measure the change for this random layer only; they say nothing about trained models.

# %%
import torch

torch.manual_seed(0)
mha = mechanism.MultiHeadAttention(64, 8)
x = torch.randn(2, 12, 64)
with torch.no_grad():
    reference = mha(x, x, x, causal=True)[0]
    for groups in [8, 4, 2, 1]:
        pooled = mechanism.mean_pool_heads(mha, groups)(x, causal=True)
        change = ((pooled - reference).norm() / reference.norm()).item()
        print(f"H_kv = {groups}: {sum(p.numel() for p in mechanism.mean_pool_heads(mha, groups).parameters())} "
              f"parameters, relative change of the output {change:.3f}")
