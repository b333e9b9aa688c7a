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
# # FlashAttention-2 in Triton: the fused kernel
#
# [Tiled attention](../flash-attention/) computes exact attention one $B_r \times B_c$ tile of
# scores at a time, with an online softmax, and never holds the $L_q \times L_k$ matrix. Written
# as a Python loop it is exact and small in memory but slow: every tile is a separate round trip
# through the GPU's main memory and a handful of kernel launches. The speed of
# [FlashAttention](../../entries/2022-dao-flashattention/) comes from running that whole loop
# *inside one kernel*: a program loads a tile of queries into on-chip memory once, streams the
# keys and values past it, and writes only the output and one number per row back.
#
# This page is that kernel, written in [Triton](https://triton-lang.org/), a Python-embedded
# language for GPU kernels in which one *program* handles one block of data and the compiler
# decides how threads share it. It follows [FlashAttention-2](../../entries/2023-dao-flashattention-2/)
# (Dao, 2023): Algorithm 1 for the forward pass, Algorithm 2 for the backward pass, in the
# paper's notation, with the layout of Triton's own "Fused Attention" tutorial (a separate
# kernel for $dQ$ instead of atomic additions). The tests check the output, the log-sum-exp and
# all three gradients against naive attention and PyTorch's `scaled_dot_product_attention`.
#
# ## Where the kernel runs when this page is built
#
# On a CUDA GPU, Triton compiles each kernel to machine code. Without one, Triton's
# *interpreter* (what `TRITON_INTERPRET=1` selects) runs the same source with NumPy, one program
# after another: far too slow to time, but it executes exactly the code shown below, so the
# site's build and the tests on CPU check the real kernel. Triton settles the mode when it is
# first imported, so the module asks for the interpreter before importing `triton` whenever
# PyTorch finds no CUDA device.

# %%
from _setup import heatmap
import runnable.flash_attention_triton as mechanism
import torch
import triton

where = "Triton's interpreter (CPU, float32)" if mechanism.INTERPRETED else f"compiled for {torch.cuda.get_device_name()}"
print(f"triton {triton.__version__}, torch {torch.__version__}: kernels run in {where}")

# %% [markdown]
# ## Exponentials in base 2
#
# A GPU evaluates $2^x$ in one instruction; $e^x$ costs a multiplication more. Since
# $e^x = 2^{x \log_2 e}$, the kernels fold $\log_2 e$ into the softmax scale once,
# $S' = (\tau \log_2 e)\, Q K^\top = S \log_2 e$, and keep the running maximum in the same
# units, $m' = m \log_2 e$. Then
#
# $$e^{S - m} = 2^{S' - m'}, \qquad e^{m_\text{old} - m_\text{new}} = 2^{m'_\text{old} - m'_\text{new}},$$
#
# so every `tl.exp2` in the kernels is exactly the paper's $\exp$, and the softmax scale and the
# change of base cost one multiplication per score together. At the end the log-sum-exp goes
# back to natural logarithms, $L = \ln 2\,(m' + \log_2 \ell)$, which is what
# `torch.logsumexp` of the scaled scores returns.
#
# ## The forward pass (Algorithm 1)
#
# One program per tile row $i$: $B_r$ query rows of one (batch, head). It loads $Q_i$ once and
# keeps it, with three running quantities per row: the maximum $m_i$, the normaliser $\ell_i$
# and the unnormalised output $O_i$ (float32, whatever the inputs). Then, for each key tile $j$:
#
# | kernel line | Algorithm 1 |
# |---|---|
# | `s = scaled_scores(q, k, ...)` | $S_i^{(j)} = \tau Q_i K_j^\top$ (in base-2 units), $-\infty$ where masked |
# | `m_new = tl.maximum(m, tl.max(s, 1))` | $m_i^{(j)} = \max\big(m_i^{(j-1)}, \operatorname{rowmax} S_i^{(j)}\big)$ |
# | `p = tl.exp2(s - m_new[:, None])` | $\tilde P_i^{(j)} = \exp\big(S_i^{(j)} - m_i^{(j)}\big)$ |
# | `alpha = tl.exp2(m - m_new)` | $e^{m_i^{(j-1)} - m_i^{(j)}}$ |
# | `ell = alpha * ell + tl.sum(p, 1)` | $\ell_i^{(j)} = e^{m_i^{(j-1)} - m_i^{(j)}}\,\ell_i^{(j-1)} + \operatorname{rowsum} \tilde P_i^{(j)}$ |
# | `acc = acc * alpha[:, None] + tl.dot(p.to(v.dtype), v)` | $O_i^{(j)} = \operatorname{diag}\big(e^{m_i^{(j-1)} - m_i^{(j)}}\big) O_i^{(j-1)} + \tilde P_i^{(j)} V_j$ |
# | `store_tile(O, ..., acc / ell[:, None], ...)` | $O_i = \operatorname{diag}(\ell_i^{(T_c)})^{-1} O_i^{(T_c)}$ |
# | `tl.store(L + ..., (m + tl.log2(ell)) * LN_2)` | $L_i = m_i^{(T_c)} + \log \ell_i^{(T_c)}$ |
#
# Two of FlashAttention-2's changes to the original algorithm are visible here. The output stays
# unnormalised inside the loop and is divided by $\ell_i$ once, after it; and only $L_i$ is
# saved for the backward pass, not $m_i$ and $\ell_i$ separately. A third, parallelising over
# tile rows as well as batch and heads, is the launch grid: `(⌈L_q / B_r⌉, B·H)` programs. The
# fourth, how the warps of one program share its tile (FlashAttention-2 splits the queries among
# them, not the keys), is left to Triton's compiler, which lays out each tile over the warps. The
# weights $\tilde P$ are cast to the input precision before their product with $V$, so on a GPU
# both matrix products of the loop run on tensor cores in float16 or bfloat16 and accumulate in
# float32.
#
# With a causal mask, the loop stops at the diagonal: key tiles wholly in the future of the tile
# row are never loaded. (`triton.jit` wraps each kernel in an object that Triton launches; `.fn`
# is the Python function inside. Every kernel's source is shown, definition by definition, under
# The implementation below.)

# %% [markdown]
# Three small device functions, inlined by the compiler into every kernel that calls them, keep
# the kernels to the algorithm. The tensors are contiguous, so one head's $Q$ is an $L_q \times d$
# slab and a tile of rows is a block of pointers; lengths need not be multiples of the tiles, so
# loads past the end read zeros and stores past it are dropped. `scaled_scores` computes the
# scores of a tile and masks them: $-\infty$, whose weight $e^{-\infty}$ is exactly zero, for
# keys in a query's future and for the padding keys of a ragged last tile. `CAUSAL` and
# `RAGGED_K` are compile-time constants (`tl.constexpr`), so full attention over a multiple of
# $B_c$ keys compiles with no mask at all.

# %% [markdown]
# For causal attention, each tile row visits only the key tiles up to the diagonal. Below, for
# 8 tile rows and columns of equal size: tiles the kernel skips (0), tiles it computes with the
# mask (1, on the diagonal) and tiles it computes without masking anything out (2). Nearly half
# the work of full attention is never done.

# %%
rows_of_tiles = 8
visited = torch.zeros(rows_of_tiles, rows_of_tiles)
for i in range(rows_of_tiles):
    for j in range(i + 1):  # the loop's end, min(L_k, (i + 1)·B_r), with B_r = B_c
        visited[i, j] = 1 if j == i else 2
print(f"tiles computed: {int((visited > 0).sum())} of {rows_of_tiles ** 2}")
heatmap(visited.numpy(), xlabel="key tile j", ylabel="query tile i", title="causal: skipped 0, masked 1, full 2",
        alt="An 8 by 8 grid of tiles: the upper triangle is skipped (0), the diagonal computed with the mask (1), the lower triangle computed in full (2).")

# %% [markdown]
# ## The backward pass (Algorithm 2)
#
# The gradient needs the weights $P = \operatorname{softmax}(S)$ again, and storing them would
# bring back the $L_q \times L_k$ matrix the forward pass avoided. FlashAttention recomputes them
# tile by tile instead, and the saved log-sum-exp makes that a single exponential with no
# running maximum: $P_i^{(j)} = \exp\big(S_i^{(j)} - L_i\big)$ is the softmax exactly.
#
# The softmax's own backward needs, for each row, $\sum_j P_{ij}\, dP_{ij}$, where
# $dP = dO\, V^\top$. That sum equals $D_i = \operatorname{rowsum}(dO_i \circ O_i)$, because
# $O_i = \sum_j P_{ij} V_j$, and $D$ needs only $O$ and $dO$, both of length $L_q \times d$.
# A small preprocessing kernel computes it first.

# %% [markdown]
# The main kernel of Algorithm 2 gives one program to each key tile $j$. It keeps $K_j$ and
# $V_j$ on chip, with float32 accumulators for $dK_j$ and $dV_j$, and loops over the query tiles
# that can see it (with a causal mask, those from the diagonal on):
#
# | kernel line | Algorithm 2 |
# |---|---|
# | `p = tl.exp2(s - lse[:, None] * LOG2_E)` | $P_i^{(j)} = \exp\big(S_i^{(j)} - L_i\big)$ |
# | `dv += tl.dot(tl.trans(p.to(do.dtype)), do)` | $dV_j \mathrel{+}= (P_i^{(j)})^\top dO_i$ |
# | `dp = tl.dot(do, tl.trans(v))` | $dP_i^{(j)} = dO_i V_j^\top$ |
# | `ds = p * (dp - delta[:, None])` | $dS_i^{(j)} = P_i^{(j)} \circ \big(dP_i^{(j)} - D_i\big)$ |
# | `dk += tl.dot(tl.trans(ds.to(q.dtype)), q)` | $dK_j \mathrel{+}= (dS_i^{(j)})^\top Q_i$ |
# | `dk * scale` at the store | the softmax scale: $S = \tau Q K^\top$ gives $dK = \tau\, dS^\top Q$ |
#
# Rows past $L_q$ in a ragged last query tile read zeros for $Q_i$, $dO_i$, $L_i$ and $D_i$;
# with $dO_i = 0$ and $D_i = 0$ their $dS$ and their share of $dV_j$ vanish, so no row mask is
# needed here.

# %% [markdown]
# In the paper, the same loop also adds $dS_i^{(j)} K_j$ into $dQ_i$ in main memory, with atomic
# additions, because many key-tile programs contribute to each $dQ_i$. Here, as in Triton's
# tutorial, $dQ$ has a kernel of its own, one program per query tile looping over key tiles: it
# recomputes $S$ and $dP$ once more (seven matrix products per tile in the backward pass instead
# of five), but each $dQ_i$ is written once, by one program, so the result does not depend on the
# order in which programs finish.

# %% [markdown]
# ## From PyTorch
#
# A `torch.autograd.Function` ties the kernels to autograd: the forward launches
# `flash_forward_kernel` and saves $Q, K, V, O, L$ (never $P$); the backward launches the three
# backward kernels. `flash_attention` checks its inputs (all problems at once) and is the
# function the tests and the benchmark call. Tile sizes default to $128 \times 64$ (forward) and
# $64 \times 64$ (backward) on CUDA, common choices for FlashAttention-2 in Triton that have not
# been tuned on a GPU here, and $64 \times 64$ in the interpreter, which pays per operation rather
# than per element.

# %% [markdown]
# ## Running it
#
# Forward and backward, full and causal, against naive attention computed in float64 from the
# same inputs: the output $O$, the log-sum-exp $L$ and the three gradients. The length, 100, is
# not a multiple of the $32 \times 32$ tiles, so the last tile of each pass is ragged. In
# float32 the kernels agree with the reference to rounding, about $10^{-6}$.

# %%
result = mechanism.demo("cpu" if mechanism.INTERPRETED else "cuda")

# %% [markdown]
# ## How fast
#
# The point of the kernel is speed on a GPU, and the interpreter says nothing about that.
# `python -m scripts.bench_attention --device cuda` adds it to [the cost of
# attention](../cost-of-attention/): forward time and peak memory from 256 to 16,384 tokens in
# float16, beside `scaled_dot_product_attention` restricted to its FlashAttention backend. The
# target on an H100 or H200 is a forward pass within 1.5× of that backend's time from 4,096 to
# 16,384 tokens, with memory growing linearly in length. **Those figures have not been measured
# yet**: no GPU was available when this kernel was written, so they wait for a run on a machine
# with one. On CPU the benchmark leaves the kernel out, since the interpreter's time measures
# NumPy, not the algorithm.
