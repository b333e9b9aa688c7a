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
# # The Transformer block, positions and the KV cache
#
# A Transformer is a stack of identical blocks. Each block lets every position gather from the
# others with [multi-head attention](../multi-head-attention/), then transforms each position
# on its own with a small two-layer network. Both sublayers sit inside a residual connection
# with layer normalisation. The original Transformer normalises after adding the residual
# (post-norm); many later models normalise the sublayer's input instead (pre-norm), which
# leaves an un-normalised path straight through the stack:
#
# $$\text{post-norm:}\quad x \leftarrow \mathrm{LN}\big(x + \mathrm{MHA}(x)\big),\quad
#   x \leftarrow \mathrm{LN}\big(x + \mathrm{FFN}(x)\big)$$
#
# $$\text{pre-norm:}\quad x \leftarrow x + \mathrm{MHA}\big(\mathrm{LN}(x)\big),\quad
#   x \leftarrow x + \mathrm{FFN}\big(\mathrm{LN}(x)\big),
#   \qquad \mathrm{FFN}(x) = \max(0,\, x W_1 + b_1)\, W_2 + b_2 .$$
#
# The tests check this block against PyTorch's `nn.TransformerEncoderLayer` with the same
# weights, for both placements of the normalisation.
#
# ## Where the order comes from
#
# Attention treats its input as a set: permuting the positions permutes the output the same
# way. The Transformer adds a fixed code for each position to the input embeddings:
#
# $$PE(p, 2i) = \sin\big(p\,\omega_i\big), \qquad PE(p, 2i+1) = \cos\big(p\,\omega_i\big),
#   \qquad \omega_i = 10000^{-2i/d_{\text{model}}}.$$
#
# Each pair of coordinates is a point going round a circle, fast for small $i$ and slowly for
# large $i$. Moving $k$ positions on turns every circle by a fixed angle $k\omega_i$:
#
# $$\begin{pmatrix} PE(p+k, 2i) \\ PE(p+k, 2i+1) \end{pmatrix} =
#   \begin{pmatrix} \cos k\omega_i & \sin k\omega_i \\ -\sin k\omega_i & \cos k\omega_i \end{pmatrix}
#   \begin{pmatrix} PE(p, 2i) \\ PE(p, 2i+1) \end{pmatrix},$$
#
# a linear map that depends on $k$ but not on $p$. Vaswani et al. chose the sinusoids
# hoping that this would make relative positions easy to attend to.
# [Rotary embeddings](../rotary-embeddings/) apply the same rotations to the queries and keys
# themselves, so that the score depends on the offset alone.
#
# ## Decoding with a KV cache
#
# A decoder generates one token at a time and feeds it back. In a causal block, position $t$
# attends only to positions $\le t$, and only attention mixes positions, so the keys and values
# of earlier positions never change once computed. A **KV cache** keeps them: each step
# projects only the new token, appends its key and value, and lets its single query attend to
# all cached keys. No mask is needed, since the cache holds exactly the allowed positions. A step
# then costs $O(t)$ scores instead of recomputing the whole prefix, and the cache grows
# linearly, which makes its size the bottleneck that
# [multi-query and grouped-query attention](../grouped-query-attention/) shrink.

# %% [markdown]
# ## Running it
#
# A post-norm block (untrained, with torch's initialisation) is compared with
# `nn.TransformerEncoderLayer`, then decodes twelve positions one at a time with the cache; the
# outputs are compared with one causal pass over the whole sequence.

# %%
from _setup import heatmap, show_figure
import runnable.transformer_block as mechanism
import matplotlib.pyplot as plt

result = mechanism.demo("cpu")
assert result["error_torch"] < 1e-5 and result["error_cache"] < 1e-5
figure, axis = plt.subplots(figsize=(4.5, 2.6))
axis.plot(range(1, 13), [b / 1024 for b in result["cache_bytes"]], "o-")
axis.set_xlabel("positions decoded")
axis.set_ylabel("KV cache (KiB)")
axis.set_title("the cache grows by one key and one value per head and step")
show_figure("Line chart of the key-value cache size in KiB against positions decoded, growing by the same amount each step.")

# %% [markdown]
# ## The sinusoids
#
# Rows are positions, columns the coordinates of $PE$: the first columns oscillate quickly,
# the last ones barely move over 64 positions.

# %%
figure, axis = plt.subplots(figsize=(6, 4))
image = axis.imshow(result["positions"].numpy(), cmap="RdBu", vmin=-1, vmax=1, aspect="auto")
axis.set_xlabel("coordinate")
axis.set_ylabel("position $p$")
figure.colorbar(image, ax=axis)
show_figure("Image of the sinusoidal position encodings, position by coordinate, with stripes of decreasing frequency across coordinates.")

# %% [markdown]
# The shift by $k$ is the same rotation at every position: build the block-diagonal matrix
# $M_k$ once and apply it to all rows.

# %%
import math
import torch

d, k = 32, 7
pe = mechanism.sinusoidal_positions(200, d, dtype=torch.float64)
M = torch.block_diag(*[torch.tensor([[math.cos(k * w), math.sin(k * w)], [-math.sin(k * w), math.cos(k * w)]],
                                    dtype=torch.float64) for w in [10000 ** (-2 * i / d) for i in range(d // 2)]])
print(f"max over p of |PE(p + {k}) - M_{k} PE(p)| = {(pe[k:] - pe[:-k] @ M.T).abs().max():.1e}")
