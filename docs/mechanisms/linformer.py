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
# # Linformer: attention over a shortened sequence
#
# In [scaled dot-product attention](../scaled-dot-product-attention/) every one of $n$ positions
# mixes the values of all $n$ positions with weights
#
# $$P = \mathrm{softmax}\!\left(\frac{QK^\top}{\sqrt d}\right) \in \mathbb R^{n \times n},$$
#
# and both the matrix and the work grow with $n^2$. Wang and colleagues
# ([Linformer](../../entries/2020-wang-linformer/)) start from an observation about trained
# Transformers: the spectrum of $P$ is concentrated in a few large singular values, so $P$ is
# close to a matrix of low rank. If the mixing is low rank anyway, it can be done through a
# bottleneck. Two projections $E, F \in \mathbb R^{k \times n}$ shorten the *sequence axis* of the
# keys and values to a fixed length $k$:
#
# $$\bar K = E K, \qquad \bar V = F V, \qquad
#   \mathrm{output} = \underbrace{\mathrm{softmax}\!\left(\frac{Q \bar K^\top}{\sqrt d}\right)}_{\bar P\ \in\ \mathbb R^{n \times k}} \bar V .$$
#
# Each row of $E$ builds one "summary key" as a weighted sum over all positions. The weights
# matrix is $n \times k$, so for a fixed $k$ time and memory are linear in $n$. The output is
# $\bar P F V$: the $n \times n$ mixing matrix $P$ has been replaced by $\bar P F$, of rank at most
# $k$. With $k = n$ and $E = F = I$ nothing changes, which the tests check against torch's
# `scaled_dot_product_attention` and `nn.MultiheadAttention`.
#
# In the paper $E$ and $F$ are learned, and can be shared between heads and layers; the module
# below learns one pair per layer, shared by its heads. Because $E$ has a column for every
# position, the sequence length is fixed, and every summary key sees the whole sequence, so
# the method does not give causal (left-to-right) attention as it stands.
#
# Compare [Performer](../performer/), which keeps every position but approximates the softmax
# kernel with random features, [Reformer](../reformer-lsh/), which restricts each query to
# keys that hash alike, and [FlashAttention](../flash-attention/), which computes exact
# attention without storing $P$.

# %% [markdown]
# ## Running it
#
# The demo has no trained model, so instead of learned projections it uses one fixed, simple
# choice: $E = F =$ segment means, where summary key $r$ is the average of $n/k$ consecutive
# keys. It compares two kinds of input of length $n = 256$: independent random tokens, and
# "smooth" tokens that change slowly along the sequence (random mixtures of a few low
# frequencies), a crude stand-in for the redundancy of real sequences. For each it prints the
# singular values of $P$, the share of $\|P\|_F^2$ in the top $k$ of them, and the relative error
# of the Linformer output against full attention as $k$ grows.

# %%
from _setup import heatmap, show_figure
import runnable.linformer as mechanism
import matplotlib.pyplot as plt

result = mechanism.demo("cpu")
figure, (left, right) = plt.subplots(1, 2, figsize=(9, 3.2))
for name, spectrum in result["spectrum"].items():
    left.semilogy(range(1, len(spectrum) + 1), spectrum.clamp_min(1e-12).numpy(), label=name)
    line, = right.semilogx(result["k"], result["errors"][name], "o-", label=name)
    right.axhline(result["uniform"][name], color=line.get_color(), linestyle=":")
left.set_xlabel("index $r$")
left.set_ylabel("singular value $\\sigma_r(P)$")
left.set_title("spectrum of the attention matrix")
left.legend()
right.set_xlabel("projected length $k$")
right.set_ylabel("relative error of the output")
right.set_title("Linformer, $E = F$ = segment means")
right.legend()
show_figure("Two charts: left, the singular values of the attention matrix on a log scale; right, the relative error of Linformer's output against the projected length k.")

# %% [markdown]
# Even for random tokens the singular values fall. Every row of $P$ sums to 1, so $P$ maps the
# all-ones vector to itself and the largest singular value is at least 1, several times the
# next; the 64th is under a tenth of it. But the tail is long, and segment means cannot find it: for random tokens a
# small $k$ does no better than uniform weights (the dotted lines). For smooth tokens $P$ is
# almost exactly of rank 16, and averaging neighbouring keys and values loses almost nothing
# from $k = 16$ on. Learned projections are what let a real model find its own bottleneck; this
# demo only shows that the bottleneck costs little when the sequence has the structure for it.
#
# ## The weights are $n \times k$
#
# Attention weights of one head for a learned-projection layer (untrained): each of the 32
# positions distributes its attention over 8 summary keys, not over 32 positions.

# %%
import torch

torch.manual_seed(0)
layer = mechanism.LinformerSelfAttention(d_model=16, heads=2, seq_len=32, k=8)
with torch.no_grad():
    out, weights = layer(torch.randn(1, 32, 16))
print(f"input (1, 32, 16) → output {tuple(out.shape)}, weights {tuple(weights.shape)} (batch, heads, n, k)")
heatmap(weights[0, 0, :12].numpy(), xlabels=range(8), ylabels=range(12), xlabel="summary key",
        ylabel="position (first 12)", title=r"$\bar P$, head 0",
        alt="Heatmap of the projected attention weights of head 0: the first 12 positions over the 8 summary keys.")
