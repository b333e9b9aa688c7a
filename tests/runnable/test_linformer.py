"""Linformer against torch's scaled_dot_product_attention (identity projections, and attention over
explicitly projected keys and values), against torch.nn.MultiheadAttention, and its O(n k) memory."""
from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from runnable.linformer import LinformerSelfAttention, demo, linformer_attention, segment_means
from tests.runnable.probes import LargestCreated

EXACT = dict(atol=1e-10, rtol=1e-10)  # float64: the same sums in a different order


def qkv(device, L=10, n=12, d=6, d_v=5, seed=0):
    torch.manual_seed(seed)
    return (torch.randn(2, 3, L, d, dtype=torch.float64, device=device),
            torch.randn(2, 3, n, d, dtype=torch.float64, device=device),
            torch.randn(2, 3, n, d_v, dtype=torch.float64, device=device))


@pytest.mark.parametrize("L", [12, 7], ids=["self", "shorter-queries"])
def test_identity_projections_give_softmax_attention(device, L):
    q, k, v = qkv(device, L=L)
    identity = torch.eye(12, dtype=torch.float64, device=device)
    out, weights = linformer_attention(q, k, v, identity, identity)
    torch.testing.assert_close(out, F.scaled_dot_product_attention(q, k, v), **EXACT)
    torch.testing.assert_close(weights, torch.softmax(q @ k.transpose(-2, -1) / math.sqrt(6), -1), **EXACT)


def test_equals_attention_over_projected_keys_and_values(device):
    """Independent: project by a loop over k rows and n positions, then hand the k summary keys
    and values to torch's SDPA."""
    q, k, v = qkv(device, seed=1)
    E, F_ = torch.randn(2, 4, 12, dtype=torch.float64, device=device).unbind()
    keys = torch.stack([sum(E[r, s] * k[..., s, :] for s in range(12)) for r in range(4)], -2)
    values = torch.stack([sum(F_[r, s] * v[..., s, :] for s in range(12)) for r in range(4)], -2)
    out, _ = linformer_attention(q, k, v, E, F_)
    torch.testing.assert_close(out, F.scaled_dot_product_attention(q, keys, values), **EXACT)


@pytest.mark.parametrize("n, k", [(12, 4), (40, 4), (40, 16)])
def test_shapes_and_weights_are_L_by_k(device, n, k):
    q, key, v = qkv(device, L=n, n=n, seed=2)
    E, F_ = torch.randn(2, k, n, dtype=torch.float64, device=device).unbind()
    out, weights = linformer_attention(q, key, v, E, F_)
    assert out.shape == (2, 3, n, 5) and weights.shape == (2, 3, n, k)
    assert torch.all(weights >= 0)
    torch.testing.assert_close(weights.sum(-1), torch.ones(2, 3, n, dtype=torch.float64, device=device), **EXACT)


def test_nothing_of_size_n_squared_is_created(device):
    n, k, d = 512, 16, 8
    q, key, v = torch.randn(3, n, d, device=device).unbind()
    E, F_ = torch.randn(2, k, n, device=device).unbind()
    with LargestCreated() as probe:
        linformer_attention(q, key, v, E, F_)
    assert probe.largest <= max(n * k, n * d) < n * n


def test_module_with_identity_projections_equals_torch_multihead_attention(device):
    torch.manual_seed(3)
    layer = LinformerSelfAttention(d_model=12, heads=3, seq_len=9, k=9).to(device, torch.float64)
    with torch.no_grad():
        layer.E.copy_(torch.eye(9))
        layer.F.copy_(torch.eye(9))
    reference = torch.nn.MultiheadAttention(12, 3, batch_first=True).to(device, torch.float64)
    with torch.no_grad():
        reference.in_proj_weight.copy_(torch.cat([layer.W_q.weight, layer.W_k.weight, layer.W_v.weight]))
        reference.in_proj_bias.copy_(torch.cat([layer.W_q.bias, layer.W_k.bias, layer.W_v.bias]))
        reference.out_proj.weight.copy_(layer.W_o.weight)
        reference.out_proj.bias.copy_(layer.W_o.bias)
    x = torch.randn(2, 9, 12, dtype=torch.float64, device=device)
    out, weights = layer(x)
    expected, expected_weights = reference(x, x, x, average_attn_weights=False)
    torch.testing.assert_close(out, expected, **EXACT)
    torch.testing.assert_close(weights, expected_weights, **EXACT)


def test_module_shapes_and_gradients_reach_the_projections(device):
    torch.manual_seed(4)
    layer = LinformerSelfAttention(d_model=16, heads=4, seq_len=32, k=8).to(device)
    out, weights = layer(torch.randn(3, 32, 16, device=device))
    assert out.shape == (3, 32, 16) and weights.shape == (3, 4, 32, 8)
    out.square().sum().backward()
    for name, parameter in layer.named_parameters():
        assert parameter.grad is not None and parameter.grad.abs().sum() > 0, name


def test_segment_means_average_consecutive_positions(device):
    E = segment_means(3, 12, device, torch.float64)
    x = torch.arange(12, dtype=torch.float64, device=device)[:, None]
    torch.testing.assert_close(E @ x, torch.tensor([[1.5], [5.5], [9.5]], dtype=torch.float64, device=device), **EXACT)


def test_demo_runs_and_agrees(device):
    result = demo(device)
    assert result["identity_error"] < 1e-5
    for name in ["random tokens", "smooth tokens"]:
        spectrum, errors, energy = result["spectrum"][name], result["errors"][name], result["energy"][name]
        assert torch.all(spectrum[1:] <= spectrum[:-1]) and spectrum[63] < 0.1 * spectrum[0]  # they decay
        assert errors[-1] < 1e-5  # k = n: segment means of length 1 are the identity
        assert all(b <= a + 1e-3 for a, b in zip(errors, errors[1:]))  # more summary keys, no worse
    # The page's claims: smooth sequences are nearly rank 16 and Linformer is accurate at k = 16;
    # for random tokens the spectrum is flatter and small k does no better than uniform weights.
    assert result["energy"]["smooth tokens"][2] > 0.99 and result["energy"]["random tokens"][2] < 0.8
    assert result["errors"]["smooth tokens"][2] < 0.1 * result["uniform"]["smooth tokens"]
    assert result["errors"]["random tokens"][2] > 0.9 * result["uniform"]["random tokens"]
