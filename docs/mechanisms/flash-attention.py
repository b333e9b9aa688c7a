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
# # FlashAttention: exact attention in tiles
#
# Softmax attention for a query $q_i$ over keys $k_1, \dots, k_{L_k}$ is
#
# $$s_{ij} = \tau\, q_i^\top k_j, \qquad
#   o_i = \frac{\sum_j e^{s_{ij}} v_j}{\sum_j e^{s_{ij}}},$$
#
# with $\tau = 1/\sqrt d$ as in [scaled dot-product attention](../scaled-dot-product-attention/).
# Written this way it seems to need the whole row $s_{i1}, \dots, s_{iL_k}$ before anything
# can be normalised, so the textbook implementation builds the $L_q \times L_k$ score matrix,
# exponentiates it, normalises it and multiplies it with $V$. For long sequences that matrix
# dominates memory, and on a GPU the time goes into writing it to main memory and reading it back.
#
# ## The online softmax
#
# The numerically safe softmax subtracts the row maximum before exponentiating. Milakov and
# Gimelshein ([online normaliser](../../entries/2018-milakov-online-softmax/)) noticed that the
# maximum and the sum can be built up together in one pass: keep a running maximum $m$ and a
# running sum $\ell$ of $e^{s_j - m}$, and whenever a new score raises the maximum, shrink what
# has been summed so far by $e^{m_\text{old} - m_\text{new}}$. The same correction works for a
# weighted sum of values. Processing keys in blocks, each query row carries $(m, \ell, a)$ and a
# block of scores $s$ updates them:
#
# $$m' = \max\big(m, \max_j s_j\big), \qquad
#   \ell' = e^{m - m'}\,\ell + \sum_j e^{s_j - m'}, \qquad
#   a' = e^{m - m'}\,a + \sum_j e^{s_j - m'}\, v_j .$$
#
# After the last block, $o = a / \ell$ and $\log \sum_j e^{s_j} = m + \log \ell$. Nothing is
# approximated: the result is the softmax, exactly, up to the order of floating-point additions.
# Every exponent is at most zero, so scores in the thousands cannot overflow.
#
# Rabe and Staats ([self-attention does not need $O(n^2)$ memory](../../entries/2021-rabe-staats-memory-efficient-attention/))
# made the point for attention: move the division to the end, read keys and values in chunks,
# and the memory needed no longer grows with the square of the length.
# [FlashAttention](../../entries/2022-dao-flashattention/) turned it into a GPU kernel: tiles
# of $Q$, $K$ and $V$ are loaded into fast on-chip memory, the scores of a tile are used there
# and discarded, and only the output and the per-row softmax statistics (kept so that the
# backward pass can recompute the weights) go back to main memory.
#
# ## Two loop orders
#
# The two papers tile the same computation in different orders, and the order decides what
# crosses between main memory (HBM) and the chip.
#
# **FlashAttention** (2022, Algorithm 1) puts the key/value blocks $K_j, V_j$ in the *outer* loop
# and the query blocks $Q_i$ in the inner one. A query block's running output $O_i$ and its
# statistics $\ell_i, m_i$ therefore cannot stay on chip: every inner step reads them from main
# memory, folds in the tile $S_{ij} = \tau Q_i K_j^\top$ and writes them back, keeping $O_i$
# normalised:
#
# $$O_i \leftarrow \operatorname{diag}(\ell_i^\text{new})^{-1}\big(\operatorname{diag}(\ell_i)\,
#   e^{m_i - m_i^\text{new}} O_i + e^{\tilde m_{ij} - m_i^\text{new}}\, \tilde P_{ij} V_j\big).$$
#
# **FlashAttention-2** ([2023](../../entries/2023-dao-flashattention-2/), Algorithm 1) swaps the
# loops: query blocks outside, key/value blocks inside. $O_i, \ell_i, m_i$ stay on chip for the
# whole inner loop, $O_i$ is kept unnormalised (one rescaling by $e^{m^{(j-1)} - m^{(j)}}$ per
# step), divided by $\ell_i$ once at the end and written once, with the log-sum-exp for the
# backward pass. Fewer operations outside the matrix products (which run far slower than the
# tensor cores' matmuls) and fewer writes of $O$ are one reason it is faster; the others,
# parallelism over the sequence and the split of work between warps, are GPU scheduling that
# Python cannot show.
#
# ## What plain PyTorch can and cannot show
#
# The module implements both: `flash_attention_1` and `flash_attention_2` (also exported as
# `tiled_attention`), one $b_q \times b_k$ tile of scores at a time. PyTorch does not let Python
# code choose on-chip memory, so each tile still passes through main memory and these loops are
# far *slower* than a fused kernel. What they do show is the exactness, the memory bound (no
# tensor larger than a tile or a sequence of vectors) and, counted as each algorithm would move
# it, the main-memory traffic. With causal masking, tiles entirely in the future are skipped.
#
# Other ways to make attention cheap change the mathematics instead:
# low-rank projections ([Linformer](../linformer/)), random features
# ([Performer](../performer/), [linear attention](../linear-attention/)) or hashing
# ([Reformer](../reformer-lsh/)). FlashAttention computes the same function as the
# [multi-head attention](../multi-head-attention/) of the Transformer.

# %% [markdown]
# ## Running it
#
# Causal self-attention for growing lengths $L$, tiled against the naive form. The probe
# `LargestTensor` watches every operation PyTorch runs and records the largest tensor any of
# them returns: a measure of working memory that does not depend on the device.

# %%
from _setup import heatmap, show_figure
import runnable.flash_attention as mechanism
import matplotlib.pyplot as plt

result = mechanism.demo("cpu")
figure, axis = plt.subplots(figsize=(5, 3.2))
axis.loglog(result["lengths"], result["naive_peak"], "o-", label="naive: the $L \\times L$ scores")
axis.loglog(result["lengths"], result["tiled_peak"], "s-", label="tiled: the $L \\times d$ output")
axis.axhline(result["block"] ** 2, color="grey", linestyle=":", label="one score tile")
axis.set_xlabel("sequence length $L$")
axis.set_ylabel("largest tensor (elements)")
axis.legend()
show_figure("Log-log line chart of the largest tensor held against sequence length: the naive L by L scores grow quadratically, the tiled output linearly, with the size of one score tile as a dotted line.")

# %% [markdown]
# ## What each loop order moves
#
# Both functions accept a `Traffic()` counter and add to it, per batch·head, the elements they
# read from and write to main memory as the papers' algorithms do, and the number of times an
# output element is scaled outside a matrix product. The tests check these counts against closed
# forms (`traffic_closed_form`). Here $L = 4096$, $d = 64$, blocks of $128$: both read $K$ and $V$
# and produce the same output, but FlashAttention writes $O$, $\ell$ and $m$ back after every one of
# the 32 key blocks.

# %%
import torch

q, k, v = (torch.randn(1, 4096, 64) for _ in range(3))
counts = {"FlashAttention": mechanism.Traffic(), "FlashAttention-2": mechanism.Traffic()}
out_1 = mechanism.flash_attention_1(q, k, v, 128, 128, traffic=counts["FlashAttention"])
out_2 = mechanism.flash_attention_2(q, k, v, 128, 128, traffic=counts["FlashAttention-2"])
print(f"max |FA-1 - FA-2| = {(out_1 - out_2).abs().max().item():.1e}")
print(f"{'':>17} {'HBM reads':>12} {'HBM writes':>12} {'scalings of O':>15}   (elements)")
for name, count in counts.items():
    print(f"{name:>17} {count.reads:>12,} {count.writes:>12,} {count.output_scalings:>15,}")
assert counts == mechanism.traffic_closed_form(4096, 4096, 64, 64, 128, 128)

# %% [markdown]
# ## The online softmax on its own
#
# One row of scores read in blocks of four. After each block the running maximum and normaliser
# describe the softmax of everything seen so far; the last pair gives the whole row's softmax.

# %%
import torch

scores = torch.tensor([1.0, 3.0, 0.5, 2.0, 7.0, 1.0, 6.5, 0.0, 9.0, 8.0, 2.0, 1.0])
for n in range(4, 13, 4):
    m, ell = mechanism.online_softmax(scores[:n].split(4))
    print(f"after {n:>2} scores: m = {m.item():.1f}, ℓ = {ell.item():.4f}, "
          f"m + log ℓ = {(m + ell.log()).item():.4f}  (torch.logsumexp: {scores[:n].logsumexp(0).item():.4f})")
print("softmax from (m, ℓ):", [round(x, 4) for x in (torch.exp(scores - m) / ell).tolist()])
print("torch.softmax:      ", [round(x, 4) for x in torch.softmax(scores, 0).tolist()])
