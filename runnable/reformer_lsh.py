"""Reformer's LSH attention, one hash round (Kitaev, Kaiser & Levskaya; bib: kitaev2020reformer).

Shared-QK attention: one projection gives each position a vector x_i that serves as its query,
and its key is the same vector normalised, k_j = x_j / ‖x_j‖. The weights are the usual softmax
of x_i · k_j / √d, except that a position does not attend to itself unless nothing else is
visible: its own key would always score highest, since x_i · x_i/‖x_i‖ = ‖x_i‖ ≥ x_i · k_j.

To avoid scoring all L² pairs, similar vectors are grouped with an angular locality-sensitive
hash: for a random matrix R (d × b/2),

    h(x) = argmax([x R ; −x R])     (one of b buckets)

Vectors at a small angle usually land in the same bucket. Positions are then sorted by bucket
(and by position within a bucket), the sorted sequence is cut into chunks of c, and each
position attends to the positions of its own bucket that lie in its own chunk or the chunk
before (a bucket can straddle a chunk boundary). The cost is O(L c) scores after an O(L log L)
sort. This module does one hashing round; the paper combines several independent rounds so that
a near pair separated by one hash is likely joined by another.

Differences from the paper:
- One hashing round; the paper combines several independent rounds so that a near pair split by one
  hash is likely joined by another.
- A position attends to itself only when nothing else is visible, as in the paper; the reversible
  layers and chunked feed-forward layers of the Reformer are not part of the module.

Shapes: qk (..., L, d), v (..., L, d_v), rotations R (d, b/2); L must be a multiple of c.
"""
from __future__ import annotations

import math

import torch

SELF_SCORE = -1e5  # a token's score for itself: finite, so it wins only when all else is −∞


def random_rotations(dim, num_buckets, generator=None, device=None, dtype=torch.float32):
    """R (dim, num_buckets // 2) with independent N(0, 1) entries."""
    return torch.randn(dim, num_buckets // 2, generator=generator, device=device, dtype=dtype)


def lsh_hash(x, num_buckets, rotations):
    """h(x) = argmax([x R ; −x R]) ∈ {0, …, b − 1}: (..., d) → (...,)."""
    if num_buckets == 1:
        return torch.zeros(x.shape[:-1], dtype=torch.long, device=x.device)
    assert num_buckets % 2 == 0 and rotations.shape[-1] == num_buckets // 2, (num_buckets, rotations.shape)
    projected = x @ rotations
    return torch.cat([projected, -projected], -1).argmax(-1)


def full_shared_qk_attention(qk, v):
    """Every position against every other, with the self-mask: the quadratic reference.
    Returns the output (..., L, d_v) and the weights (..., L, L)."""
    keys = qk / qk.norm(dim=-1, keepdim=True)
    scores = qk @ keys.transpose(-2, -1) / math.sqrt(qk.shape[-1])
    eye = torch.eye(qk.shape[-2], dtype=torch.bool, device=qk.device)
    weights = torch.softmax(scores.masked_fill(eye, SELF_SCORE), dim=-1)
    return weights @ v, weights


def lsh_attention(qk, v, num_buckets, chunk_size, rotations):
    """One round of LSH attention; returns the output (..., L, d_v) in the original order."""
    L, d = qk.shape[-2:]
    assert L % chunk_size == 0, (L, chunk_size)
    chunks = L // chunk_size
    buckets = lsh_hash(qk, num_buckets, rotations)                              # (..., L)
    position = torch.arange(L, device=qk.device).expand_as(buckets)
    order = torch.argsort(buckets * L + position, dim=-1)                       # by bucket, then position
    rows = lambda t: torch.gather(t, -2, order[..., None].expand(*order.shape, t.shape[-1]))
    cut = lambda t: t.reshape(*t.shape[:-1], chunks, chunk_size)                 # (..., L) → (..., C, c)
    q = rows(qk).reshape(*order.shape[:-1], chunks, chunk_size, d)              # (..., C, c, d)
    values = rows(v).reshape(*order.shape[:-1], chunks, chunk_size, v.shape[-1])
    q_bucket, q_position = cut(torch.gather(buckets, -1, order)), cut(order)
    # Keys of the chunk before, then of the chunk itself: (..., C, 2c, ·). For chunk 0 the
    # "chunk before" is the last one, wrapped round by roll; it is masked out below.
    back = lambda t, dim: torch.cat([t.roll(1, dims=dim), t], dim=dim + 1)
    keys = back(q / q.norm(dim=-1, keepdim=True), -3)
    k_bucket, k_position, values = back(q_bucket, -2), back(q_position, -2), back(values, -3)
    scores = q @ keys.transpose(-2, -1) / math.sqrt(d)                          # (..., C, c, 2c)
    wrapped = (torch.arange(chunks, device=qk.device)[:, None, None] == 0) & \
              (torch.arange(2 * chunk_size, device=qk.device) < chunk_size)     # chunk 0's "previous" half
    visible = (q_bucket[..., :, None] == k_bucket[..., None, :]) & ~wrapped
    scores = scores.masked_fill(~visible, float("-inf"))
    scores = scores.masked_fill(q_position[..., :, None] == k_position[..., None, :], SELF_SCORE)
    out = torch.softmax(scores, dim=-1) @ values                                # (..., C, c, d_v)
    out = out.reshape(*order.shape, v.shape[-1])
    return torch.empty_like(out).scatter_(-2, order[..., None].expand_as(out), out)  # back to the original order


def visible_pairs(buckets, chunk_size):
    """(..., L, L) True where query i may attend to key j: same bucket, and j's chunk (in the
    sorted order) is i's own or the one before. Dense: for inspecting, not for computing."""
    L = buckets.shape[-1]
    order = torch.argsort(buckets * L + torch.arange(L, device=buckets.device), dim=-1)
    chunk = torch.argsort(order, dim=-1) // chunk_size                             # chunk of each position
    gap = chunk[..., :, None] - chunk[..., None, :]
    return (buckets[..., :, None] == buckets[..., None, :]) & ((gap == 0) | (gap == 1))


def naive_lsh_attention(qk, v, num_buckets, chunk_size, rotations):
    """The same attention from the dense L × L mask of visible pairs: the slow reference."""
    visible = visible_pairs(lsh_hash(qk, num_buckets, rotations), chunk_size)
    keys = qk / qk.norm(dim=-1, keepdim=True)
    scores = (qk @ keys.transpose(-2, -1) / math.sqrt(qk.shape[-1])).masked_fill(~visible, float("-inf"))
    scores = scores.masked_fill(torch.eye(qk.shape[-2], dtype=torch.bool, device=qk.device), SELF_SCORE)
    return torch.softmax(scores, dim=-1) @ v


def demo(device: torch.device | str = "cpu", seed: int = 0) -> dict:
    """Clustered vectors: how much of full attention's weight lies on pairs that LSH lets a query
    see, and how many pairs that costs, as the number of buckets grows (chunk size fixed)."""
    torch.manual_seed(seed)
    generator = torch.Generator(device=device).manual_seed(seed)
    L, d, c, rounds = 512, 32, 32, 10
    centres = torch.randn(16, d, device=device)
    qk = 4 * (centres[torch.randint(16, (L,), device=device)] + 0.15 * torch.randn(L, d, device=device))
    v = torch.randn(L, 8, device=device)
    weights = full_shared_qk_attention(qk, v)[1]
    top = weights.argmax(-1)
    print(f"L = {L} vectors around 16 cluster centres, d = {d}, chunks of {c}; each row a mean over {rounds} draws of R")
    print(" buckets   weight on visible pairs   top key visible   pairs scored")
    table = {"buckets": [1, 2, 4, 8, 16, 32, 64], "mass": [], "top_visible": [], "pairs": [], "max_error": 0.0}
    for b in table["buckets"]:
        mass = top_hit = pairs = 0.0
        for _ in range(rounds):
            R = random_rotations(d, b, generator, device)
            visible = visible_pairs(lsh_hash(qk, b, R), c)
            mass += (weights * visible).sum(-1).mean().item() / rounds        # full attention's weight LSH can see
            top_hit += visible.gather(-1, top[:, None]).float().mean().item() / rounds
            pairs += visible.float().mean().item() / rounds
        gap = (lsh_attention(qk, v, b, c, R) - naive_lsh_attention(qk, v, b, c, R)).abs().max().item()
        table["max_error"] = max(table["max_error"], gap)
        for key, value in zip(["mass", "top_visible", "pairs"], [mass, top_hit, pairs]):
            table[key].append(value)
        print(f"  {b:>5}   {mass:>16.3f}   {top_hit:>18.3f}   {pairs:>12.3f}")
    print(f"sorted-and-chunked against the dense mask: max difference {table['max_error']:.1e} (tolerance 1e-5)")
    return table


if __name__ == "__main__":
    from runnable._cli import device_from_args

    demo(device_from_args(__doc__.splitlines()[0]))
