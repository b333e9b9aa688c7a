"""Grouped-query attention against torch's SDPA with enable_gqa=True and with keys and values copied
per query head; multi-query as one group; one head per group as multi-head attention; and the
mean-pooling conversion against a loop; the dispatch-mode probe for copies of K and V."""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from runnable.grouped_query_attention import GroupedQueryAttention, demo, grouped_query_attention, mean_pool_heads
from runnable.multi_head_attention import MultiHeadAttention
from runnable.scaled_dot_product_attention import scaled_dot_product_attention
from tests.runnable.probes import LargestCreated

EXACT = dict(atol=1e-12, rtol=1e-12)   # float64: the same sums, possibly in another order
FLOAT32 = dict(atol=1e-5, rtol=1e-5)   # float32, head size ≤ 16 (matmul TF32 is off by default)


def qkv(device, H=8, H_kv=2, B=2, L_q=6, L_k=6, d=5, dtype=torch.float64, seed=0):
    generator = torch.Generator().manual_seed(seed)
    return [torch.randn(B, n, L, d, generator=generator, dtype=dtype).to(device)
            for n, L in [(H, L_q), (H_kv, L_k), (H_kv, L_k)]]


@pytest.mark.parametrize("H, H_kv", [(8, 2), (6, 3), (4, 4), (4, 1)])
@pytest.mark.parametrize("causal", [False, True], ids=["full", "causal"])
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=str)
def test_matches_torch_enable_gqa_and_repeated_keys(device, H, H_kv, causal, dtype):
    q, k, v = qkv(device, H, H_kv, dtype=dtype)
    tolerance = EXACT if dtype == torch.float64 else FLOAT32
    output = grouped_query_attention(q, k, v, causal=causal)
    torch.testing.assert_close(output, F.scaled_dot_product_attention(q, k, v, is_causal=causal, enable_gqa=True),
                               **tolerance)
    G = H // H_kv  # repeat_interleave: query head h gets key/value head h // G
    repeated = F.scaled_dot_product_attention(q, k.repeat_interleave(G, 1), v.repeat_interleave(G, 1), is_causal=causal)
    torch.testing.assert_close(output, repeated, **tolerance)
    assert output.shape == (2, H, 6, 5)


def test_different_query_and_key_lengths(device):
    q, k, v = qkv(device, L_q=3, L_k=7, seed=1)
    output = grouped_query_attention(q, k, v, causal=True)                # top-left causal, as torch's
    torch.testing.assert_close(output, F.scaled_dot_product_attention(q, k, v, is_causal=True, enable_gqa=True), **EXACT)


def test_multi_query_is_one_group(device):
    """MQA as Shazeer wrote it: every head uses the same K and V (a broadcast over heads)."""
    q, k, v = qkv(device, H=6, H_kv=1, seed=2)
    mqa, _ = scaled_dot_product_attention(q, k, v, causal=True)           # k, v (B, 1, L, d) broadcast
    torch.testing.assert_close(grouped_query_attention(q, k, v, causal=True), mqa, **EXACT)
    for h in range(6):                                                     # and head by head
        torch.testing.assert_close(mqa[:, h], F.scaled_dot_product_attention(q[:, h], k[:, 0], v[:, 0], is_causal=True),
                                   **EXACT)


def test_module_with_one_head_per_group_is_multi_head_attention(device):
    torch.manual_seed(3)
    mha = MultiHeadAttention(24, 4).to(device, torch.float64)
    gqa = GroupedQueryAttention(24, 4, 4).to(device, torch.float64)
    gqa.load_state_dict(mha.state_dict())
    x = torch.randn(3, 7, 24, device=device, dtype=torch.float64)
    for causal in (False, True):
        torch.testing.assert_close(gqa(x, causal=causal), mha(x, x, x, causal=causal)[0], **EXACT)


def test_module_shapes_and_parameter_count(device):
    gqa = GroupedQueryAttention(32, 8, 2).to(device)
    assert gqa.k_proj.weight.shape == (8, 32) and gqa.v_proj.weight.shape == (8, 32)   # 2 heads × size 4
    assert sum(p.numel() for p in gqa.parameters()) == 2 * (32 * 32 + 32) + 2 * (32 * 8 + 8)
    assert gqa(torch.randn(2, 5, 32, device=device)).shape == (2, 5, 32)


def test_mean_pool_heads_matches_a_loop_and_is_the_identity_for_one_head_per_group(device):
    torch.manual_seed(4)
    mha = MultiHeadAttention(24, 6).to(device, torch.float64)
    for name in ["k_proj", "v_proj"]:
        torch.nn.init.normal_(getattr(mha, name).bias)
    gqa = mean_pool_heads(mha, 2)                                           # groups {0,1,2}, {3,4,5}, d_head 4
    for name in ["k_proj", "v_proj"]:
        W, b = getattr(mha, name).weight, getattr(mha, name).bias
        for j in range(2):
            expected = sum(W[h * 4:(h + 1) * 4] for h in range(3 * j, 3 * j + 3)) / 3
            torch.testing.assert_close(getattr(gqa, name).weight[j * 4:(j + 1) * 4], expected, **EXACT)
            expected = sum(b[h * 4:(h + 1) * 4] for h in range(3 * j, 3 * j + 3)) / 3
            torch.testing.assert_close(getattr(gqa, name).bias[j * 4:(j + 1) * 4], expected, **EXACT)
    assert torch.equal(gqa.q_proj.weight, mha.q_proj.weight) and torch.equal(gqa.out_proj.bias, mha.out_proj.bias)
    x = torch.randn(2, 5, 24, device=device, dtype=torch.float64)
    torch.testing.assert_close(mean_pool_heads(mha, 6)(x), mha(x, x, x)[0], **EXACT)


def test_mean_pool_is_exact_when_the_heads_of_a_group_already_agree(device):
    """A multi-head model whose grouped heads share keys and values IS a GQA model; pooling recovers it."""
    torch.manual_seed(5)
    mha = MultiHeadAttention(16, 4).to(device, torch.float64)
    with torch.no_grad():
        for name in ["k_proj", "v_proj"]:
            linear = getattr(mha, name)
            linear.weight.copy_(linear.weight[:8].view(2, 1, 4, 16).expand(2, 2, 4, 16).reshape(16, 16))
            linear.bias.copy_(linear.bias[:8].view(2, 1, 4).expand(2, 2, 4).reshape(16))
    x = torch.randn(2, 6, 16, device=device, dtype=torch.float64)
    torch.testing.assert_close(mean_pool_heads(mha, 2)(x, causal=True), mha(x, x, x, causal=True)[0], **EXACT)


def test_demo_runs_and_agrees(device):
    result = demo(device)
    assert all(error < 1e-5 for error in result["errors"].values()) and len(result["errors"]) == 3
    cache = result["cache_bytes_per_token"]
    assert cache == {"MHA": 2 * 32 * 32 * 128 * 2, "GQA-8": 2 * 32 * 8 * 128 * 2, "MQA": 2 * 32 * 1 * 128 * 2}
    assert cache["MHA"] // cache["GQA-8"] == 4 and cache["MHA"] // cache["MQA"] == 32   # H / H_kv


def test_no_copy_of_the_keys_or_values_is_made():
    """The dispatch-mode probe records every tensor an aten op returns: none may be as large as
    the keys repeated per query head (B·H·L_k·d). Shapes chosen so the scores and the queries are
    smaller than that, as in decoding (few queries, many keys)."""
    B, H, H_kv, L_q, L_k, d = 2, 8, 2, 2, 12, 16
    q, k, v = qkv("cpu", H, H_kv, B=B, L_q=L_q, L_k=L_k, d=d, dtype=torch.float32)
    repeated = B * H * L_k * d
    assert B * H * L_q * max(d, L_k) < repeated   # queries, scores, weights and output are all smaller
    for causal in (False, True):
        with LargestCreated() as probe:
            output = grouped_query_attention(q, k, v, causal=causal)
        assert probe.largest < repeated, f"a tensor of {probe.largest} elements: a copy of K or V per query head"
        torch.testing.assert_close(output, F.scaled_dot_product_attention(q, k, v, is_causal=causal, enable_gqa=True),
                                   **FLOAT32)


def test_the_probe_sees_the_copy_a_broadcast_makes():
    """Negative control: the broadcast form (queries (B, H_kv, G, L, d) against keys (B, H_kv, 1, L, d))
    that this module used before does materialise G copies, and the probe says so."""
    B, H, H_kv, L_q, L_k, d = 2, 8, 2, 2, 12, 16
    q, k, v = qkv("cpu", H, H_kv, B=B, L_q=L_q, L_k=L_k, d=d, dtype=torch.float32)
    with LargestCreated() as probe:
        scaled_dot_product_attention(q.reshape(B, H_kv, H // H_kv, L_q, d), k[:, :, None], v[:, :, None])
    assert probe.largest >= B * H * L_k * d
