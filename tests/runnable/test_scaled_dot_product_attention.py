"""Scaled dot-product attention against torch's F.scaled_dot_product_attention, against a loop
over the equations, and against closed forms for the masks."""
from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from runnable.scaled_dot_product_attention import (causal_mask, demo, naive_scaled_dot_product_attention,
                                                   padding_mask, scaled_dot_product_attention)

EXACT = dict(atol=1e-12, rtol=1e-12)     # float64, sums over at most 8 terms: only rounding differs
FLOAT32 = dict(atol=1e-5, rtol=1e-5)     # float32 matmuls of size ≤ 16 (no TF32: off by default for matmul)


def qkv(device, B=3, H=2, L_q=5, L_k=7, d=4, d_v=3, dtype=torch.float64, seed=0):
    generator = torch.Generator().manual_seed(seed)
    return [torch.randn(B, H, L, n, generator=generator, dtype=dtype).to(device)
            for L, n in [(L_q, d), (L_k, d), (L_k, d_v)]]


def lengths_mask(device, L_k=7):
    return padding_mask(torch.tensor([7, 3, 1], device=device), L_k)


CASES = {
    "plain": lambda device: dict(),
    "padding": lambda device: dict(mask=lengths_mask(device)),
    "causal": lambda device: dict(causal=True),
    "causal+padding": lambda device: dict(mask=lengths_mask(device), causal=True),
    "scale": lambda device: dict(scale=0.3),
    "2d-mask": lambda device: dict(mask=torch.rand(5, 7, generator=torch.Generator().manual_seed(1)).to(device) < 0.7),
}


def torch_reference(q, k, v, mask=None, causal=False, scale=None):
    """torch refuses attn_mask together with is_causal, so the causal part joins the mask there."""
    if mask is not None and causal:
        mask, causal = mask & causal_mask(q.shape[-2], k.shape[-2], q.device), False
    return F.scaled_dot_product_attention(q, k, v, attn_mask=mask, is_causal=causal, scale=scale)


def every_row_has_a_key(q, k, mask=None, causal=False):
    allowed = torch.ones(q.shape[-2], k.shape[-2], dtype=torch.bool, device=q.device) if mask is None else mask
    if causal:
        allowed = allowed & causal_mask(q.shape[-2], k.shape[-2], q.device)
    return bool(allowed.any(-1).all())


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=str)
def test_matches_torch_sdpa(device, case, dtype):
    q, k, v = qkv(device, dtype=dtype)
    kwargs = CASES[case](device)
    # rows with no allowed key are our own convention, not a comparison with torch
    assert every_row_has_a_key(q, k, **{n: a for n, a in kwargs.items() if n != "scale"})
    tolerance = EXACT if dtype == torch.float64 else FLOAT32
    output, weights = scaled_dot_product_attention(q, k, v, **kwargs)
    torch.testing.assert_close(output, torch_reference(q, k, v, **kwargs), **tolerance)
    torch.testing.assert_close(weights.sum(-1), torch.ones_like(weights[..., 0]), **tolerance)


@pytest.mark.parametrize("case", CASES)
def test_matches_the_loop(device, case):
    q, k, v = qkv(device, seed=2)
    kwargs = CASES[case](device)
    for got, expected in zip(scaled_dot_product_attention(q, k, v, **kwargs),
                             naive_scaled_dot_product_attention(q, k, v, **kwargs)):
        torch.testing.assert_close(got, expected, **EXACT)


def test_masks_closed_form(device):
    expected = torch.tensor([[1, 0, 0, 0, 0], [1, 1, 0, 0, 0], [1, 1, 1, 0, 0]], dtype=torch.bool)
    assert torch.equal(causal_mask(3, 5, device).cpu(), expected)           # top-left: query i sees j ≤ i
    mask = padding_mask(torch.tensor([3, 0, 5], device=device), 5)
    assert mask.shape == (3, 1, 1, 5) and mask.dtype == torch.bool
    assert mask[:, 0, 0].cpu().tolist() == [[True] * 3 + [False] * 2, [False] * 5, [True] * 5]


def test_causal_with_more_keys_than_queries_is_top_left_like_torch(device):
    q, k, v = qkv(device, L_q=3, L_k=6, seed=3)
    output, weights = scaled_dot_product_attention(q, k, v, causal=True)
    torch.testing.assert_close(output, F.scaled_dot_product_attention(q, k, v, is_causal=True), **EXACT)
    assert torch.all(weights[..., 0, 1:] == 0) and torch.all(weights[..., 2, 3:] == 0)


def test_padded_keys_get_zero_weight_and_do_not_change_the_output(device):
    q, k, v = qkv(device, seed=4)
    mask = lengths_mask(device)
    output, weights = scaled_dot_product_attention(q, k, v, mask=mask, causal=True)
    assert torch.all(weights.masked_select(~mask) == 0)
    padded = ~mask[:, 0, 0, :, None]                                      # (B, L_k, 1) over keys
    k2 = torch.where(padded[:, None], 1e3 * torch.randn_like(k), k)        # wild values at the padding
    v2 = torch.where(padded[:, None], 1e3 * torch.randn_like(v), v)
    output2, weights2 = scaled_dot_product_attention(q, k2, v2, mask=mask, causal=True)
    # Masked scores become -∞ before the softmax, so nothing of the padded keys survives: equal bit for bit.
    assert torch.equal(output, output2) and torch.equal(weights, weights2)


def test_fully_masked_row_gives_zero_output_zero_weights_and_zero_gradients(device):
    """Our documented choice for a query with no key to attend to (length 0 here)."""
    q, k, v = qkv(device, seed=5)
    for t in (q, k, v):
        t.requires_grad_(True)
    mask = padding_mask(torch.tensor([7, 0, 2], device=device), 7)
    output, weights = scaled_dot_product_attention(q, k, v, mask=mask)
    assert torch.all(output[1] == 0) and torch.all(weights[1] == 0)
    # the other examples are what they would be on their own
    alone, _ = scaled_dot_product_attention(q[2:], k[2:], v[2:], mask=mask[2:])
    torch.testing.assert_close(output[2:], alone, **EXACT)
    output.square().sum().backward()
    for t in (q, k, v):
        assert torch.isfinite(t.grad).all() and torch.all(t.grad[1] == 0)


def test_default_scale_is_one_over_sqrt_d(device):
    q, k, v = qkv(device, d=9, seed=6)
    default, _ = scaled_dot_product_attention(q, k, v)
    by_hand, _ = scaled_dot_product_attention(q / math.sqrt(9), k, v, scale=1.0)
    torch.testing.assert_close(default, by_hand, **EXACT)


def test_demo_runs_and_agrees(device):
    result = demo(device)
    assert result["error_loop"] < 1e-5 and result["error_torch"] < 1e-5
    weights = result["weights"]
    assert torch.all(weights.triu(1) == 0)                   # causal
    assert torch.all(weights[1, :, 4:] == 0)                 # example 2 has length 4
    torch.testing.assert_close(weights.sum(-1), torch.ones(2, 6), **FLOAT32)
    # the page's claims: q·k has std ≈ √d; unscaled entropy collapses with d, scaled stays near ln 32
    for dim, std in zip(result["dims"], result["std"]):
        assert 0.6 * math.sqrt(dim) < std < 1.4 * math.sqrt(dim)
    unscaled = result["entropy_unscaled"]
    assert all(a > b for a, b in zip(unscaled, unscaled[1:])) and unscaled[-1] < 0.5
    assert all(e > 2.5 for e in result["entropy_scaled"])
