"""FAVOR+ against the closed-form softmax kernel exp(qᵀk) (mean and variance), against torch's
scaled_dot_product_attention as m grows, and against the quadratic form written as a loop."""
from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from runnable.performer import (demo, favor_features, naive_performer_attention, performer_attention, random_projection,
                                trig_features)

EXACT = dict(atol=1e-10, rtol=1e-10)  # float64: the same sums in a different order
Z = 4.0  # statistical checks allow 4 standard errors (a fixed seed makes each run identical anyway)


def pair(device, norm_x=0.8, norm_y=0.6, seed=0, orthogonal=False):
    torch.manual_seed(seed)
    x, y = torch.randn(2, 12, dtype=torch.float64, device=device).unbind()
    if orthogonal:  # xᵀy = 0, so ‖x + y‖² = ‖x‖² + ‖y‖² exactly
        y = y - (y @ x) / (x @ x) * x
    return norm_x * x / x.norm(), norm_y * y / y.norm()


def estimates(x, y, m, orthogonal, draws, device, seed=0):
    """`draws` independent estimates of exp(xᵀy) in one call: with m a multiple of d, each draw
    is made of whole orthogonal blocks, so the draws are independent of one another."""
    d = x.shape[0]
    assert m % d == 0
    generator = torch.Generator(device=device).manual_seed(seed)
    W = random_projection(draws * m, d, orthogonal, generator, dtype=x.dtype).reshape(draws, m, d)
    phi = favor_features(torch.stack([x, y]), W)  # (draws, 2, m)
    return (phi[:, 0] * phi[:, 1]).sum(-1)


def iid_variance(x, y, m):
    """Closed form for one feature Z: E[Z²] = exp(2‖x+y‖² − ‖x‖² − ‖y‖²), E[Z] = exp(xᵀy)."""
    return (math.exp((x + y).square().sum().item()) - 1) * math.exp(2 * (x @ y).item()) / m


@pytest.mark.parametrize("orthogonal", [False, True], ids=["iid", "orthogonal"])
def test_estimator_is_unbiased(device, orthogonal):
    x, y = pair(device)
    samples = estimates(x, y, 12, orthogonal, 20_000, device)
    exact = math.exp((x @ y).item())
    standard_error = samples.std().item() / math.sqrt(len(samples))
    assert abs(samples.mean().item() - exact) < Z * standard_error
    assert standard_error < 0.01 * exact  # so the check above is tight: within 4 % of exp(xᵀy)


def test_iid_variance_matches_the_closed_form_and_orthogonal_is_lower(device):
    """‖x + y‖² = 0.98 keeps the tails light enough that the sample variance of 40000 draws is
    good to a few per cent: allow 10 %. Orthogonal features (here about 20 % lower) must beat iid
    ones by more than the 8 % margin."""
    x, y = pair(device, 0.7, 0.7, seed=1, orthogonal=True)
    iid = estimates(x, y, 12, False, 40_000, device, seed=1).var().item()
    orthogonal = estimates(x, y, 12, True, 40_000, device, seed=2).var().item()
    assert abs(iid / iid_variance(x, y, 12) - 1) < 0.10
    assert orthogonal < 0.92 * iid


def test_error_decreases_with_the_number_of_features(device):
    """Mean squared error of the kernel estimate ∝ 1/m: from m = 12 to 768 it must fall by more
    than 30× (64× expected), and at every fourfold step."""
    x, y = pair(device, seed=2)
    exact = math.exp((x @ y).item())
    mse = [((estimates(x, y, m, True, 1000, device, seed=m) - exact) ** 2).mean().item() for m in [12, 48, 192, 768]]
    assert all(later < earlier for earlier, later in zip(mse, mse[1:])), mse
    assert mse[-1] < mse[0] / 30, mse


def test_positive_features_stay_positive_where_trig_features_go_negative(device):
    """Vectors of length 1.5 at 150°: exp(xᵀy) = e^{-1.95} ≈ 0.14, small. Both estimators are
    unbiased for it (mean within 4 standard errors), but sine/cosine features estimate it below
    zero in many draws, and positive features never."""
    x, y = pair(device, 1.5, 1.5, seed=3, orthogonal=True)
    y = math.cos(math.radians(150)) * x + math.sin(math.radians(150)) * y
    W = random_projection(4000 * 12, 12, True, torch.Generator(device=device).manual_seed(3), dtype=x.dtype)
    W = W.reshape(4000, 12, 12)
    exact = math.exp((x @ y).item())
    for features in (favor_features, trig_features):
        phi = features(torch.stack([x, y]), W)
        samples = (phi[:, 0] * phi[:, 1]).sum(-1)
        assert abs(samples.mean().item() - exact) < Z * samples.std().item() / math.sqrt(4000), features.__name__
        if features is favor_features:
            assert torch.all(phi > 0) and torch.all(samples > 0)
        else:
            assert (samples < 0).float().mean() > 0.2


def test_orthogonal_projection_rows_are_orthogonal_within_each_block(device):
    W = random_projection(30, 12, orthogonal=True, generator=torch.Generator(device=device).manual_seed(4),
                          dtype=torch.float64)
    assert W.shape == (30, 12)
    for block in W.split(12):
        gram = block @ block.T
        torch.testing.assert_close(gram - torch.diag(gram.diagonal()), torch.zeros_like(gram), atol=1e-12, rtol=0)


def test_performer_approaches_softmax_attention_as_m_grows(device):
    """With q, k scaled by d^(-1/4), exp(qᵀk) is the kernel of softmax(QKᵀ/√d). Moderate norms
    (entries N(0, 0.25)) keep the variance small: the error must shrink at every fourfold m and
    end far below that of ignoring the queries (uniform weights)."""
    torch.manual_seed(5)
    generator = torch.Generator(device=device).manual_seed(5)
    d = 16
    q, k, v = torch.randn(3, 2, 4, 64, d, device=device).unbind()
    q, k = 0.5 * q, 0.5 * k
    exact = F.scaled_dot_product_attention(q, k, v)
    uniform = (v.mean(-2, keepdim=True) - exact).abs().mean().item()
    errors = [sum((performer_attention(q / d ** 0.25, k / d ** 0.25, v, random_projection(m, d, generator=generator))
                   - exact).abs().mean().item() for _ in range(6)) / 6 for m in [16, 256, 4096]]
    assert errors[0] > errors[1] > errors[2], errors
    assert errors[2] < uniform / 4, (errors, uniform)


def loop_attention(phi_q, phi_k, v, causal):
    """o_i = Σ_j K(i, j) v_j / Σ_j K(i, j) with K(i, j) = φ(q_i)ᵀφ(k_j), one query at a time."""
    rows = []
    for i in range(phi_q.shape[-2]):
        visible = range(i + 1) if causal else range(phi_k.shape[-2])
        weights = [(phi_q[..., i, :] * phi_k[..., j, :]).sum(-1, keepdim=True) for j in visible]
        rows.append(sum(w * v[..., j, :] for w, j in zip(weights, visible)) / sum(weights))
    return torch.stack(rows, -2)


@pytest.mark.parametrize("causal", [False, True], ids=["full", "causal"])
def test_linear_time_form_equals_the_quadratic_form_with_the_same_features(device, causal):
    torch.manual_seed(6)
    q, k = (0.5 * torch.randn(2, 3, 9, 5, dtype=torch.float64, device=device)).unbind()
    v = torch.randn(3, 9, 4, dtype=torch.float64, device=device)
    W = random_projection(7, 5, generator=torch.Generator(device=device).manual_seed(6), dtype=torch.float64)
    expected = loop_attention(favor_features(q, W), favor_features(k, W), v, causal)
    torch.testing.assert_close(performer_attention(q, k, v, W, causal), expected, **EXACT)
    torch.testing.assert_close(naive_performer_attention(q, k, v, W, causal), expected, **EXACT)


def test_cross_attention_with_different_lengths(device):
    torch.manual_seed(7)
    q, k, v = (torch.randn(2, L, 6, dtype=torch.float64, device=device) for L in (3, 11, 11))
    W = random_projection(10, 6, generator=torch.Generator(device=device).manual_seed(7), dtype=torch.float64)
    out = performer_attention(q, k, v, W)
    assert out.shape == (2, 3, 6)
    torch.testing.assert_close(out, loop_attention(favor_features(q, W), favor_features(k, W), v, False), **EXACT)


def test_demo_runs_and_agrees(device):
    result = demo(device)
    assert result["causal_gap"] < 1e-5
    for kind, (mean, variance, smallest) in result["stats"].items():
        assert abs(mean - result["kernel"]) < Z * math.sqrt(variance / 2000), kind
        assert smallest > 0
    assert abs(result["stats"]["iid"][1] / result["variance_closed_form"] - 1) < 0.15
    assert result["stats"]["orthogonal"][1] < result["stats"]["iid"][1]
    small, large = result["errors"][0.5], result["errors"][1.0]
    assert all(b < a for a, b in zip(small, small[1:])) and small[-1] < result["uniform_baseline"][0.5] / 4
    assert large[-1] > small[-1] * 5  # larger norms, far larger error at the same m
    assert large[-1] > result["uniform_baseline"][1.0] / 2  # the page: σ = 1 barely beats uniform weights
