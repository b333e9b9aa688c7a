"""RoPE against complex multiplication (view_as_complex · polar), and the properties that make
it a relative position code: scores depend on n − m only, norms are kept, rotations compose."""
from __future__ import annotations

import pytest
import torch

from runnable.rotary_embeddings import apply_rotary, demo
from runnable.scaled_dot_product_attention import scaled_dot_product_attention

EXACT = dict(atol=1e-10, rtol=1e-10)   # float64, positions ≤ 1e3: angle rounding ~1e-13
FLOAT32 = dict(atol=1e-4, rtol=1e-4)   # float32 angles near 100 rad are rounded to ~1e-5 rad, times |x| ≈ 3
BFLOAT16 = dict(atol=5e-2, rtol=2e-2)  # bfloat16 keeps 8 bits of mantissa: relative error ~4e-3 per value


def complex_reference(x, positions, base=10000.0):
    """z_i · e^{i m θ_i} with z_i = x_{2i} + i x_{2i+1}, in complex128; θ_i from Python floats."""
    d = x.shape[-1]
    theta = torch.tensor([base ** (-2 * i / d) for i in range(d // 2)], dtype=torch.float64, device=x.device)
    angle = positions.to(torch.float64)[..., None] * theta
    z = torch.view_as_complex(x.to(torch.float64).reshape(*x.shape[:-1], d // 2, 2).contiguous())
    return torch.view_as_real(z * torch.polar(torch.ones_like(angle), angle)).flatten(-2)


def random(device, *shape, dtype=torch.float64, seed=0):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=dtype).to(device)


@pytest.mark.parametrize("dtype, tolerance", [(torch.float64, EXACT), (torch.float32, FLOAT32), (torch.bfloat16, BFLOAT16)],
                         ids=["float64", "float32", "bfloat16"])
def test_matches_complex_multiplication(device, dtype, tolerance):
    x = random(device, 2, 3, 11, 8, dtype=dtype)
    positions = torch.arange(90, 101, device=device)
    got = apply_rotary(x, positions)
    assert got.dtype == dtype and got.shape == x.shape
    torch.testing.assert_close(got.to(torch.float64), complex_reference(x, positions), **tolerance)


def test_other_base_and_per_example_positions(device):
    """positions (B, 1, L) broadcast over heads: e.g. a left-padded batch with its own offsets."""
    x = random(device, 2, 3, 5, 6, seed=1)
    positions = torch.stack([torch.arange(5), torch.arange(5) - 2])[:, None].to(device)
    torch.testing.assert_close(apply_rotary(x, positions, base=500.0), complex_reference(x, positions, 500.0), **EXACT)


@pytest.mark.parametrize("shift", [1, 17, 1000])
def test_scores_depend_only_on_the_offset(device, shift):
    """(R_m q)ᵀ(R_n k) = (R_{m+s} q)ᵀ(R_{n+s} k) = qᵀ R_{n−m} k for every m, n."""
    q, k = random(device, 9, 16, seed=2), random(device, 9, 16, seed=3)
    m = torch.tensor([0, 3, 3, 8, 20, 5, 7, 1, 2], device=device)
    n = torch.tensor([0, 1, 9, 8, 4, 30, 6, 1, 11], device=device)
    scores = (apply_rotary(q, m) * apply_rotary(k, n)).sum(-1)
    torch.testing.assert_close((apply_rotary(q, m + shift) * apply_rotary(k, n + shift)).sum(-1), scores, **EXACT)
    torch.testing.assert_close((q * apply_rotary(k, n - m)).sum(-1), scores, **EXACT)


def test_attention_is_unchanged_by_shifting_every_position(device):
    """Through softmax attention too: queries and keys rotated at 0..L-1 or at 500..500+L-1."""
    q, k, v = (random(device, 2, 4, 7, 8, seed=s) for s in (4, 5, 6))
    positions = torch.arange(7, device=device)
    out, _ = scaled_dot_product_attention(apply_rotary(q, positions), apply_rotary(k, positions), v, causal=True)
    shifted, _ = scaled_dot_product_attention(apply_rotary(q, positions + 500), apply_rotary(k, positions + 500), v,
                                              causal=True)
    torch.testing.assert_close(shifted, out, **EXACT)


def test_norms_preserved_rotations_compose_and_zero_is_identity(device):
    x = random(device, 4, 10, 12, seed=7)
    a, b = torch.arange(10, device=device), torch.arange(10, device=device) * 7 + 3
    torch.testing.assert_close(apply_rotary(x, a).norm(dim=-1), x.norm(dim=-1), **EXACT)
    torch.testing.assert_close(apply_rotary(apply_rotary(x, a), b), apply_rotary(x, a + b), **EXACT)
    torch.testing.assert_close(apply_rotary(x, torch.zeros(10, device=device)), x, atol=0, rtol=0)
    # pairs stay pairs: rotating pair i leaves every other pair alone
    pair0 = torch.zeros(12, dtype=torch.float64, device=device)
    pair0[:2] = 1.0
    assert torch.all(apply_rotary(pair0[None], torch.tensor([5], device=device))[0, 2:] == 0)


def test_demo_runs_and_agrees(device):
    result = demo(device)
    assert result["error_shift"] < 1e-10 and result["diagonal_spread"] < 1e-10
    scores, by_offset = result["scores"], result["by_offset"]
    L = scores.shape[0]
    for m in range(L):                                       # scores[m, n] is by_offset at n − m
        torch.testing.assert_close(scores[m], by_offset[L - 1 - m:2 * L - 1 - m], **EXACT)
    means = result["window_means"]                           # the page's decay claim
    assert all(a > b for a, b in zip(means, means[1:]))
    assert result["decay"][0].item() == pytest.approx(64.0)  # q = k = ones, offset 0: |q|² = d
