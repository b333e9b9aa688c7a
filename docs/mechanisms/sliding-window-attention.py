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
# # Sliding-window attention and the rolling KV cache
#
# In causal attention every new token may read every earlier one. During generation that means
# the [KV cache](../transformer-block/) gains one key and one value per layer and head with each
# token, and a long conversation eventually fills the accelerator. A **sliding window** caps the
# reach: query $i$ reads only the last $W$ positions,
#
# $$o_i = \sum_{i - W < j \le i} \operatorname{softmax}_j\!\Big(\frac{q_i \cdot k_j}{\sqrt d}\Big)\, v_j ,$$
#
# a band of width $W$ along the diagonal of the attention matrix.
# [Longformer](../../entries/2020-beltagy-longformer/) (Beltagy, Peters and Cohan, 2020) used such a
# local window, two-sided in its encoder, together with a few tokens that attend globally. Mistral 7B
# (Jiang et al., 2023) made the one-sided window the attention of a released decoder, with
# $W = 4096$.
#
# Nothing beyond the window is lost for good. A layer passes on what it read, so the next layer's
# window reaches $W - 1$ positions further back: after $\ell$ layers a token can depend on
# positions up to $\ell (W - 1)$ away.
#
# **The rolling cache.** With a band, a generator never needs keys older than $W$ positions. Mistral
# keeps a buffer of exactly $W$ slots and stores position $t$ in slot $t \bmod W$, so each new key
# overwrites the one that has just left the window. The slots end up out of order, and that is
# harmless: a softmax-weighted sum does not care in which order its terms are added, as long as the
# keys already carry their positions (rotary embeddings are applied before a key is cached). The
# tests decode sequences of random length one token at a time through this cache and compare every
# output with the band-masked attention computed in one go.

# %% [markdown]
# ## Running it
#
# The band for $W = 4$, then 64 positions decoded one by one through a cache of 8 slots.

# %%
from _setup import heatmap, show_figure
import runnable.sliding_window_attention as mechanism
import matplotlib.pyplot as plt

result = mechanism.demo("cpu")
assert all(error < 1e-5 for error in result["errors"].values())
heatmap(mechanism.window_mask(12, 12, 4).float().numpy(), xlabel="key position j", ylabel="query position i",
        title="who may read whom, W = 4",
        alt="A 12 by 12 grid, lit on the diagonal and the three cells to its left in each row: the band of a window of four tokens.")

# %% [markdown]
# ## The cache stays the same size
#
# The bytes held by a growing cache (one key and one value appended per token, as in
# [the Transformer block's](../transformer-block/) `KVCache`) and by the rolling cache of $W = 8$
# slots, for the 64 steps of the demo (2 sequences, 4 heads of size 16, float32).

# %%
steps = range(1, len(result["sizes"]) + 1)
growing = [2 * 2 * 4 * t * 16 * 4 for t in steps]
print(f"after {len(growing)} tokens: growing cache {growing[-1]:,} bytes, rolling cache {result['sizes'][-1]:,} bytes")
figure, axis = plt.subplots(figsize=(4.8, 3))
axis.plot(steps, [b / 1024 for b in growing], label="growing cache")
axis.plot(steps, [b / 1024 for b in result["sizes"]], label="rolling cache, W = 8")
axis.set_xlabel("tokens generated")
axis.set_ylabel("KiB held")
axis.legend()
show_figure("Line chart of cache memory against tokens generated: the growing cache rises in a straight line to 64 KiB at 64 tokens, "
            "the rolling cache stays flat at 8 KiB from the first token.")

# %% [markdown]
# The rolling cache is allocated at its full size once, so its line is flat from the first token;
# the growing cache overtakes it after $W$ tokens and keeps climbing. What the window gives up is
# direct access to anything older than $W$ positions: whatever a model knows of the distant past
# must have been carried forward, layer by layer, in the hidden states.
#
# ## How far stacked windows reach
#
# Three windowed attention layers with $W = 4$ over 24 positions, with no weights in between. The
# gradient of the last position's output with respect to the input shows which positions it
# depends on: one layer reaches 3 positions back, two reach 6, three reach 9.

# %%
import torch

x = torch.randn(1, 1, 24, 4, dtype=torch.float64, requires_grad=True)
h, reached = x, []
for layer in range(3):
    h = mechanism.sliding_window_attention(h, h, h, window=4)
    (gradient,) = torch.autograd.grad(h[0, 0, -1].sum(), x, retain_graph=True)
    reached.append((gradient[0, 0].abs().sum(-1) > 0).float())
    print(f"after {layer + 1} layer(s): position 23 depends on positions "
          f"{int(reached[-1].nonzero().min())} to 23 ({mechanism.receptive_field(layer + 1, 4)} back)")
heatmap(torch.stack(reached).numpy(), xlabel="input position", ylabel="layers",
        ylabels=["1", "2", "3"], title="what the last position depends on",
        alt="Three rows of 24 cells: the lit cells at the right end grow from 4 in the first row to 7 and then 10, "
            "the inputs the last position depends on after one, two and three windowed layers.")
