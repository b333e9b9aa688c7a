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
# # Equivalences
#
# Many mechanisms on this site turn out to be the same computation written differently. Each
# section below gives the derivation in a few lines, then computes both sides on the same random
# inputs and prints the largest difference. The same checks run in the test suite on CPU and on
# CUDA, in float64 (tolerance $10^{-10}$) and float32 ($10^{-4}$); this page shows the numbers
# measured when the site was built.
#
# Throughout, $q_t, k_s, v_s$ are query, key and value vectors, and "softmax attention" means
# $\mathrm{out}_t = \sum_s \mathrm{softmax}_s(\lambda\, q_t^\top k_s + b_s)\, v_s$ for a scale
# $\lambda$ and an optional per-key bias $b_s$.

# %%
from runnable.equivalences import EQUIVALENCES, TOLERANCE, max_gap
import runnable.equivalences as mechanism
import torch


def check(name):
    gaps = {str(dtype).removeprefix("torch."): max_gap(name, "cpu", dtype) for dtype in (torch.float64, torch.float32)}
    print(f"{name}: largest |left − right| " + ", ".join(f"{d} {g:.1e}" for d, g in gaps.items()))
    assert gaps["float64"] <= TOLERANCE[torch.float64] and gaps["float32"] <= TOLERANCE[torch.float32]


print(f"{len(EQUIVALENCES)} equivalences, computed on CPU with torch {torch.__version__}")

# %% [markdown]
# ## 1. Fast weight programmers are unnormalised linear attention
#
# A [fast weight programmer](../fast-weights/) writes each key–value pair into a matrix by an
# outer product and reads it with the query:
#
# $$W_t = W_{t-1} + v_t k_t^\top, \qquad y_t = W_t q_t
#   = \sum_{s \le t} v_s \,(k_s^\top q_t).$$
#
# The right-hand side is causal [linear attention](../linear-attention/) with the identity
# feature map and no normalising denominator. Schlag, Irie and Schmidhuber
# ([2021](../../entries/2021-schlag-linear-transformers-fast-weights/)) made this identity the
# starting point for better update rules.

# %%
check("fast weight programmer ≡ unnormalised linear attention")

# %% [markdown]
# ## 2. Linear attention: parallel and recurrent
#
# With a feature map $\phi$ the similarity is $\phi(q_t)^\top \phi(k_s)$. Because the sum over
# $s$ no longer sits inside an exponential, it can be pulled past the query:
#
# $$y_t = \frac{\sum_{s\le t} \phi(q_t)^\top\phi(k_s)\, v_s}{\sum_{s \le t}\phi(q_t)^\top\phi(k_s)}
#       = \frac{\phi(q_t)^\top S_t}{\phi(q_t)^\top z_t}, \qquad
#   S_t = S_{t-1} + \phi(k_t) v_t^\top, \quad z_t = z_{t-1} + \phi(k_t).$$
#
# The left form trains in parallel; the right is a recurrent network with a constant-size state
# ([Katharopoulos et al.](../../entries/2020-katharopoulos-linear-attention/)).

# %%
check("linear attention: parallel ≡ recurrent")

# %% [markdown]
# ## 3. Tiled attention with an online softmax is exact
#
# Split the keys into blocks. Keep, for each query, a running maximum $m$, a running sum
# $\ell$ of exponentials and an unnormalised output $o$. A new block with scores $x_j$ updates
#
# $$m' = \max(m, \max_j x_j), \quad
#   \ell' = e^{m - m'}\ell + \sum_j e^{x_j - m'}, \quad
#   o' = e^{m - m'} o + \sum_j e^{x_j - m'} v_j,$$
#
# and $o/\ell$ after the last block is exactly the softmax-weighted sum. Only one block of scores
# exists at a time, which is the idea behind [FlashAttention](../flash-attention/).

# %%
check("tiled online softmax ≡ naive softmax attention")

# %% [markdown]
# ## 4. One modern Hopfield update is softmax attention
#
# The update rule of the [modern Hopfield network](../hopfield-retrieval/) with stored patterns
# $X$ (one per row) and inverse temperature $\beta$ is
#
# $$\xi^{\text{new}} = X^\top \mathrm{softmax}(\beta X \xi),$$
#
# which is softmax attention with the state as the query, the patterns as both keys and values,
# and scale $\lambda = \beta$ ([Ramsauer et al.](../../entries/2020-ramsauer-hopfield-networks/)).
# The right side here is PyTorch's `scaled_dot_product_attention` with `scale=β`.

# %%
check("one Hopfield update ≡ softmax attention")

# %% [markdown]
# ## 5. Nadaraya–Watson regression is softmax attention on distances
#
# [Kernel regression](../nadaraya-watson/) with a Gaussian kernel of width $h$ weights each
# observation by $\exp(-\lVert q - k_s\rVert^2 / 2h^2)$. Expanding the square,
#
# $$-\frac{\lVert q - k_s\rVert^2}{2h^2} = \underbrace{-\frac{\lVert q\rVert^2}{2h^2}}_{\text{same for every } s}
#   + \frac{q^\top k_s}{h^2} - \frac{\lVert k_s\rVert^2}{2h^2},$$
#
# and the first term cancels in the normalisation. What is left is softmax attention with scale
# $1/h^2$ and a per-key bias $b_s = -\lVert k_s\rVert^2/2h^2$
# ([Nadaraya; Watson, 1964](../../entries/1964-nadaraya-watson-kernel-regression/)).

# %%
check("Nadaraya–Watson (Gaussian) ≡ softmax attention")

# %% [markdown]
# ## 6. A two-layer MLP is attention over its own weights
#
# Write the rows of $W_1$ as keys $k_i$ and the columns of $W_2$ as values $v_i$:
#
# $$W_2\, \sigma(W_1 x + b_1) + b_2 = \sum_i \sigma(k_i^\top x + b_{1,i})\, v_i + b_2 .$$
#
# The input is the query, the "memory" is fixed after training, and an elementwise
# nonlinearity $\sigma$ takes the place of the softmax. See [the MLP as attention](../mlp-as-attention/).

# %%
check("MLP ≡ attention over its weights")

# %% [markdown]
# ## 7. Multi-head attention is single heads, concatenated
#
# [Multi-head attention](../multi-head-attention/) projects queries, keys and values once with
# $d \times d$ matrices, reshapes to $H$ heads of size $d/H$, and attends in one batched call.
# Slicing the projection matrices into $H$ blocks of rows gives $H$ independent single-head
# attentions; concatenating their outputs and applying $W_O$ gives the same result
# ([Vaswani et al.](../../entries/2017-vaswani-attention-is-all-you-need/)).

# %%
check("multi-head ≡ concatenated single heads")

# %% [markdown]
# ## 8. Multi-query attention is grouped-query attention with one group
#
# [Grouped-query attention](../grouped-query-attention/) lets $H_q / H_{kv}$ query heads share
# each key–value head. With $H_{kv} = 1$ all query heads share one, which is
# [multi-query attention](../../entries/2019-shazeer-multi-query-attention/); with
# $H_{kv} = H_q$ it is ordinary multi-head attention. The right side broadcasts the single head
# to every query head and calls PyTorch's attention.

# %%
check("multi-query ≡ grouped-query with one group")

# %% [markdown]
# ## 9. Our multi-head attention is PyTorch's
#
# `torch.nn.MultiheadAttention` stores the three input projections packed in one matrix. Copying
# its slices into our separate $W_Q, W_K, W_V$ and $W_O$ must reproduce its output, here with a
# causal mask.

# %%
check("ours ≡ nn.MultiheadAttention")

# %% [markdown]
# ## 10. Our scaled dot-product attention is PyTorch's
#
# $$\mathrm{Attention}(Q, K, V) = \mathrm{softmax}\!\Big(\frac{QK^\top}{\sqrt{d}} + M\Big) V,$$
#
# with $M$ zero where attending is allowed and $-\infty$ where it is masked, here a padding mask.
# See [scaled dot-product attention](../scaled-dot-product-attention/).

# %%
check("ours ≡ F.scaled_dot_product_attention")

# %% [markdown]
# ## 11. A scalar-decay state-space model is masked attention
#
# A selective state-space model with one decay per step, as in Mamba-2, updates a matrix state and
# reads it out:
#
# $$h_t = a_t\, h_{t-1} + B_t x_t^\top, \qquad y_t = h_t^\top C_t
#   = \sum_{s \le t} (a_{s+1} \cdots a_t)\, (C_t^\top B_s)\, x_s .$$
#
# Collect the products of decays in a lower-triangular matrix $L_{ts} = a_{s+1}\cdots a_t$ and the
# sum is one masked product, $Y = (L \circ C B^\top)\, X$: causal linear attention with queries $C$,
# keys $B$, values $X$ and the mask $L$. This direction runs the recurrence step by step on one side
# and, on the other, builds $L$ from the same decays and multiplies
# ([state-space duality](../state-space-duality/); Dao and Gu, 2024).

# %%
check("SSM recurrence ≡ masked attention (L ∘ CBᵀ)X")

# %% [markdown]
# ## 12. Masked attention with a semiseparable mask is a state-space model
#
# The other direction starts from attention. Take causal linear attention $(L \circ QK^\top)V$ under
# a mask with $L_{ts} = e^{c_t - c_s}$ for $s \le t$, where $c$ never increases. Every block of such
# a mask below the diagonal has rank one (it is $e^{c_t}$ times $e^{-c_s}$); such masks are called
# 1-semiseparable. Neighbouring entries give the decays, $a_t = L_{t,t-1} = e^{c_t - c_{t-1}}$, and
# then $L_{ts} = a_{s+1}\cdots a_t$ holds for every pair, so the attention is the recurrence of
# section 11 with $C = Q$, $B = K$ and $X = V$. This side reads the decays off the mask's subdiagonal,
# nothing else, and runs the recurrence.

# %%
check("semiseparable masked attention ≡ SSM recurrence")
