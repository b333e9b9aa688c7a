"""Differential attention against a loop written from the Differential Transformer's equations and
against two calls of torch's SDPA; the λ re-parameterisation; the common-mode cancellation and
its negative control."""
from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from runnable.differential_attention import DifferentialAttention, demo, differential_attention, lambda_init

EXACT = dict(atol=1e-12, rtol=1e-12)   # float64: the same sums in another order
FLOAT32 = dict(atol=1e-5, rtol=1e-5)   # float32, head width ≤ 16


def layer(device, dtype=torch.float64, d_model=24, num_heads=2, layer_index=4, seed=0):
    torch.manual_seed(seed)
    return DifferentialAttention(d_model, num_heads, layer_index).to(device, dtype)


def tokens(device, B=2, L=6, d_model=24, dtype=torch.float64, seed=1):
    generator = torch.Generator().manual_seed(seed)
    return torch.randn(B, L, d_model, generator=generator, dtype=dtype).to(device)


def loop_reference(model: DifferentialAttention, x, causal):
    """One head and one query at a time: two softmaxes over the visible keys, their difference
    with λ, times V, RMSNorm over the head's 2d features with the learned weight, (1 − λ_init)."""
    B, L, d_model = x.shape
    H, d = model.num_heads, model.d
    q, k, v = (x @ proj.weight.T for proj in (model.q_proj, model.k_proj, model.v_proj))
    lq1, lk1, lq2, lk2 = model.lambda_vectors
    lam = math.exp((lq1 @ lk1).item()) - math.exp((lq2 @ lk2).item()) + model.lambda_init
    heads = torch.zeros(B, L, H, 2 * d, dtype=x.dtype, device=x.device)
    for b in range(B):
        for h in range(H):
            base = h * 2 * d                                   # head h: Q_1 then Q_2, d features each
            for t in range(L):
                visible = range(t + 1) if causal else range(L)
                s1 = torch.stack([q[b, t, base:base + d] @ k[b, j, base:base + d] for j in visible]) / math.sqrt(d)
                s2 = torch.stack([q[b, t, base + d:base + 2 * d] @ k[b, j, base + d:base + 2 * d] for j in visible])
                weights = torch.softmax(s1, 0) - lam * torch.softmax(s2 / math.sqrt(d), 0)
                out = sum(w * v[b, j, h * 2 * d:(h + 1) * 2 * d] for w, j in zip(weights, visible))
                rms = torch.sqrt((out ** 2).mean() + model.norm.eps)
                heads[b, t, h] = (1 - model.lambda_init) * out / rms * model.norm.weight
    return model.out_proj(heads.reshape(B, L, d_model))


@pytest.mark.parametrize("causal", [True, False], ids=["causal", "full"])
def test_module_matches_a_loop_over_heads_and_queries(device, causal):
    model, x = layer(device), tokens(device)
    with torch.no_grad():
        torch.nn.init.normal_(model.norm.weight)               # a non-trivial norm weight must be applied too
        torch.testing.assert_close(model(x, causal)[0], loop_reference(model, x, causal), **EXACT)


@pytest.mark.parametrize("causal", [True, False], ids=["causal", "full"])
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=str)
def test_difference_of_maps_equals_two_torch_sdpa_calls(device, causal, dtype):
    """(A_1 − λ A_2) V = A_1 V − λ A_2 V: two ordinary attention calls over the same values."""
    generator = torch.Generator().manual_seed(2)
    q1, k1, q2, k2 = (torch.randn(2, 3, 5, 4, generator=generator, dtype=dtype).to(device) for _ in range(4))
    v = torch.randn(2, 3, 5, 8, generator=generator, dtype=dtype).to(device)
    lam = 0.37
    output, difference = differential_attention(q1, k1, q2, k2, v, lam, causal)
    reference = (F.scaled_dot_product_attention(q1, k1, v, is_causal=causal)
                 - lam * F.scaled_dot_product_attention(q2, k2, v, is_causal=causal))
    tolerance = EXACT if dtype == torch.float64 else FLOAT32
    torch.testing.assert_close(output, reference, **tolerance)
    # each row of the differential map sums to 1 − λ, and causal rows put nothing on future keys
    torch.testing.assert_close(difference.sum(-1), torch.full_like(difference[..., 0], 1 - lam), **tolerance)
    if causal:
        assert (difference.triu(1) == 0).all()


def test_lambda_reparameterisation(device):
    model = layer(device)
    q1, k1, q2, k2 = model.lambda_vectors.detach()
    expected = math.exp((q1 @ k1).item()) - math.exp((q2 @ k2).item()) + lambda_init(4)
    assert model.lam().item() == pytest.approx(expected, abs=1e-12)
    with torch.no_grad():
        model.lambda_vectors.zero_()                            # exp(0) − exp(0) = 0: λ = λ_init
    assert model.lam().item() == pytest.approx(model.lambda_init, abs=1e-15)
    assert model.lam().requires_grad                            # λ is learned through the four vectors


def test_equal_maps_cancel_and_lambda_zero_is_ordinary_attention(device):
    generator = torch.Generator().manual_seed(3)
    q, k = (torch.randn(1, 2, 5, 4, generator=generator, dtype=torch.float64).to(device) for _ in range(2))
    v = torch.randn(1, 2, 5, 6, generator=generator, dtype=torch.float64).to(device)
    output, _ = differential_attention(q, k, q, k, v, 1.0)      # common mode, λ = 1: nothing left
    torch.testing.assert_close(output, torch.zeros_like(output), **EXACT)
    output, _ = differential_attention(q, k, q.flip(-1), k, v, 0.0)
    torch.testing.assert_close(output, F.scaled_dot_product_attention(q, k, v), **EXACT)
    output, _ = differential_attention(q, k, q.flip(-1), k, v, 1.0)  # negative control: different maps don't cancel
    assert output.abs().max() > 1e-3


def test_module_shapes_and_parameters(device):
    model = DifferentialAttention(32, 4, layer=1).to(device)
    assert model.d == 4 and model.norm.weight.shape == (8,) and model.lambda_vectors.shape == (4, 4)
    output, difference = model(torch.randn(3, 7, 32, device=device), causal=True)
    assert output.shape == (3, 7, 32) and difference.shape == (3, 4, 7, 7)


def test_demo_runs_cancels_the_distractors_and_agrees(device):
    result = demo(device)
    assert result["error"] < 1e-12
    maps, needle = result["maps"], result["needle"]
    plain, cancelled = maps[0.0], maps[result["cancelling_lambda"]]
    others = lambda w: torch.cat([w[:needle], w[needle + 1:]]).abs().sum().item()   # noqa: E731
    assert others(plain) > 0.1 and others(cancelled) < 1e-12
    assert cancelled[needle] > 0.3
