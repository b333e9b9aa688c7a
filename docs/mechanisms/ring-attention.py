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
# # Ring attention
#
# [FlashAttention](../flash-attention/) removed the $L \times L$ score matrix from attention's
# memory, but one device still has to hold the queries, keys, values and outputs of every position,
# and the activations of every layer. For a context of millions of tokens no single accelerator is
# large enough. Liu, Zaharia and Abbeel (2023) split the *sequence* itself across $P$ devices, which
# they arrange in a ring.
#
# Host $p$ keeps the queries of one contiguous shard of the sequence and, at the start, that
# shard's keys and values. Attention for its queries needs every key, so the key/value blocks move
# instead of the queries: at each of $P$ steps every host attends with its queries to the block it
# currently holds, sends that block on to host $p + 1$ and receives the next one from host $p - 1$.
# After $P$ steps each block has visited each host once. Host $p$ merges the blocks as they arrive
# with the online softmax, the running statistics that [FlashAttention](../flash-attention/) keeps per
# tile:
#
# $$m' = \max\big(m, \max_j s_j\big), \quad
#   \ell' = e^{m - m'}\,\ell + \sum_j e^{s_j - m'}, \quad
#   a' = e^{m - m'}\,a + \sum_j e^{s_j - m'} v_j, \qquad o = a / \ell .$$
#
# Nothing is approximated, and the order in which blocks arrive does not matter. If sending a block
# takes no longer than attending to one, the transfer can run while the host computes, and the
# communication adds no time. Each host's memory is its own shard plus the blocks in
# transit, so the context that fits grows in proportion to the number of hosts. The paper builds on
# the authors' *blockwise parallel transformer*, which computes both attention and the feedforward
# network block by block.
#
# With a causal mask, a block from a later shard is entirely in the future of host $p$'s queries:
# the host passes it on without computing with it. (That leaves the early hosts idle for most of the
# steps; later systems reorder the shards to balance the work.)
#
# The module simulates the ring on one device, and also runs it on $P$ separate processes that
# talk through `torch.distributed` (the gloo backend, on CPU), posting each send and receive before
# the step's arithmetic. The tests check both against naive attention, with and without the causal
# mask, and the simulated ring's gradients too.

# %% [markdown]
# ## Running it
#
# Which block each of four hosts holds at each step, then the simulated ring against naive
# attention.

# %%
from _setup import show_figure
import runnable.ring_attention as mechanism
import matplotlib.pyplot as plt
import numpy as np

result = mechanism.demo("cpu")
assert all(error < 1e-5 for error in result["errors"].values())
schedule = np.array(mechanism.ring_schedule(4))
figure, axis = plt.subplots(figsize=(4.2, 3.2))
axis.imshow(schedule, cmap="tab10", vmin=0, vmax=9)
for step in range(4):
    for host in range(4):
        future = schedule[step, host] > host
        axis.text(host, step, f"K,V{schedule[step, host]}" + ("\n(skipped)" if future else ""),
                  ha="center", va="center", color="white", fontsize=7)
axis.set_xticks(range(4), [f"host {p}" for p in range(4)])
axis.set_yticks(range(4), [f"step {s}" for s in range(4)])
axis.set_title("the block each host holds (causal: future blocks skipped)")
show_figure("A 4 by 4 grid of steps against hosts. Each cell names the key-value block the host holds at that step: "
            "host p holds block p minus s modulo 4 at step s, so each block moves one host to the right per step. "
            "Cells where the block comes from a later shard are marked skipped under the causal mask: "
            "three for host 0, two for host 1, one for host 2, none for host 3.")

# %% [markdown]
# ## Memory per host
#
# `LargestTensor` (from the FlashAttention page) records the largest tensor any operation creates.
# For 1,024 positions the naive form builds the whole $L \times L$ score matrix; on $P$ hosts each
# step only scores one shard's queries against one block, $(L/P)^2$ numbers.

# %%
import torch
from runnable.flash_attention import LargestTensor

q, k, v = torch.randn(3, 1, 1, 1024, 32).unbind(0)
with LargestTensor() as naive:
    torch.softmax(q @ k.transpose(-2, -1) / 32 ** 0.5, -1) @ v
print(f"naive: largest tensor {naive.numel:,} numbers")
hosts, largest = [2, 4, 8, 16], []
for P in hosts:
    with LargestTensor() as probe:
        mechanism.ring_attention(q, k, v, P)
    largest.append(probe.numel)
    print(f"P = {P:>2}: largest tensor {probe.numel:>9,} numbers ((L/P)² = {(1024 // P) ** 2:,}; the output L·d = {1024 * 32:,})")

# %% [markdown]
# From $P = 8$ on, the largest tensor is no longer a block of scores but the output and inputs
# themselves, which in this simulation all live on one device; on real hosts those are split $P$
# ways as well. What the simulation cannot show is time: whether the transfers really hide behind
# the arithmetic depends on the interconnect's bandwidth and the block size, which the paper works
# out for its TPU and GPU clusters.
