"""Retention: the parallel, recurrent and chunkwise forms against a double loop written from
o_n = Σ_{m≤n} γ^{n−m} (q_n·k_m) v_m and against each other, with the paper's multi-scale decays,
rotated queries and keys, and chunk sizes that do and do not divide the length."""
from __future__ import annotations

import pytest
import torch

from runnable.linear_attention import linear_attention
from runnable.retention import (decay_mask, demo, head_decays, naive_retention, retention_chunkwise, retention_parallel,
                                retention_recurrent, rotate)

FLOAT64 = dict(atol=1e-10, rtol=1e-10)  # float64: sums of a few dozen decayed terms
FLOAT32 = dict(atol=1e-4, rtol=1e-4)    # float32: γ^j as exp(j log γ) against repeated multiplication


def inputs(device, dtype=torch.float64, heads=4, L=23, d_k=6, d_v=5, seed=0):
    generator = torch.Generator().manual_seed(seed)
    q, k = (torch.randn(2, heads, L, d_k, generator=generator, dtype=dtype) for _ in range(2))
    v = torch.randn(2, heads, L, d_v, generator=generator, dtype=dtype)
    return rotate(q.to(device)), rotate(k.to(device)), v.to(device), head_decays(heads, dtype, device)


def test_parallel_form_matches_the_double_loop(device):
    q, k, v, gamma = inputs(device, L=15)
    out = retention_parallel(q, k, v, gamma)
    for h in range(4):
        torch.testing.assert_close(out[1, h], naive_retention(q[1, h], k[1, h], v[1, h], gamma[h].item()), **FLOAT64)


def test_decay_mask_is_gamma_to_the_offset(device):
    gamma = torch.tensor([0.5, 0.9], dtype=torch.float64, device=device)
    D = decay_mask(5, gamma)
    for h, g in enumerate((0.5, 0.9)):
        expected = torch.tensor([[g ** (n - m) if n >= m else 0.0 for m in range(5)] for n in range(5)], dtype=torch.float64)
        torch.testing.assert_close(D[h].cpu(), expected, **FLOAT64)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=str)
def test_recurrent_equals_parallel(device, dtype):
    q, k, v, gamma = inputs(device, dtype, L=40, seed=1)
    tolerance = FLOAT64 if dtype == torch.float64 else FLOAT32
    torch.testing.assert_close(retention_recurrent(q, k, v, gamma)[0], retention_parallel(q, k, v, gamma), **tolerance)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=str)
@pytest.mark.parametrize("chunk", [1, 4, 7, 16, 23, 64])
def test_chunkwise_equals_parallel_and_recurrent(device, dtype, chunk):
    """Outputs equal the parallel form; the final state equals the recurrence's."""
    q, k, v, gamma = inputs(device, dtype, seed=2)
    tolerance = FLOAT64 if dtype == torch.float64 else FLOAT32
    out, state = retention_chunkwise(q, k, v, gamma, chunk)
    torch.testing.assert_close(out, retention_parallel(q, k, v, gamma), **tolerance)
    torch.testing.assert_close(state, retention_recurrent(q, k, v, gamma)[1], **tolerance)


def test_carrying_the_state_across_a_split_changes_nothing(device):
    q, k, v, gamma = inputs(device, L=30, seed=3)
    whole = retention_parallel(q, k, v, gamma)
    first, state = retention_recurrent(q[..., :13, :], k[..., :13, :], v[..., :13, :], gamma)
    second, _ = retention_chunkwise(q[..., 13:, :], k[..., 13:, :], v[..., 13:, :], gamma, 5, state)
    torch.testing.assert_close(torch.cat([first, second], -2), whole, **FLOAT64)


def test_gradients_of_the_forms_agree(device):
    q, k, v, gamma = inputs(device, L=12, seed=4)
    leaves = [x.requires_grad_() for x in (q, k, v)]
    forms = (lambda *a: retention_parallel(*a, gamma), lambda *a: retention_recurrent(*a, gamma)[0],
             lambda *a: retention_chunkwise(*a, gamma, 5)[0])
    gradients = [torch.autograd.grad(form(*leaves).square().sum(), leaves) for form in forms]
    for other in gradients[1:]:
        for a, b in zip(gradients[0], other):
            torch.testing.assert_close(a, b, **FLOAT64)


def test_gamma_one_is_causal_linear_attention(device):
    """No decay: retention is unnormalised causal linear attention with the identity feature map."""
    q, k, v, _ = inputs(device, seed=5)
    ones = torch.ones(4, dtype=torch.float64, device=device)
    expected = linear_attention(q, k, v, causal=True, feature_map=lambda x: x, normalize=False)
    torch.testing.assert_close(retention_parallel(q, k, v, ones), expected, **FLOAT64)
    torch.testing.assert_close(retention_chunkwise(q, k, v, ones, 6)[0], expected, **FLOAT64)


def test_rotation_makes_scores_depend_on_offsets_only(device):
    """Rotating by positions p, p+1, … gives the same retention for every start p; without the
    rotation a shift is invisible too, so the negative control compares rotated against unrotated."""
    generator = torch.Generator().manual_seed(6)
    q, k, v = (torch.randn(1, 2, 10, 8, generator=generator, dtype=torch.float64).to(device) for _ in range(3))
    gamma = head_decays(2, device=device)
    reference = retention_parallel(rotate(q), rotate(k), v, gamma)
    torch.testing.assert_close(retention_parallel(rotate(q, 517), rotate(k, 517), v, gamma), reference, **FLOAT64)
    assert not torch.allclose(retention_parallel(q, k, v, gamma), reference)


def test_long_sequences_stay_finite_in_float32(device):
    """γ^{n−m} is only formed for n ≥ m, so a long chunk never forms γ to a negative power."""
    q, k, v, gamma = inputs(device, torch.float32, heads=2, L=1500, d_k=4, d_v=4, seed=7)
    out, state = retention_chunkwise(q, k, v, gamma, 512)
    assert torch.isfinite(out).all() and torch.isfinite(state).all()
    torch.testing.assert_close(out[..., -4:, :], retention_parallel(q, k, v, gamma)[..., -4:, :], atol=1e-3, rtol=1e-3)


def test_demo_runs_and_agrees(device):
    result = demo(device)
    assert all(error < 1e-10 for error in result["errors"].values()), result["errors"]
    assert result["shift_change"] < 1e-10
