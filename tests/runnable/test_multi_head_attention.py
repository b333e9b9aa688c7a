"""Multi-head attention against torch's nn.MultiheadAttention with the same weights, and against
the heads computed one at a time (multi-head ≡ concatenated single heads)."""
from __future__ import annotations

import pytest
import torch
from torch import nn

from runnable.multi_head_attention import MultiHeadAttention, demo, heads_one_by_one, load_from_torch
from runnable.scaled_dot_product_attention import causal_mask, padding_mask

EXACT = dict(atol=1e-12, rtol=1e-12)   # float64: the same sums in a different order
FLOAT32 = dict(atol=1e-5, rtol=1e-5)   # float32 projections of size 16


def pair(device, d_model=12, H=3, bias=True, seed=0):
    torch.manual_seed(seed)
    theirs = nn.MultiheadAttention(d_model, H, bias=bias, batch_first=True).to(device, torch.float64)
    if bias:  # torch starts the biases at zero; random ones test that they are copied
        nn.init.normal_(theirs.in_proj_bias)
        nn.init.normal_(theirs.out_proj.bias)
    ours = MultiHeadAttention(d_model, H, bias=bias).to(device, torch.float64)
    load_from_torch(ours, theirs)
    return ours, theirs


def inputs(device, B=3, L_q=5, L_k=6, d_model=12, self_attention=False, seed=1):
    generator = torch.Generator().manual_seed(seed)
    query = torch.randn(B, L_q, d_model, generator=generator, dtype=torch.float64).to(device)
    if self_attention:
        return query, query, query
    key = torch.randn(B, L_k, d_model, generator=generator, dtype=torch.float64).to(device)
    return query, key, torch.randn(B, L_k, d_model, generator=generator, dtype=torch.float64).to(device)


CASES = ["plain", "no-bias", "key-padding", "causal", "causal+key-padding"]


def run_both(device, case):
    ours, theirs = pair(device, bias=case != "no-bias")
    self_attention = "causal" in case
    query, key, value = inputs(device, L_k=5 if self_attention else 6, self_attention=self_attention)
    L_q, L_k = query.shape[1], key.shape[1]
    mask, kwargs = None, {}
    if "padding" in case:
        mask = padding_mask(torch.tensor([L_k, 3, 1], device=device), L_k)
        kwargs["key_padding_mask"] = ~mask[:, 0, 0]                    # torch: True = ignore this key
    if "causal" in case:
        kwargs["attn_mask"] = ~causal_mask(L_q, L_k, device)            # torch: True = blocked
    got = ours(query, key, value, mask=mask, causal="causal" in case)
    expected = theirs(query, key, value, need_weights=True, average_attn_weights=False, **kwargs)
    return ours, (query, key, value, mask), got, expected


@pytest.mark.parametrize("case", CASES)
def test_matches_torch_multihead_attention(device, case):
    _, _, (output, weights), (their_output, their_weights) = run_both(device, case)
    torch.testing.assert_close(output, their_output, **EXACT)
    torch.testing.assert_close(weights, their_weights, **EXACT)            # per head: (B, H, L_q, L_k)


def test_averaged_weights_match_torch_default(device):
    """torch's default returns the head average; ours keeps the heads, whose mean must agree."""
    ours, theirs = pair(device, seed=2)
    query, key, value = inputs(device, seed=3)
    _, weights = ours(query, key, value)
    _, averaged = theirs(query, key, value)
    torch.testing.assert_close(weights.mean(1), averaged, **EXACT)


@pytest.mark.parametrize("case", CASES)
def test_equals_heads_computed_one_by_one(device, case):
    ours, (query, key, value, mask), (output, weights), _ = run_both(device, case)
    split_output, split_weights = heads_one_by_one(ours, query, key, value, mask=mask, causal="causal" in case)
    torch.testing.assert_close(output, split_output, **EXACT)
    torch.testing.assert_close(weights, split_weights, **EXACT)


def test_padded_keys_get_zero_weight_and_do_not_matter(device):
    ours, _ = pair(device, seed=4)
    query, key, value = inputs(device, seed=5)
    mask = padding_mask(torch.tensor([6, 2, 4], device=device), 6)
    output, weights = ours(query, key, value, mask=mask)
    assert torch.all(weights.masked_select(~mask) == 0)
    noise = torch.where(~mask[:, 0, 0, :, None], torch.randn_like(key), torch.zeros_like(key))
    torch.testing.assert_close(ours(query, key + noise, value - noise, mask=mask)[0], output, **EXACT)


def test_one_head_is_single_head_attention_of_the_projections(device):
    """h = 1: MultiHead = Attention(Q W^Q, K W^K, V W^V) W^O, with torch's SDPA as Attention."""
    ours, _ = pair(device, H=1, seed=6)
    query, key, value = inputs(device, seed=7)
    expected = torch.nn.functional.scaled_dot_product_attention(ours.q_proj(query), ours.k_proj(key), ours.v_proj(value))
    torch.testing.assert_close(ours(query, key, value)[0], ours.out_proj(expected), **EXACT)


def test_float32_and_gradients(device):
    """In float32 (module defaults) too, and every parameter gets a finite gradient."""
    torch.manual_seed(8)
    theirs = nn.MultiheadAttention(16, 4, batch_first=True).to(device)
    ours = MultiHeadAttention(16, 4).to(device)
    load_from_torch(ours, theirs)
    x = torch.randn(2, 7, 16, device=device)
    output, _ = ours(x, x, x, causal=True)
    expected, _ = theirs(x, x, x, attn_mask=~causal_mask(7, 7, device))
    torch.testing.assert_close(output, expected, **FLOAT32)
    output.square().sum().backward()
    for name, parameter in ours.named_parameters():
        assert parameter.grad is not None and torch.isfinite(parameter.grad).all() and parameter.grad.abs().sum() > 0, name


def test_demo_runs_and_agrees(device):
    result = demo(device)
    assert result["error_torch"] < 1e-5 and result["error_split"] < 1e-5
    assert result["parameters"] == 4 * (16 * 16 + 16)
    weights = result["weights"]
    assert weights.shape == (2, 4, 8, 8) and torch.all(weights[1, :, :, 5:] == 0)
    # the page's claim that heads differ: no two heads give the same distribution
    assert min((weights[:, i] - weights[:, j]).abs().max() for i in range(4) for j in range(i)) > 0.05
