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
# # PagedAttention: the KV cache in blocks
#
# A model that answers many users at once keeps, for every request in flight, the keys and values
# of all its tokens in every layer (the [KV cache](../transformer-block/)). How much room a request
# will need is unknown when it starts: that depends on when it stops generating. Serving systems
# before vLLM gave each request one contiguous buffer sized for the longest possible output.
# Everything it did not end up using was reserved for nothing, and because the buffers were
# contiguous, the gaps between them could not be handed to anyone else either.
#
# Kwon et al. (2023) took the fix from operating systems, which face the same problem with
# processes and physical memory. **PagedAttention** cuts the cache into *blocks* of $b$ tokens.
# All blocks live in one pool, and a free list says which are unused. Each sequence owns a
# *block table*: its tokens $nb, \dots, nb + b - 1$ are in physical block $\text{table}[n]$, which
# can be anywhere in the pool. A sequence takes a new block only when its last one is full, so it
# wastes fewer than $b$ slots, and a finished sequence returns its blocks to the free list at once.
#
# The attention kernel follows the table. Since attention is a weighted sum over keys, it can be
# accumulated one block at a time with the same running maximum and normaliser that
# [FlashAttention](../flash-attention/) uses for its tiles, and the result is the attention over
# the contiguous cache, up to the order of the additions. Blocks can also be shared: two samples
# drawn from one prompt point at the same prompt blocks, and a shared block that one of them is
# about to write into is copied first (copy-on-write), as pages are after a `fork`.

# %% [markdown]
# ## Running it
#
# Five requests of mixed length decode together, one token each per step, into a pool of 64
# blocks of 16 tokens whose free list is shuffled; then one query per request attends through its
# block table and is compared with attention over that request's contiguous keys and values.

# %%
from _setup import show_figure
import runnable.paged_attention as mechanism
import matplotlib.pyplot as plt
import numpy as np
import torch

result = mechanism.demo("cpu")
assert all(error < 1e-5 for error in result["errors"])

# %% [markdown]
# ## Who holds which block
#
# Requests of the same five lengths, written this time one after another into a pool with a
# shuffled free list: each request's blocks lie scattered across the pool, in the order the free
# list handed them out, and most of the pool is still free for new requests.

# %%
generator = torch.Generator().manual_seed(0)
lengths = [37, 5, 120, 64, 1]
cache = mechanism.PagedKVCache(64, 16, 1, 1, block_order=torch.randperm(64, generator=generator).tolist())
for s, L in enumerate(lengths):
    cache.add_sequence(s)
    cache.append(s, torch.zeros(1, L, 1), torch.zeros(1, L, 1))
owner = np.full(64, np.nan)
for s, table in cache.tables.items():
    owner[table] = s
figure, axis = plt.subplots(figsize=(7, 1.6))
axis.imshow(owner.reshape(4, 16), cmap="tab10", vmin=0, vmax=9)
for block in range(64):
    if not np.isnan(owner[block]):
        axis.text(block % 16, block // 16, int(owner[block]), ha="center", va="center", color="white", fontsize=8)
axis.set_xticks([])
axis.set_yticks([])
axis.set_title("pool of 64 blocks: the request holding each (blank: free)")
show_figure("A grid of 64 blocks in four rows of sixteen; 16 of them are coloured and numbered with the request that holds "
            "them (0 to 4), scattered through the pool, and the other 48 are blank, still on the free list.")

# %% [markdown]
# ## The memory saved across a batch
#
# Thirty-two requests whose total lengths (prompt and output) are drawn between 20 and 2,048
# tokens, against a server that reserves 2,048 tokens per request, for a model with 32 layers and
# 32 heads of size 128 in 16-bit numbers (512 KiB of keys and values per token). The lengths are
# synthetic: real traffic has its own distribution, and with it its own saving.

# %%
generator = torch.Generator().manual_seed(1)
batch = torch.randint(20, 2049, (32,), generator=generator).tolist()
bytes_per_token = 2 * 32 * 32 * 128 * 2
print(f"{'scheme':<30} {'slots reserved':>15} {'GiB':>7} {'used':>7} {'wasted':>7}")
for name, (max_length, block) in {"preallocate 2,048 per request": (2048, None),
                                  "paged, blocks of 16": (2048, 16), "paged, blocks of 128": (2048, 128)}.items():
    slots = mechanism.kv_slots(batch, max_length, block or 1)
    reserved = slots["preallocated"] if block is None else slots["paged"]
    print(f"{name:<30} {reserved:>15,} {reserved * bytes_per_token / 2 ** 30:>7.1f} "
          f"{slots['used'] / reserved:>7.1%} {1 - slots['used'] / reserved:>7.1%}")

# %% [markdown]
# With preallocation, roughly half of the reservation goes unused here, since the lengths are
# spread evenly up to the maximum; with blocks of 16 tokens the waste is at most 15 slots per
# request, a fraction of a percent of this batch. Larger blocks waste more but make each read
# longer and the table shorter; vLLM's default block holds 16 tokens. The saving is not only
# bytes: the memory freed lets the server run more requests at once, which is where the paper's
# throughput gains come from.
