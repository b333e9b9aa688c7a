"""Both loop orders (FlashAttention's and FlashAttention-2's) against the full matrix, against torch's
scaled_dot_product_attention and torch.logsumexp, with huge scores, for their memory bound, and their
main-memory traffic against closed forms."""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch.profiler import ProfilerActivity, profile

from runnable.flash_attention import (Traffic, demo, flash_attention_1, flash_attention_2, naive_attention, online_softmax,
                                      tiled_attention, traffic_closed_form)
from tests.runnable.probes import LargestCreated

EXACT = dict(atol=1e-10, rtol=1e-10)   # float64: the two orders of summation differ only in rounding
FLOAT32 = dict(atol=2e-5, rtol=2e-5)   # float32 sums of ≤ 300 terms, softmax weights ≤ 1, |v| ~ 3
SHAPES = [  # (L_q, L_k, block_q, block_k): lengths not divisible by the blocks, L_q ≠ L_k both ways
    (37, 53, 16, 8), (53, 37, 8, 16), (100, 100, 32, 32), (1, 70, 128, 128), (70, 1, 16, 16), (129, 300, 64, 48)]
ALGORITHMS = pytest.mark.parametrize("tiled", [flash_attention_1, flash_attention_2], ids=["fa1", "fa2"])


def qkv(L_q, L_k, device, dtype=torch.float64, d=12, d_v=10, seed=0):
    torch.manual_seed(seed)
    return (torch.randn(2, 3, L_q, d, dtype=dtype, device=device), torch.randn(2, 3, L_k, d, dtype=dtype, device=device),
            torch.randn(2, 3, L_k, d_v, dtype=dtype, device=device))


def sdpa(q, k, v, causal=False, scale=None):
    # torch's own math kernel, so the reference is exact in float64 and needs no flash kernel.
    with torch.nn.attention.sdpa_kernel(torch.nn.attention.SDPBackend.MATH):
        return F.scaled_dot_product_attention(q, k, v, is_causal=causal, scale=scale)


@pytest.mark.parametrize("causal", [False, True], ids=["full", "causal"])
@pytest.mark.parametrize("L_q, L_k, block_q, block_k", SHAPES)
@ALGORITHMS
def test_tiled_equals_naive_equals_torch_sdpa_in_float64(tiled, device, L_q, L_k, block_q, block_k, causal):
    q, k, v = qkv(L_q, L_k, device)
    expected = sdpa(q, k, v, causal)
    torch.testing.assert_close(naive_attention(q, k, v, causal), expected, **EXACT)
    torch.testing.assert_close(tiled(q, k, v, block_q, block_k, causal), expected, **EXACT)


@pytest.mark.parametrize("causal", [False, True], ids=["full", "causal"])
@ALGORITHMS
def test_tiled_matches_torch_sdpa_in_float32(tiled, device, causal):
    q, k, v = qkv(129, 300, device, dtype=torch.float32, seed=1)
    expected = sdpa(q, k, v, causal, scale=0.2)
    torch.testing.assert_close(tiled(q, k, v, 64, 48, causal, scale=0.2), expected, **FLOAT32)


@pytest.mark.parametrize("causal", [False, True], ids=["full", "causal"])
@ALGORITHMS
def test_logsumexp_is_torch_logsumexp_of_the_full_scores(tiled, device, causal):
    q, k, v = qkv(53, 37, device, seed=2)
    _, lse = tiled(q, k, v, 16, 8, causal, scale=0.5, return_logsumexp=True)
    scores = 0.5 * q @ k.transpose(-2, -1)
    if causal:
        scores = scores.masked_fill(torch.ones(53, 37, dtype=torch.bool, device=device).triu(1), float("-inf"))
    torch.testing.assert_close(lse, torch.logsumexp(scores, -1), **EXACT)


def test_online_softmax_gives_the_normaliser_of_the_whole_row(device):
    torch.manual_seed(3)
    scores = 30 * torch.randn(4, 50, dtype=torch.float64, device=device)
    m, ell = online_softmax(scores.split(7, dim=-1))
    torch.testing.assert_close(m, scores.amax(-1), **EXACT)
    torch.testing.assert_close(torch.exp(scores - m[:, None]) / ell[:, None], torch.softmax(scores, -1), **EXACT)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@ALGORITHMS
def test_huge_scores_do_not_overflow(tiled, device, dtype):
    """Scores up to ±1e4: exp overflows in both precisions (float64's limit is about 709),
    while the running maximum keeps every exponent ≤ 0."""
    q, k, v = qkv(40, 90, device, dtype=dtype, seed=4)
    scores = q @ k.transpose(-2, -1)
    q = q * (1e4 / scores.abs().max())
    scores = q @ k.transpose(-2, -1)
    assert torch.exp(scores).isinf().any()  # the naive exp really would overflow
    out, lse = tiled(q, k, v, 16, 16, scale=1.0, return_logsumexp=True)
    assert torch.isfinite(out).all() and torch.isfinite(lse).all()
    tolerance = EXACT if dtype == torch.float64 else FLOAT32
    torch.testing.assert_close(out, sdpa(q, k, v, scale=1.0), **tolerance)
    # Relative: logsumexp ≈ 1e4, so float32 holds it to about 1e-3 absolute.
    torch.testing.assert_close(lse, torch.logsumexp(scores, -1), atol=0, rtol=tolerance["rtol"])


@ALGORITHMS
def test_rescaling_is_needed_when_the_maximum_moves(tiled, device):
    """Scores that grow along the keys raise the maximum in every block; without the factor
    exp(m − m') the earlier blocks would be weighted e^{40} too much."""
    L = 64
    q = torch.ones(1, 1, 1, dtype=torch.float64, device=device)
    k = torch.linspace(0, 40, L, dtype=torch.float64, device=device)[None, :, None]
    v = torch.randn(1, L, 3, dtype=torch.float64, device=device)
    torch.testing.assert_close(tiled(q, k, v, 1, 8, scale=1.0), sdpa(q, k, v, scale=1.0), **EXACT)


@pytest.mark.parametrize("causal", [False, True], ids=["full", "causal"])
@ALGORITHMS
def test_memory_is_a_tile_or_linear_never_quadratic(tiled, device, causal):
    """Per batch·head, the tiled form creates nothing larger than a score tile (block_q·block_k)
    or a sequence of vectors (L·d), and so, for L ≫ d, far less than block_q·L_k; the naive form
    creates the L_q·L_k matrix. Doubling L doubles the tiled peak and quadruples the naive one."""
    B, d, bq, bk = 2, 16, 64, 32
    peaks = {}
    for L in [256, 512]:
        q, k, v = (torch.randn(B, L, d, device=device) for _ in range(3))
        with LargestCreated() as tiled_probe:
            tiled(q, k, v, bq, bk, causal)
        with LargestCreated() as naive:
            naive_attention(q, k, v, causal)
        assert tiled_probe.largest <= B * max(bq * bk, L * d)
        assert tiled_probe.largest < B * bq * L
        assert naive.largest >= B * L * L
        peaks[L] = tiled_probe.largest, naive.largest
    assert peaks[512][0] == 2 * peaks[256][0] and peaks[512][1] == 4 * peaks[256][1]


def test_tiled_attention_is_flashattention_2():
    assert tiled_attention is flash_attention_2


@pytest.mark.parametrize("L_q, L_k, block_q, block_k", SHAPES)
def test_traffic_matches_the_closed_forms(L_q, L_k, block_q, block_k):
    """Count what each loop order reads and writes of main memory (per batch·head) against the
    algorithms' closed forms, and the difference that makes FlashAttention-2 faster."""
    d, d_v = 12, 10
    q, k, v = qkv(L_q, L_k, "cpu", d=d, d_v=d_v)
    counted = {"FlashAttention": Traffic(), "FlashAttention-2": Traffic()}
    flash_attention_1(q, k, v, block_q, block_k, traffic=counted["FlashAttention"])
    flash_attention_2(q, k, v, block_q, block_k, traffic=counted["FlashAttention-2"])
    expected = traffic_closed_form(L_q, L_k, d, d_v, block_q, block_k)
    assert counted == expected
    T_c = -(-L_k // block_k)
    fa1, fa2 = counted["FlashAttention"], counted["FlashAttention-2"]
    assert fa1.writes - fa2.writes == T_c * L_q * (d_v + 2) + L_q   # O, ℓ, m written back every key block
    assert fa1.output_scalings - fa2.output_scalings == (2 * T_c - 1) * L_q * d_v


def test_traffic_by_hand_for_one_small_case():
    """L_q = L_k = 4, blocks of 2, d = d_v = 1: FA-1 reads K, V (8) and, for each of 2 key blocks,
    Q, O, ℓ, m of 4 rows (2 · 16); it writes O, ℓ, m at the start and after each key block (3 · 12).
    FA-2 reads Q (4) and K, V once per query block (2 · 8); it writes O and L (8)."""
    q = k = v = torch.randn(1, 4, 1, dtype=torch.float64)
    fa1, fa2 = Traffic(), Traffic()
    flash_attention_1(q, k, v, 2, 2, traffic=fa1)
    flash_attention_2(q, k, v, 2, 2, traffic=fa2)
    assert (fa1.reads, fa1.writes, fa1.output_scalings) == (40, 36, 24)
    assert (fa2.reads, fa2.writes, fa2.output_scalings) == (20, 8, 12)


def test_causal_traffic_skips_the_future_tiles():
    """Causal, L = 8, blocks of 2: 10 of the 16 tiles are on or below the diagonal, and both loop
    orders visit exactly those (FA-2 loads K_j, V_j once per visited tile, FA-1 Q_i once per tile)."""
    q, k, v = qkv(8, 8, "cpu", d=1, d_v=1)
    fa1, fa2 = Traffic(), Traffic()
    flash_attention_1(q, k, v, 2, 2, causal=True, traffic=fa1)
    flash_attention_2(q, k, v, 2, 2, causal=True, traffic=fa2)
    assert fa2.reads == 8 + 10 * 2 * 2            # Q, then K_j and V_j (2 rows each) per tile
    assert fa1.reads == 8 * 2 + 10 * 2 * 4        # K, V, then Q_i, O_i, ℓ_i, m_i (2 rows each) per tile


def largest_allocation(fn, device) -> int:
    """Bytes of the largest single allocation any operation makes, from torch's profiler."""
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if device.type == "cuda" else [])
    fn()  # once before: one-off allocations (a cuBLAS workspace on first use) are not the method's
    with profile(activities=activities, profile_memory=True) as prof:
        fn()
    field = "self_cpu_memory_usage" if device.type == "cpu" else "self_device_memory_usage"
    return max(getattr(event, field) for event in prof.events())


def test_allocations_grow_linearly(device):
    """The allocator's view: doubling L doubles the tiled form's largest allocation (the L × d
    output) and quadruples the naive one's (the L × L scores). On a GPU, the allocator's peak
    as well: 4× the length gives at most 4× the tiled form's extra memory (with slack for the
    allocator's rounding) and at least 12× the naive one's."""
    largest = {}
    for L in [512, 1024]:
        q, k, v = (torch.randn(1, L, 64, device=device) for _ in range(3))
        largest["tiled", L] = largest_allocation(lambda: tiled_attention(q, k, v, 128, 128), device)
        largest["naive", L] = largest_allocation(lambda: naive_attention(q, k, v), device)
        assert largest["tiled", L] == L * 64 * 4 and largest["naive", L] >= L * L * 4  # float32: 4 bytes
    assert largest["tiled", 1024] == 2 * largest["tiled", 512] and largest["naive", 1024] >= 4 * largest["naive", 512]
    if device.type == "cuda":
        extra = {}
        for L in [2048, 8192]:
            q, k, v = (torch.randn(1, L, 64, device=device) for _ in range(3))
            for name, fn in [("tiled", lambda: tiled_attention(q, k, v, 128, 128)), ("naive", lambda: naive_attention(q, k, v))]:
                torch.cuda.synchronize()
                torch.cuda.reset_peak_memory_stats()
                before = torch.cuda.memory_allocated()
                fn()
                torch.cuda.synchronize()
                extra[name, L] = torch.cuda.max_memory_allocated() - before
        assert extra["tiled", 8192] <= 4 * extra["tiled", 2048] * 1.25
        assert extra["naive", 8192] >= 12 * extra["naive", 2048]
        assert extra["tiled", 8192] * 50 < extra["naive", 8192]


def test_demo_runs_and_agrees(device):
    result = demo(device)
    assert max(result["max_errors"]) < 1e-5
    L, d = result["lengths"], result["d"]
    assert result["tiled_peak"] == [max(length * d, result["block"] ** 2) for length in L]
    assert result["naive_peak"] == [length * length for length in L]
    assert result["huge_overflow"] and result["huge_error"] < 1e-5 and result["lse_error"] < 1e-6
