"""Sliding-window attention against a loop over each query's window and torch's SDPA with the band
as a boolean attn_mask; step-by-step decoding with the rolling cache against the band mask (random
lengths and windows); the cache's constant size; the receptive field of stacked layers."""
from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from runnable.sliding_window_attention import (RollingKVCache, decode_with_rolling_cache, demo, receptive_field,
                                               sliding_window_attention, window_mask)

EXACT = dict(atol=1e-12, rtol=1e-12)   # float64: the same sums, possibly in another order
FLOAT32 = dict(atol=1e-5, rtol=1e-5)


def qkv(device, B=2, H=3, L=12, d=5, dtype=torch.float64, seed=0):
    generator = torch.Generator().manual_seed(seed)
    return [torch.randn(B, H, L, d, generator=generator, dtype=dtype).to(device) for _ in range(3)]


def loop_reference(q, k, v, window, causal=True):
    """Query by query: softmax over exactly the keys of its window, written from the definition."""
    L = q.shape[2]
    output = torch.empty_like(q[..., :v.shape[-1]])
    for i in range(L):
        keys = range(max(0, i - window + 1), i + 1) if causal else range(max(0, i - window // 2), min(L, i + window // 2 + 1))
        keys = list(keys)
        scores = torch.einsum("bhd,bhjd->bhj", q[:, :, i], k[:, :, keys]) / math.sqrt(q.shape[-1])
        output[:, :, i] = torch.einsum("bhj,bhjd->bhd", torch.softmax(scores, -1), v[:, :, keys])
    return output


def test_mask_is_the_band():
    mask = window_mask(6, 6, 3)
    for i in range(6):
        assert [j for j in range(6) if mask[i, j]] == list(range(max(0, i - 2), i + 1))
    assert torch.equal(window_mask(6, 6, 6), torch.ones(6, 6, dtype=torch.bool).tril())   # W ≥ L: plain causal
    assert torch.equal(window_mask(2, 6, 3), mask[4:])                                    # the last queries' rows


@pytest.mark.parametrize("window", [1, 3, 5, 12, 20])
@pytest.mark.parametrize("causal", [True, False], ids=["causal", "two-sided"])
def test_matches_the_loop_and_torch_sdpa(device, window, causal):
    q, k, v = qkv(device)
    output = sliding_window_attention(q, k, v, window, causal)
    torch.testing.assert_close(output, loop_reference(q, k, v, window, causal), **EXACT)
    band = window_mask(12, 12, window, causal, device)
    torch.testing.assert_close(output, F.scaled_dot_product_attention(q, k, v, attn_mask=band), **EXACT)


def test_a_window_of_one_returns_each_value_and_a_long_window_is_causal_attention(device):
    q, k, v = qkv(device, seed=1)
    torch.testing.assert_close(sliding_window_attention(q, k, v, 1), v, **EXACT)
    torch.testing.assert_close(sliding_window_attention(q, k, v, 12), F.scaled_dot_product_attention(q, k, v, is_causal=True), **EXACT)
    assert not torch.allclose(sliding_window_attention(q, k, v, 4), sliding_window_attention(q, k, v, 12))   # the band matters


@pytest.mark.parametrize("seed", range(6))
def test_rolling_cache_decoding_equals_the_band_mask(device, seed):
    generator = torch.Generator().manual_seed(100 + seed)
    L = int(torch.randint(1, 40, (), generator=generator))
    W = int(torch.randint(1, 16, (), generator=generator))
    q, k, v = qkv(device, L=L, seed=seed)
    decoded, _ = decode_with_rolling_cache(q, k, v, W)
    torch.testing.assert_close(decoded, sliding_window_attention(q, k, v, W), **EXACT)


def test_rolling_cache_in_float32_against_torch_sdpa(device):
    q, k, v = qkv(device, L=30, d=16, dtype=torch.float32, seed=7)
    decoded, _ = decode_with_rolling_cache(q, k, v, 6)
    torch.testing.assert_close(decoded, F.scaled_dot_product_attention(q, k, v, attn_mask=window_mask(30, 30, 6, device=device)), **FLOAT32)


def test_the_cache_holds_exactly_the_last_window_and_its_size_is_constant(device):
    B, H, d, W = 1, 2, 3, 4
    cache = RollingKVCache(W, B, H, d, dtype=torch.float64, device=device)
    before = cache.nbytes()
    assert before == 2 * B * H * W * d * 8
    for t in range(11):
        key = torch.full((B, H, 1, d), float(t), dtype=torch.float64, device=device)
        cache.append(key, key)
        assert cache.nbytes() == before
    held = sorted(cache.keys[0, 0, :, 0].tolist())
    assert held == [7.0, 8.0, 9.0, 10.0]            # positions 7 … 10, the last W
    assert cache.keys[0, 0, 10 % W, 0].item() == 10.0   # position t in slot t mod W
    _, sizes = decode_with_rolling_cache(*qkv(device, L=25), 5)
    assert len(set(sizes)) == 1


def test_stacked_layers_see_layers_times_window_minus_one_back():
    """The gradient of position i's output after ℓ layers reaches exactly positions i − ℓ(W − 1) … i."""
    L, W, i = 24, 4, 20
    for layers in (1, 2, 3):
        x = torch.randn(1, 1, L, 4, dtype=torch.float64, requires_grad=True)
        h = x
        for _ in range(layers):
            h = sliding_window_attention(h, h, h, W)
        h[0, 0, i].sum().backward()
        reached = (x.grad[0, 0].abs().sum(-1) > 0).nonzero().flatten().tolist()
        assert reached == list(range(i - receptive_field(layers, W), i + 1))


def test_demo_runs_and_agrees(device):
    result = demo(device)
    assert all(error < 1e-5 for error in result["errors"].values())
    assert len(set(result["sizes"])) == 1
