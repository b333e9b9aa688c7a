"""Sigma-pi units against a loop, against closed forms (XOR, the switch, a linear unit), against
torch's scaled_dot_product_attention (gating values by weights), and the impossibility of XOR and
the multiplexer for a single linear threshold unit."""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from runnable.sigma_pi_units import (MUX, XOR, best_threshold_unit, boolean_inputs, demo, gated_sum,
                                     naive_sigma_pi, sigma_pi)

EXACT = dict(atol=1e-12, rtol=1e-12)     # float64, a handful of products and sums
FLOAT32 = dict(atol=1e-5, rtol=1e-5)     # float32, sums of at most 8 products of O(1) numbers


def test_matches_the_loop(device):
    torch.manual_seed(0)
    x = torch.randn(4, 3, 6, device=device, dtype=torch.float64)
    conjuncts, weights = [(0,), (1, 2), (0, 3, 5), (4, 1), (2, 3, 4, 5)], [0.5, -1.0, 2.0, 0.3, -0.7]
    torch.testing.assert_close(sigma_pi(x, conjuncts, weights, bias=0.2),
                               naive_sigma_pi(x, conjuncts, weights, bias=0.2), **EXACT)


def test_first_order_conjuncts_are_an_ordinary_linear_unit(device):
    x = torch.randn(10, 5, device=device, dtype=torch.float64)
    w = torch.randn(5, device=device, dtype=torch.float64)
    torch.testing.assert_close(sigma_pi(x, [(i,) for i in range(5)], w, bias=1.5), x @ w + 1.5, **EXACT)


def test_xor_and_multiplexer_closed_forms(device):
    x = boolean_inputs(2, device, torch.float64)
    xor = (x[:, 0] != x[:, 1]).to(x.dtype)
    torch.testing.assert_close(sigma_pi(x, *XOR), xor, **EXACT)
    x = boolean_inputs(3, device, torch.float64)
    g, a, b = x.unbind(-1)
    torch.testing.assert_close(sigma_pi(x, *MUX), torch.where(g == 1, a, b), **EXACT)


def test_soft_switch_interpolates(device):
    """For real g the switch is g a + (1 − g) b: a gate that mixes, the germ of an attention weight."""
    g, a, b = torch.rand(50, 3, device=device, dtype=torch.float64).mul(4).sub(2).unbind(-1)
    torch.testing.assert_close(sigma_pi(torch.stack([g, a, b], -1), *MUX), g * a + (1 - g) * b, **EXACT)


@pytest.mark.parametrize("name", ["XOR", "MUX"])
def test_no_linear_threshold_unit_computes_it(device, name):
    """The certificate: two inputs with output 1 and two with output 0 have the same sum, so for any
    affine f, f(p1) + f(p2) = f(p3) + f(p4), which cannot be > 0 on the left and ≤ 0 on the right.
    The grid search agrees (and does find units for AND and OR, so it is not blind)."""
    if name == "XOR":
        ones, zeros = [[0, 1], [1, 0]], [[0, 0], [1, 1]]
        conjuncts, weights, n = *XOR, 2
    else:  # (g, a, b)
        ones, zeros = [[1, 1, 0], [0, 0, 1]], [[1, 0, 1], [0, 1, 0]]
        conjuncts, weights, n = *MUX, 3
    ones, zeros = torch.tensor(ones, device=device), torch.tensor(zeros, device=device)
    assert torch.equal(ones.sum(0), zeros.sum(0))
    torch.testing.assert_close(sigma_pi(ones.double(), conjuncts, weights), torch.ones(2, device=device, dtype=torch.float64))
    torch.testing.assert_close(sigma_pi(zeros.double(), conjuncts, weights), torch.zeros(2, device=device, dtype=torch.float64))
    x = boolean_inputs(n, device)
    target = sigma_pi(x, conjuncts, weights) > 0.5
    assert best_threshold_unit(x, target)[0] == len(x) - 1
    assert best_threshold_unit(x, x.prod(-1))[0] == len(x)           # AND
    assert best_threshold_unit(x, x.amax(-1))[0] == len(x)           # OR


def test_gated_sum_is_softmax_attention(device):
    """Σ_j α_j v_j computed by sigma-pi units equals torch's scaled_dot_product_attention when the
    gates α are its softmax weights."""
    torch.manual_seed(1)
    q, k, v = torch.randn(2, 3, 4, device=device), torch.randn(2, 7, 4, device=device), torch.randn(2, 7, 5, device=device)
    alpha = torch.softmax(q @ k.transpose(-1, -2) / 2.0, dim=-1)               # scale 1/√4
    expected = F.scaled_dot_product_attention(q, k, v)
    torch.testing.assert_close(gated_sum(alpha, v[:, None]), expected, **FLOAT32)


def test_demo_runs_and_agrees(device):
    result = demo(device)
    assert result["attention_error"] < 1e-5 and result["loop_error"] < 1e-5
    assert result["XOR"]["threshold_best"] == 3 and result["MUX"]["threshold_best"] == 7
    torch.testing.assert_close(result["XOR"]["net"], torch.tensor([0.0, 1.0, 1.0, 0.0]))
    torch.testing.assert_close(result["soft"], torch.tensor([-1.0, -0.25, 0.5, 1.25, 2.0]), **FLOAT32)
