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
# # The cost of attention
#
# Softmax attention compares every query with every key, so a sequence of $L$ tokens costs
# $O(L^2)$ time, and the naive implementation stores the $L \times L$ score matrix, so it costs
# $O(L^2)$ memory too. This page plots what that means on real hardware for four
# implementations on this site:
#
# - **naive**: scores, softmax and weighted sum, each a full matrix
#   ([`naive_attention`](../flash-attention/));
# - **tiled**: the same exact result computed in $512 \times 512$ tiles with an online softmax,
#   so only one tile of scores exists at a time ([tiled attention](../flash-attention/));
# - **linear**: [linear attention](../linear-attention/) with the $\mathrm{elu}+1$ feature map,
#   a different (not softmax) attention whose cost is linear in $L$;
# - **sdpa**: PyTorch's fused `scaled_dot_product_attention`, which picks a memory-efficient
#   kernel where it has one.
#
# On CUDA the benchmark also times, in float16, our [FlashAttention-2 kernel in
# Triton](../flash-attention-triton/) (**triton-fp16**) against `scaled_dot_product_attention`
# restricted to its FlashAttention backend (**sdpa-flash-fp16**). On CPU it leaves them out: the
# Triton kernel runs there only in Triton's interpreter, whose time measures NumPy, not the
# algorithm.
#
# The figures are files in the repository, written by
#
# ```
# python -m scripts.bench_attention                 # CPU
# python -m scripts.bench_attention --device cuda   # GPU
# ```
#
# Times are medians of at least five calls (about a second of calls each); peak memory is what one
# call needs above its inputs (on CUDA from PyTorch's allocator, on CPU the growth of a fresh
# process's peak resident memory). The site build draws these files; it does not rerun them.

# %%
import csv
import pathlib

import matplotlib.pyplot as plt

results = pathlib.Path("results")
runs = {}
for path in sorted(results.glob("attention-cost-*.csv")):
    rows = list(csv.DictReader(path.open()))
    runs[path.stem.removeprefix("attention-cost-")] = rows
    print(f"{path.name}: {rows[0]['device']}, torch {rows[0]['torch']}, {rows[0]['heads']} head(s) of size {rows[0]['head_dim']}")

# %%
from _setup import show_figure
METHODS = ("naive", "tiled", "linear", "sdpa", "triton-fp16", "sdpa-flash-fp16")


def curve(rows, method, field):
    points = [(int(r["length"]), float(r[field])) for r in rows if r["method"] == method]
    return [p[0] for p in points], [p[1] for p in points]


def measured(rows):
    return [method for method in METHODS if any(r["method"] == method for r in rows)]


for kind, rows in runs.items():
    figure, (left, right) = plt.subplots(1, 2, figsize=(9, 3.4))
    for method in measured(rows):
        lengths, seconds = curve(rows, method, "seconds")
        left.plot(lengths, [s * 1e3 for s in seconds], marker="o", label=method)
        lengths, peaks = curve(rows, method, "peak_bytes")
        right.plot(lengths, [max(p, 1) / 2 ** 20 for p in peaks], marker="o", label=method)
    for axis, label in ((left, "time per call (ms)"), (right, "peak extra memory (MiB)")):
        axis.set_xscale("log", base=2)
        axis.set_yscale("log")
        axis.set_xlabel("sequence length $L$")
        axis.set_ylabel(label)
    left.legend(frameon=False)
    figure.suptitle(rows[0]["device"])
    show_figure("Two log-scale line charts per device: time in milliseconds and peak memory in MiB against sequence length, one line per attention method.")

# %% [markdown]
# ## What the curves say
#
# On a log–log plot a straight line of slope 1 is linear growth and slope 2 quadratic. The table
# reads the slopes between 2,048 and the longest length measured, the tiled form's memory as a
# share of the naive form's at 8,192 tokens (the target is at most one eighth), and our
# [multi-head attention](../multi-head-attention/) against `torch.nn.MultiheadAttention` at
# $d = 512$, 8 heads, 1,024 tokens (target: within 1.5× on CPU), and on CUDA the Triton kernel's
# forward time against PyTorch's FlashAttention backend (target: within 1.5× from 4,096 to 16,384
# tokens on an H100 or H200). Ours always returns every
# head's weights, so the like-for-like comparison asks PyTorch for them too; PyTorch's fused
# path, which skips the weights, is listed beside it.

# %%
import math

for kind, rows in runs.items():
    seconds = {(r["method"], int(r["length"])): float(r["seconds"]) for r in rows}
    peaks = {(r["method"], int(r["length"])): float(r["peak_bytes"]) for r in rows if r["peak_bytes"]}
    top = max(length for method, length in peaks if method == "linear")
    print(f"{rows[0]['device']}:")
    for method in measured(rows):
        slope = math.log(seconds[(method, top)] / seconds[(method, 2048)]) / math.log(top / 2048)
        print(f"  {method:>7}: time grows as L^{slope:.2f} between 2,048 and {top:,} tokens")
    share = peaks[("tiled", 8192)] / peaks[("naive", 8192)]
    print(f"  tiled peak memory at 8,192 tokens = {share:.3f} × naive's ({'within' if share <= 1 / 8 else 'above'} 1/8)")
    ours, theirs, fused = (seconds[(f"mha-{who}", 1024)] for who in ("ours", "torch", "torch-fused"))
    print(f"  multi-head attention: ours {ours * 1e3:.1f} ms, torch {theirs * 1e3:.1f} ms "
          f"(ratio {ours / theirs:.2f}), torch fused without weights {fused * 1e3:.1f} ms (ratio {ours / fused:.2f})")
    if kind == "cuda" and "triton-fp16" not in measured(rows):
        print("  Triton FlashAttention-2 kernel: not measured yet (this file predates it; it waits for a GPU run)")
    for length in (4096, 8192, 16384):
        if ("triton-fp16", length) in seconds:
            ratio = seconds[("triton-fp16", length)] / seconds[("sdpa-flash-fp16", length)]
            print(f"  Triton FlashAttention-2 ÷ torch's flash backend at {length:,} tokens: {ratio:.2f} (target ≤ 1.5)")
