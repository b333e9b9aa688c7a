"""Linear attention: the parallel form against a double loop over the kernel φ(q)ᵀφ(k), the causal
parallel form against the recurrent (RNN) form, the unnormalised identity-map form against the
fast weight programmer (Schlag et al. 2021), and closed forms."""
from __future__ import annotations

import pytest
import torch

from runnable.fast_weights import fast_weight_programmer
from runnable.linear_attention import (demo, elu_feature_map, linear_attention, linear_attention_recurrent,
                                       naive_linear_attention, recurrent_step)

FLOAT64 = dict(atol=1e-10, rtol=1e-10)  # float64, sums over at most a few dozen positions
FLOAT32 = dict(atol=1e-5, rtol=1e-5)    # float32: cumulative sums vs the step-by-step recurrence
IDENTITY = lambda x: x                  # noqa: E731


def qkv(device, dtype=torch.float64, batch=(2, 3), L_q=10, L_k=10, d=4, d_v=5, seed=0):
    generator = torch.Generator().manual_seed(seed)
    return [torch.randn(*batch, n, m, generator=generator, dtype=dtype).to(device)
            for n, m in ((L_q, d), (L_k, d), (L_k, d_v))]


@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize("normalize", [True, False])
@pytest.mark.parametrize("feature_map", [elu_feature_map, torch.exp], ids=["elu+1", "exp"])
def test_parallel_form_matches_the_double_loop(device, causal, normalize, feature_map):
    q, k, v = qkv(device, batch=(), L_q=7, L_k=7 if causal else 9)
    torch.testing.assert_close(linear_attention(q, k, v, causal, feature_map, normalize=normalize),
                               naive_linear_attention(q, k, v, causal, feature_map, normalize=normalize), **FLOAT64)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("normalize", [True, False])
def test_parallel_causal_equals_recurrent(device, dtype, normalize):
    q, k, v = qkv(device, dtype, L_q=33, L_k=33, seed=1)
    tolerance = FLOAT64 if dtype == torch.float64 else FLOAT32
    torch.testing.assert_close(linear_attention(q, k, v, causal=True, normalize=normalize),
                               linear_attention_recurrent(q, k, v, normalize=normalize), **tolerance)


def test_unnormalised_identity_map_is_the_fast_weight_programmer(device):
    """φ = identity, no denominator: φ(Q_i)ᵀ Σ_{j≤i} K_j V_jᵀ = W_i Q_i with W_i = Σ_{j≤i} V_j K_jᵀ."""
    q, k, v = qkv(device, seed=2)
    expected = fast_weight_programmer(q, k, v)
    torch.testing.assert_close(linear_attention(q, k, v, True, IDENTITY, normalize=False), expected, **FLOAT64)
    torch.testing.assert_close(linear_attention_recurrent(q, k, v, IDENTITY, normalize=False), expected, **FLOAT64)


def test_non_causal_identity_map_closed_form(device):
    """Without normaliser and φ = identity the whole thing is Q (Kᵀ V) = (Q Kᵀ) V."""
    q, k, v = qkv(device, L_k=13, seed=3)
    torch.testing.assert_close(linear_attention(q, k, v, False, IDENTITY, normalize=False),
                               (q @ k.transpose(-1, -2)) @ v, **FLOAT64)


def test_positive_feature_map_gives_a_weighted_average(device):
    """elu + 1 > 0, so the weights are positive and sum to one (up to eps): constant values pass
    through unchanged, and every output lies within the range of the values."""
    q, k, v = qkv(device, seed=4)
    assert torch.all(elu_feature_map(torch.linspace(-30, 30, 101, dtype=torch.float64)) > 0)
    ones = torch.ones_like(v)
    for causal in (False, True):
        torch.testing.assert_close(linear_attention(q, k, ones, causal, eps=0.0), ones, **FLOAT64)
        out = linear_attention(q, k, v, causal)
        assert torch.all(out <= v.amax(-2, keepdim=True) + 1e-12) and torch.all(out >= v.amin(-2, keepdim=True) - 1e-12)


def test_recurrent_state_has_fixed_size(device):
    """The constant cost per token: the state after t tokens has d·d_v + d numbers whatever t is."""
    q, k, v = qkv(device, batch=(), L_q=50, L_k=50, seed=5)
    state, normaliser = torch.zeros(4, 5, dtype=q.dtype, device=device), torch.zeros(4, dtype=q.dtype, device=device)
    for t in range(50):
        _, state, normaliser = recurrent_step(state, normaliser, q[t], k[t], v[t])
        assert state.shape == (4, 5) and normaliser.shape == (4,)


def test_causal_output_ignores_the_future(device):
    q, k, v = qkv(device, seed=6)
    out = linear_attention(q, k, v, causal=True)
    k2, v2 = k.clone(), v.clone()
    k2[..., 6:, :], v2[..., 6:, :] = 0.0, 100.0
    torch.testing.assert_close(linear_attention(q, k2, v2, causal=True)[..., :6, :], out[..., :6, :], **FLOAT64)


def test_elu_kernel_is_flatter_than_softmax_on_random_inputs(device):
    """The page's claim: for Gaussian queries and keys (d = 8, 8 keys) the elu + 1 weights peak lower
    than softmax(q·k/√d) in the large majority of draws (about 98%; asserted > 90% of 2000)."""
    generator = torch.Generator().manual_seed(7)
    q, k = torch.randn(2000, 1, 8, generator=generator).to(device), torch.randn(2000, 8, 8, generator=generator).to(device)
    sim = elu_feature_map(q) @ elu_feature_map(k).transpose(1, 2)
    linear_peak = (sim / sim.sum(-1, keepdim=True)).amax(-1)
    softmax_peak = torch.softmax(q @ k.transpose(1, 2) / 8 ** 0.5, dim=-1).amax(-1)
    assert (linear_peak < softmax_peak).float().mean() > 0.9


def test_demo_runs_and_agrees(device):
    result = demo(device)
    assert all(error < 1e-10 for error in result["errors"].values()), result["errors"]
    assert result["state_size"] == 32 * 32 + 32
    assert set(result["median_us"]) == {"linear (recurrent)", "softmax (KV cache)"}
    assert all(t > 0 for row in result["median_us"].values() for t in row)
