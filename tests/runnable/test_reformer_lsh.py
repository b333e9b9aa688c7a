"""LSH attention against torch's scaled_dot_product_attention (one bucket, one chunk), against a
loop that sorts, chunks and attends by hand with the same bucket assignment, and the hash's
locality, statistically."""
from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from runnable.reformer_lsh import (demo, full_shared_qk_attention, lsh_attention, lsh_hash, naive_lsh_attention,
                                   random_rotations, visible_pairs)

EXACT = dict(atol=1e-10, rtol=1e-10)  # float64: the same sums in a different order


def inputs(device, shape=(2, 3), L=24, d=8, d_v=5, seed=0):
    torch.manual_seed(seed)
    return (torch.randn(*shape, L, d, dtype=torch.float64, device=device),
            torch.randn(*shape, L, d_v, dtype=torch.float64, device=device))


def test_one_bucket_one_chunk_is_full_shared_qk_attention(device):
    """Independent: torch SDPA with keys x_j/‖x_j‖ and the diagonal masked out."""
    qk, v = inputs(device)
    keys = qk / qk.norm(dim=-1, keepdim=True)
    not_self = ~torch.eye(24, dtype=torch.bool, device=device)
    expected = F.scaled_dot_product_attention(qk, keys, v, attn_mask=not_self)
    R = random_rotations(8, 2, device=device, dtype=torch.float64)  # unused with one bucket
    torch.testing.assert_close(lsh_attention(qk, v, 1, 24, R), expected, **EXACT)
    torch.testing.assert_close(full_shared_qk_attention(qk, v)[0], expected, **EXACT)


def loop_visible(buckets, chunk_size):
    """Sort positions by (bucket, position), cut into chunks, and list what each query sees."""
    L = len(buckets)
    order = sorted(range(L), key=lambda i: (buckets[i], i))
    chunk = {position: rank // chunk_size for rank, position in enumerate(order)}
    seen = {}
    for i in range(L):
        others = [j for j in range(L) if j != i and buckets[j] == buckets[i] and chunk[i] - 1 <= chunk[j] <= chunk[i]]
        seen[i] = others or [i]  # a token attends to itself only when nothing else is visible
    return seen


def loop_attention(x, v, seen):
    """One query at a time: softmax of x_i · x_j/‖x_j‖ / √d over the keys it sees."""
    rows = []
    for i, keys in seen.items():
        scores = torch.stack([x[i] @ x[j] / x[j].norm() / math.sqrt(x.shape[-1]) for j in keys])
        weights = torch.softmax(scores, 0)
        rows.append(sum(w * v[j] for w, j in zip(weights, keys)))
    return torch.stack(rows)


@pytest.mark.parametrize("buckets, chunk", [(2, 8), (4, 6), (8, 4), (8, 24), (16, 3)])
def test_matches_a_loop_with_the_same_buckets(device, buckets, chunk):
    qk, v = inputs(device, seed=buckets + chunk)
    R = random_rotations(8, buckets, torch.Generator(device=device).manual_seed(chunk), device, torch.float64)
    out = lsh_attention(qk, v, buckets, chunk, R)
    reference = naive_lsh_attention(qk, v, buckets, chunk, R)
    hashes = lsh_hash(qk, buckets, R)
    for b in range(2):
        for h in range(3):
            seen = loop_visible(hashes[b, h].tolist(), chunk)
            expected = loop_attention(qk[b, h], v[b, h], seen)
            torch.testing.assert_close(out[b, h], expected, **EXACT)
            torch.testing.assert_close(reference[b, h], expected, **EXACT)
            mask = visible_pairs(hashes[b, h], chunk)
            assert all(set(torch.nonzero(mask[i]).flatten().tolist()) - {i} == set(seen[i]) - {i} for i in seen)


def test_output_is_a_convex_combination_of_the_visible_values(device):
    """With v = I the output rows are the weights themselves: non-negative, summing to 1, and zero
    on every key the query may not see; a query alone in its bucket-chunk takes its own value."""
    qk, _ = inputs(device, shape=(), L=32, seed=1)
    R = random_rotations(8, 8, torch.Generator(device=device).manual_seed(1), device, torch.float64)
    weights = lsh_attention(qk, torch.eye(32, dtype=torch.float64, device=device), 8, 4, R)
    seen = loop_visible(lsh_hash(qk, 8, R).tolist(), 4)
    assert torch.all(weights >= 0)
    torch.testing.assert_close(weights.sum(-1), torch.ones(32, dtype=torch.float64, device=device), **EXACT)
    alone = 0
    for i, keys in seen.items():
        hidden = [j for j in range(32) if j not in keys]
        assert torch.all(weights[i, hidden] == 0), i
        if keys == [i]:
            alone += 1
            assert weights[i, i] == 1
        else:
            assert weights[i, i] == 0  # exp(−1e5 − score) underflows to exactly 0
    assert alone > 0  # eight buckets over 32 vectors: here at least one lands alone (for this seed)


def test_hash_is_scale_invariant_and_antipodal(device):
    """h depends only on the direction of x, and −x lands in the bucket b/2 away."""
    qk, _ = inputs(device, seed=2)
    R = random_rotations(8, 8, torch.Generator(device=device).manual_seed(2), device, torch.float64)
    h = lsh_hash(qk, 8, R)
    assert torch.equal(lsh_hash(3.7 * qk, 8, R), h)
    assert torch.equal(lsh_hash(-qk, 8, R), (h + 4) % 8)
    assert h.min() >= 0 and h.max() < 8


def test_close_vectors_share_buckets_more_often_than_far_ones(device):
    """Over 4000 random R, pairs at angle θ share a bucket with a probability that falls as θ
    grows. Each estimate has a standard error below 0.008, so the 0.3 margin between
    θ = 0.1π and 0.5π is far outside the noise."""
    torch.manual_seed(3)
    d, b, draws = 16, 8, 4000
    x, y = torch.randn(2, d, dtype=torch.float64, device=device).unbind()
    y = y - (y @ x) / (x @ x) * x
    x, y = x / x.norm(), y / y.norm()
    # 4000 independent R at once: lsh_hash broadcasts x (d,) @ R (draws, d, b/2).
    R = torch.randn(draws, d, b // 2, generator=torch.Generator(device=device).manual_seed(3), dtype=torch.float64,
                    device=device)
    same = []
    for theta in [0.05, 0.1, 0.25, 0.5, 0.75, 1.0]:
        z = math.cos(theta * math.pi) * x + math.sin(theta * math.pi) * y  # at angle θπ from x
        same.append((lsh_hash(x, b, R) == lsh_hash(z, b, R)).double().mean().item())
    assert all(later < earlier for earlier, later in zip(same, same[1:])), same
    assert same[1] > same[3] + 0.3 and same[-1] == 0  # opposite vectors never share a bucket


def test_demo_runs_and_agrees(device):
    result = demo(device)
    assert result["max_error"] < 1e-5
    mass, pairs = result["mass"], result["pairs"]
    # One bucket is plain chunked local attention: its weight share is about its pair share.
    assert abs(mass[0] - pairs[0]) < 0.05
    # The page's claims: more buckets score fewer pairs, yet (up to 16) see more of the weight.
    assert all(later < earlier for earlier, later in zip(pairs, pairs[1:]))
    assert all(later > earlier for earlier, later in zip(mass[:5], mass[1:5]))
    # One round sees below half of the weight, as the page says (0.43 to 0.45 over seeds 0-5 on the CPU).
    assert mass[4] > 3 * mass[0] and mass[4] / pairs[4] > 4 and max(mass) < 0.5
