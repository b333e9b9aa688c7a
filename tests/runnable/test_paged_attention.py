"""PagedAttention against attention over the contiguous cache: random lengths, tokens of several
sequences written interleaved into a pool whose blocks are handed out in a shuffled order; the
block table and the free list; copy-on-write after a fork; the slot counts against closed forms."""
from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from runnable.paged_attention import PagedKVCache, demo, kv_slots, paged_attention

EXACT = dict(atol=1e-12, rtol=1e-12)   # float64: the same sums in another order (block by block)
FLOAT32 = dict(atol=1e-5, rtol=1e-5)


def fill(device, lengths, block_size, seed, dtype=torch.float64, H=3, d=5, num_blocks=None):
    """A cache holding sequences of the given lengths, written one token per sequence per step
    (as a batch of requests decodes), from a pool whose free list is shuffled."""
    generator = torch.Generator().manual_seed(seed)
    num_blocks = num_blocks or sum(-(-L // block_size) for L in lengths) + 3
    order = torch.randperm(num_blocks, generator=generator).tolist()
    cache = PagedKVCache(num_blocks, block_size, H, d, dtype=dtype, device=device, block_order=order)
    contiguous = [torch.randn(2, H, L, d, generator=generator, dtype=dtype).to(device) for L in lengths]
    for s in range(len(lengths)):
        cache.add_sequence(s)
    for t in range(max(lengths)):
        for s, L in enumerate(lengths):
            if t < L:
                cache.append(s, contiguous[s][0][:, t:t + 1], contiguous[s][1][:, t:t + 1])
    return cache, contiguous, generator


def causal_reference(q, k, v):
    """Loop over the queries (the last L_q positions of L_k): softmax over keys 0 … position."""
    L_q, L_k = q.shape[1], k.shape[1]
    rows = []
    for r in range(L_q):
        i = L_k - L_q + r
        weights = torch.softmax(q[:, r:r + 1] @ k[:, :i + 1].transpose(-2, -1) / math.sqrt(q.shape[-1]), -1)
        rows.append(weights @ v[:, :i + 1])
    return torch.cat(rows, dim=1)


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("block_size", [1, 4, 16])
def test_paged_attention_equals_attention_over_the_contiguous_cache(device, seed, block_size):
    generator = torch.Generator().manual_seed(seed)
    lengths = torch.randint(1, 50, (4,), generator=generator).tolist()
    cache, contiguous, generator = fill(device, lengths, block_size, seed)
    for s, L in enumerate(lengths):
        k, v = contiguous[s]
        assert torch.equal(torch.stack(cache.gather(s)), contiguous[s])          # the table maps back exactly
        L_q = min(L, 3)
        q = torch.randn(3, L_q, 5, generator=generator, dtype=torch.float64).to(device)
        expected = F.scaled_dot_product_attention(q, k, v, attn_mask=torch.ones(L_q, L, dtype=torch.bool, device=device).tril(L - L_q))
        torch.testing.assert_close(paged_attention(q, cache, s), expected, **EXACT)
        torch.testing.assert_close(expected, causal_reference(q, k, v), **EXACT)


def test_float32_decoding_step(device):
    cache, contiguous, generator = fill(device, [33, 70, 2], 8, seed=9, dtype=torch.float32, d=16)
    for s in range(3):
        q = torch.randn(3, 1, 16, generator=generator).to(device)
        torch.testing.assert_close(paged_attention(q, cache, s), F.scaled_dot_product_attention(q, *contiguous[s]), **FLOAT32)


def test_blocks_are_taken_only_when_needed_and_returned_when_done(device):
    cache = PagedKVCache(6, 4, 1, 2, device=device, block_order=[5, 0, 3, 1, 4, 2])
    cache.add_sequence(0)
    one = torch.ones(1, 1, 2, device=device)
    for t, blocks in [(1, [5]), (4, [5]), (5, [5, 0]), (9, [5, 0, 3])]:
        while cache.lengths[0] < t:
            cache.append(0, one, one)
        assert cache.tables[0] == blocks, t                 # a new block only when the last one is full
    assert sorted(cache.free) == [1, 2, 4]
    cache.free_sequence(0)
    assert sorted(cache.free) == list(range(6)) and 0 not in cache.tables
    cache.add_sequence(1)
    with pytest.raises(MemoryError):
        cache.append(1, torch.ones(1, 25, 2, device=device), torch.ones(1, 25, 2, device=device))   # 7 blocks > 6


def test_fork_shares_blocks_and_copies_on_write(device):
    generator = torch.Generator().manual_seed(3)
    prompt = torch.randn(2, 2, 6, 4, generator=generator, dtype=torch.float64).to(device)   # 6 tokens, blocks of 4
    cache = PagedKVCache(8, 4, 2, 4, dtype=torch.float64, device=device)
    cache.add_sequence(0)
    cache.append(0, prompt[0], prompt[1])
    cache.fork(0, 1)
    assert cache.tables[1] == cache.tables[0] and len(cache.free) == 6        # no copy yet
    extra = torch.randn(2, 2, 2, 1, 4, generator=generator, dtype=torch.float64).to(device)
    cache.append(1, extra[0, 0], extra[0, 1])                                  # writes into the shared, part-full block
    assert cache.tables[1][0] == cache.tables[0][0] and cache.tables[1][1] != cache.tables[0][1]
    cache.append(0, extra[1, 0], extra[1, 1])                                  # the parent's block is its own again
    for s, (k, v) in [(0, extra[1]), (1, extra[0])]:
        expected = torch.cat([prompt, torch.stack([k, v])], dim=2)
        assert torch.equal(torch.stack(cache.gather(s)), expected)
    cache.free_sequence(0)
    assert cache.references[cache.tables[1][0]] == 1 and len(cache.free) == 6  # the shared first block stays
    cache.free_sequence(1)
    assert len(cache.free) == 8


def test_slot_counts():
    lengths = [37, 5, 120, 64, 1]
    assert kv_slots(lengths, 128, 16) == {"used": 227, "preallocated": 640, "paged": 48 + 16 + 128 + 64 + 16}
    slots = kv_slots(lengths, 128, 16)
    assert slots["paged"] - slots["used"] <= 15 * len(lengths)                # at most b − 1 wasted per sequence
    assert kv_slots(lengths, 128, 1)["paged"] == 227


def test_demo_runs_and_agrees(device):
    result = demo(device)
    assert all(error < 1e-5 for error in result["errors"])
    assert result["slots"]["paged"] < result["slots"]["preallocated"]
