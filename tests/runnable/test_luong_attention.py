"""Luong global and local-p attention against the equations written as a loop, against torch's
scaled_dot_product_attention, and against closed forms for the window and the Gaussian."""
from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from runnable.luong_attention import LuongAttention, demo, naive_luong_attention

TOLERANCE = dict(atol=1e-5, rtol=1e-5)  # float32, sums over at most 10 terms
VARIANTS = [dict(score="dot"), dict(score="general"), dict(score="concat", align_size=7),
            dict(score="general", window=2), dict(score="concat", window=1, align_size=7), dict(score="dot", window=3)]


def padded_batch(device, S=8, d=6, seed=0):
    torch.manual_seed(seed)
    h, source = torch.randn(3, d, device=device), torch.randn(3, S, d, device=device)
    mask = torch.ones(3, S, dtype=torch.bool, device=device)
    mask[1, 5:] = False
    mask[2, 2:] = False
    return h, source, mask


@pytest.mark.parametrize("kwargs", VARIANTS, ids=lambda k: "-".join(map(str, k.values())))
def test_matches_the_loop_with_padding(device, kwargs):
    attention = LuongAttention(6, **kwargs).to(device)
    if "window" in kwargs:
        torch.nn.init.normal_(attention.v_p.weight, std=3.0)  # spread p_t over the source
    h, source, mask = padded_batch(device)
    out, ref = attention(h, source, mask), naive_luong_attention(attention, h, source, mask)
    for name, got, expected in zip(["h̃_t", "c_t", "a_t", "p_t"], out, ref):
        if got is None:
            assert expected is None and "window" not in kwargs
            continue
        torch.testing.assert_close(got, expected, **TOLERANCE, msg=name)
    assert torch.all(out[2][~mask] == 0)


@pytest.mark.parametrize("score", ["dot", "general"])
def test_global_context_matches_torch_sdpa(device, score):
    """Independent: torch's scaled_dot_product_attention with scale 1 and keys h̄_s (dot) or W_a h̄_s (general)."""
    attention = LuongAttention(6, score).to(device)
    h, source, mask = padded_batch(device, seed=1)
    _, context, weights, _ = attention(h, source, mask)
    keys = source if score == "dot" else attention.W_a(source)
    expected = F.scaled_dot_product_attention(h[:, None, None], keys[:, None], source[:, None],
                                              attn_mask=mask[:, None, None], scale=1.0)[:, 0, 0]
    torch.testing.assert_close(context, expected, **TOLERANCE)
    torch.testing.assert_close(weights.sum(-1), torch.ones(3, device=device), **TOLERANCE)


def test_attentional_state_closed_form(device):
    """h̃_t = tanh(W_c [c_t ; h_t]), with W_c split by hand into its c_t and h_t halves."""
    attention = LuongAttention(6, "dot").to(device)
    h, source, _ = padded_batch(device, seed=2)
    h_tilde, context, _, _ = attention(h, source)
    W_c = attention.W_c.weight
    torch.testing.assert_close(h_tilde, torch.tanh(context @ W_c[:, :6].T + h @ W_c[:, 6:].T), **TOLERANCE)


def test_local_p_window_and_gaussian_closed_form(device):
    """v_p = 0 gives p_t = S/2 exactly; equal source states give equal scores, so align is uniform
    over the window and a_t(s) = exp(-(s - p_t)^2 / (2σ^2)) / |window|, zero outside it."""
    attention = LuongAttention(4, "dot", window=2).to(device)
    torch.nn.init.zeros_(attention.v_p.weight)
    source = torch.randn(1, 1, 4, device=device).expand(2, 10, 4)
    mask = torch.ones(2, 10, dtype=torch.bool, device=device)
    mask[1, 6:] = False                                     # second example: S = 6, so p_t = 3
    _, _, weights, position = attention(torch.randn(2, 4, device=device), source, mask)
    torch.testing.assert_close(position, torch.tensor([5.0, 3.0], device=device))
    expected = torch.zeros(2, 10)
    for b, p in enumerate([5, 3]):
        for s in range(p - 2, p + 3):                       # positions counted from 1
            expected[b, s - 1] = math.exp(-(s - p) ** 2 / (2 * 1.0 ** 2)) / 5
    torch.testing.assert_close(weights, expected.to(device), **TOLERANCE)


def test_local_p_is_zero_outside_the_window_and_sums_below_one(device):
    attention = LuongAttention(6, "general", window=1).to(device)
    torch.nn.init.normal_(attention.v_p.weight, std=3.0)
    h, source, mask = padded_batch(device, S=12, seed=3)
    _, _, weights, position = attention(h, source, mask)
    s = torch.arange(1, 13, device=device)
    outside = (s[None] - position[:, None]).abs() > 1
    assert outside.any() and torch.all(weights[outside] == 0)
    assert torch.all(position > 0) and torch.all(position < mask.sum(-1))  # p_t ∈ (0, S) per example
    assert torch.all(weights.sum(-1) <= 1 + 1e-6) and torch.all(weights.sum(-1) < 1)


def test_local_p_with_a_huge_window_is_global_attention(device):
    """D = 10^4 ≥ S puts every position in the window, and σ = 5000 makes the Gaussian ≥ 1 - 3e-6."""
    torch.manual_seed(4)
    local = LuongAttention(6, "general", window=10_000).to(device)
    global_ = LuongAttention(6, "general").to(device)
    global_.load_state_dict({k: v for k, v in local.state_dict().items() if k.startswith(("W_a", "W_c"))})
    h, source, mask = padded_batch(device, seed=5)
    for got, expected in zip(local(h, source, mask)[:3], global_(h, source, mask)[:3]):
        torch.testing.assert_close(got, expected, **TOLERANCE)


def test_batching_does_not_mix_examples(device):
    attention = LuongAttention(6, "concat", window=2, align_size=5).to(device)
    h, source, _ = padded_batch(device, seed=6)
    batched = attention(h, source)[0]
    single = torch.cat([attention(h[i:i + 1], source[i:i + 1])[0] for i in range(3)])
    torch.testing.assert_close(batched, single, **TOLERANCE)


@pytest.mark.parametrize("kwargs", VARIANTS[:4], ids=lambda k: "-".join(map(str, k.values())))
def test_gradients_reach_every_parameter(device, kwargs):
    """For local-p the Gaussian makes p_t differentiable, so W_p and v_p learn too."""
    attention = LuongAttention(6, **kwargs).to(device)
    h, source, mask = padded_batch(device, seed=7)
    source.requires_grad_(True)
    attention(h, source, mask)[0].square().sum().backward()
    for name, parameter in attention.named_parameters():
        assert parameter.grad is not None and torch.isfinite(parameter.grad).all(), name
        assert parameter.grad.abs().sum() > 0, name
    assert torch.all(source.grad[~mask] == 0)


def test_demo_runs_and_agrees(device):
    result = demo(device)
    assert result["max_error"] < 1e-5
    assert result["names"] == ["dot", "general", "concat", "local-p"]
    torch.testing.assert_close(result["weights"][:3].sum(-1), torch.ones(3), **TOLERANCE)
