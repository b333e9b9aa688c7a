"""PagedAttention: a KV cache in fixed-size blocks with a block table per sequence (Kwon et al.
2023, the vLLM paper).

A server that generates for many requests at once keeps each request's keys and values. If it
reserves, per request, one contiguous buffer as long as the longest output it might produce, most
of that buffer sits empty: the request may stop early, and nothing it has not yet generated can be
used by anyone else. PagedAttention borrows the operating system's answer to the same problem,
virtual memory with pages:

- GPU memory for the cache is one pool of physical blocks, each holding the keys and values of
  block_size consecutive tokens; free blocks sit on a free list.
- Each sequence has a block table: logical block n (its tokens n·b … n·b + b − 1) lives in
  physical block table[n], anywhere in the pool. A new block is taken from the free list only when
  the last one is full, so a sequence wastes at most b − 1 slots, and a finished sequence returns
  its blocks at once.
- Attention for a query reads the sequence's blocks through its table. Softmax attention is a sum
  over keys, so it can be accumulated block by block with the online softmax (running maximum m,
  normaliser ℓ, accumulator a; see flash_attention.online_update) without gathering the keys into
  one contiguous tensor:

      o = Σ_n Σ_{slots s of block table[n]} exp(s_ns − m) v_ns / ℓ.

- Sequences may share blocks (parallel sampling from one prompt): a reference count per block,
  and a shared block that is about to be written is copied first (copy-on-write).

Differences from the paper:
- vLLM's kernel is CUDA, one thread block per sequence and head reading the pool through the table;
  here a Python loop over a sequence's blocks does the same reads with PyTorch operations.
- The scheduler (preemption, swapping blocks to CPU memory, recomputation) and beam search's
  sharing pattern are left out; fork with copy-on-write shows the sharing mechanism.

Shapes: H heads, d features per head, b = block_size. The pool holds keys and values
(num_blocks, H, b, d); a sequence's new keys and values arrive as (H, n, d); queries are (H, L_q, d),
the last L_q positions of the sequence, causal.
"""
from __future__ import annotations

import math

import torch
from torch import Tensor

from runnable.flash_attention import online_update


class PagedKVCache:
    """A pool of physical blocks, a free list, a block table and a length per sequence."""

    def __init__(self, num_blocks: int, block_size: int, heads: int, d: int, dtype=torch.float32, device=None,
                 block_order: list[int] | None = None):
        self.block_size = block_size
        self.keys = torch.zeros(num_blocks, heads, block_size, d, dtype=dtype, device=device)
        self.values = torch.zeros_like(self.keys)
        # the free list; block_order lets a test hand blocks out in a scrambled order
        self.free = list(reversed(block_order if block_order is not None else range(num_blocks)))
        self.references = [0] * num_blocks
        self.tables: dict[int, list[int]] = {}
        self.lengths: dict[int, int] = {}

    def _allocate(self) -> int:
        if not self.free:
            raise MemoryError("no free block left in the pool")
        block = self.free.pop()
        self.references[block] = 1
        return block

    def _release(self, block: int) -> None:
        self.references[block] -= 1
        if self.references[block] == 0:
            self.free.append(block)

    def add_sequence(self, sequence: int) -> None:
        self.tables[sequence], self.lengths[sequence] = [], 0

    def append(self, sequence: int, k: Tensor, v: Tensor) -> None:
        """Write n new tokens' keys and values (H, n, d), taking a block from the free list whenever
        the last one is full, and copying a shared last block before writing into it."""
        table = self.tables[sequence]
        for t in range(k.shape[1]):
            length = self.lengths[sequence]
            slot = length % self.block_size
            if slot == 0:
                table.append(self._allocate())
            elif self.references[table[-1]] > 1:            # copy-on-write: others still read this block
                copy = self._allocate()
                self.keys[copy], self.values[copy] = self.keys[table[-1]], self.values[table[-1]]
                self._release(table[-1])
                table[-1] = copy
            self.keys[table[-1], :, slot] = k[:, t]
            self.values[table[-1], :, slot] = v[:, t]
            self.lengths[sequence] = length + 1

    def fork(self, parent: int, child: int) -> None:
        """A new sequence that shares all of the parent's blocks (a second sample from one prompt)."""
        self.tables[child], self.lengths[child] = list(self.tables[parent]), self.lengths[parent]
        for block in self.tables[child]:
            self.references[block] += 1

    def free_sequence(self, sequence: int) -> None:
        """A finished sequence: its blocks go back on the free list (once no other sequence reads them)."""
        for block in self.tables.pop(sequence):
            self._release(block)
        del self.lengths[sequence]

    def gather(self, sequence: int) -> tuple[Tensor, Tensor]:
        """The sequence's keys and values as contiguous (H, L, d) tensors (for checking only)."""
        table, length = self.tables[sequence], self.lengths[sequence]
        k = self.keys[table].transpose(0, 1).flatten(1, 2)[:, :length]         # (H, blocks·b, d) → (H, L, d)
        v = self.values[table].transpose(0, 1).flatten(1, 2)[:, :length]
        return k, v


def paged_attention(q: Tensor, cache: PagedKVCache, sequence: int) -> Tensor:
    """Causal attention of the sequence's last L_q positions (q: (H, L_q, d)) over its cached keys,
    read block by block through the block table and merged with the online softmax."""
    H, L_q, d = q.shape
    length, b = cache.lengths[sequence], cache.block_size
    positions = torch.arange(length - L_q, length, device=q.device)           # the queries' positions
    q = q / math.sqrt(d)
    m = torch.full((H, L_q), float("-inf"), dtype=q.dtype, device=q.device)
    ell = torch.zeros(H, L_q, dtype=q.dtype, device=q.device)
    acc = torch.zeros(H, L_q, cache.values.shape[-1], dtype=q.dtype, device=q.device)
    for n, block in enumerate(cache.tables[sequence]):
        filled = min(b, length - n * b)                                        # the last block may be part-full
        k, v = cache.keys[block, :, :filled], cache.values[block, :, :filled]  # (H, filled, d)
        scores = q @ k.transpose(-2, -1)                                       # (H, L_q, filled)
        key_positions = torch.arange(n * b, n * b + filled, device=q.device)
        scores = scores.masked_fill(key_positions[None, :] > positions[:, None], float("-inf"))
        m, ell, acc = online_update(m, ell, acc, scores, v)
    return acc / ell[..., None]


def kv_slots(lengths: list[int], max_length: int, block_size: int) -> dict[str, int]:
    """Token slots of KV cache for requests of these lengths: what they use, what per-request
    preallocation to max_length reserves, and what paging in blocks of block_size reserves."""
    return {"used": sum(lengths),
            "preallocated": len(lengths) * max_length,
            "paged": sum(-(-L // block_size) * block_size for L in lengths)}


def demo(device: torch.device | str = "cpu", seed: int = 0) -> dict:
    """Five sequences of mixed length written token by token, interleaved, into a scrambled pool;
    paged attention against attention over each contiguous cache; the slots each scheme reserves."""
    generator = torch.Generator().manual_seed(seed)
    H, d, b = 4, 16, 16
    lengths = [37, 5, 120, 64, 1]
    order = torch.randperm(64, generator=generator).tolist()
    cache = PagedKVCache(64, b, H, d, device=device, block_order=order)
    contiguous = {}
    for s, L in enumerate(lengths):
        cache.add_sequence(s)
        contiguous[s] = torch.randn(2, H, L, d, generator=generator).to(device)
    for t in range(max(lengths)):                       # one token per running sequence per step
        for s, L in enumerate(lengths):
            if t < L:
                cache.append(s, contiguous[s][0][:, t:t + 1], contiguous[s][1][:, t:t + 1])
    errors = []
    for s, L in enumerate(lengths):
        q = torch.randn(H, 1, d, generator=generator).to(device)
        k, v = contiguous[s]
        reference = torch.nn.functional.scaled_dot_product_attention(q, k, v)
        errors.append((paged_attention(q, cache, s) - reference).abs().max().item())
        print(f"sequence {s}: {L:>3} tokens in blocks {cache.tables[s]}, max |paged − contiguous| = {errors[-1]:.1e}")
    slots = kv_slots(lengths, max_length=128, block_size=b)
    print(f"slots used {slots['used']}; reserved with preallocation to 128 tokens: {slots['preallocated']}, "
          f"paged in blocks of {b}: {slots['paged']}")
    return {"errors": errors, "slots": slots}


if __name__ == "__main__":
    from runnable._cli import device_from_args

    demo(device_from_args(__doc__.splitlines()[0]))
