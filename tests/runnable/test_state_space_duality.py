"""State-space duality: the SSM recurrence, the masked-attention matrix form and Mamba-2's chunked
algorithm against a triple loop written from y_t = Σ_{s≤t} (C_t·B_s) Π_{s<r≤t} a_r x_s, and against
each other (outputs, final states, gradients; chunk sizes that do and do not divide the length;
B and C shared across heads by broadcasting)."""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from runnable.linear_attention import linear_attention
from runnable.state_space_duality import (decays_from_mask, demo, discretise, largest_off_diagonal_rank, naive_ssd,
                                          segment_sums, ssd_chunked, ssd_matrix, ssd_recurrent)

FLOAT64 = dict(atol=1e-10, rtol=1e-10)  # float64: a few dozen decayed terms
FLOAT32 = dict(atol=1e-4, rtol=1e-4)    # float32: exp of segment sums against running products


def inputs(device, dtype=torch.float64, heads=3, L=23, P=4, N=5, seed=0):
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(2, heads, L, P, generator=generator, dtype=dtype)
    dt = F.softplus(torch.randn(2, heads, L, generator=generator, dtype=dtype) - 1)
    A = -4 * torch.rand(heads, 1, generator=generator, dtype=dtype)
    x, log_a = discretise(x, dt, A)
    B, C = (torch.randn(2, 1, L, N, generator=generator, dtype=dtype) for _ in range(2))   # shared by the heads
    return [t.to(device) for t in (x, log_a, B, C)]


def test_segment_sums_are_sums_of_log_decays(device):
    log_a = -torch.rand(6, dtype=torch.float64).to(device)
    sums = segment_sums(log_a)
    for t in range(6):
        for s in range(6):
            expected = log_a[s + 1:t + 1].sum() if s <= t else torch.tensor(-torch.inf, dtype=torch.float64)
            torch.testing.assert_close(sums[t, s].cpu(), expected.cpu(), **FLOAT64)


def test_recurrence_and_matrix_form_match_the_triple_sum(device):
    x, log_a, B, C = inputs(device, L=12)
    for h in range(3):
        reference = naive_ssd(x[1, h], log_a[1, h], B[1, 0], C[1, 0])
        torch.testing.assert_close(ssd_recurrent(x, log_a, B, C)[0][1, h], reference, **FLOAT64)
        torch.testing.assert_close(ssd_matrix(x, log_a, B, C)[1, h], reference, **FLOAT64)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=str)
@pytest.mark.parametrize("chunk", [1, 4, 7, 16, 23, 64])
def test_chunked_equals_recurrence(device, dtype, chunk):
    x, log_a, B, C = inputs(device, dtype, seed=1)
    tolerance = FLOAT64 if dtype == torch.float64 else FLOAT32
    y, state = ssd_chunked(x, log_a, B, C, chunk)
    y_r, state_r = ssd_recurrent(x, log_a, B, C)
    torch.testing.assert_close(y, y_r, **tolerance)
    torch.testing.assert_close(state, state_r, **tolerance)


def test_a_given_initial_state_is_carried(device):
    """Split the sequence anywhere, hand the state over: the same outputs and final state."""
    x, log_a, B, C = inputs(device, L=30, seed=2)
    whole, final = ssd_recurrent(x, log_a, B, C)
    first, state = ssd_chunked(x[..., :13, :], log_a[..., :13], B[..., :13, :], C[..., :13, :], 4)
    second, state = ssd_chunked(x[..., 13:, :], log_a[..., 13:], B[..., 13:, :], C[..., 13:, :], 5, state)
    torch.testing.assert_close(torch.cat([first, second], -2), whole, **FLOAT64)
    torch.testing.assert_close(state, final, **FLOAT64)


def test_gradients_of_the_forms_agree(device):
    leaves = [t.requires_grad_() for t in inputs(device, L=11, seed=3)]
    forms = (lambda *a: ssd_chunked(*a, 4)[0], lambda *a: ssd_recurrent(*a)[0], ssd_matrix)
    gradients = [torch.autograd.grad(form(*leaves).square().sum(), leaves) for form in forms]
    for other in gradients[1:]:
        for a, b in zip(gradients[0], other):
            torch.testing.assert_close(a, b, **FLOAT64)


def test_no_decay_is_causal_linear_attention(device):
    """a = 1: Y = tril(C Bᵀ) X, unnormalised causal linear attention with queries C and keys B."""
    x, log_a, B, C = inputs(device, seed=4)
    expected = linear_attention(C.expand(2, 3, -1, -1), B.expand(2, 3, -1, -1), x, causal=True,
                                feature_map=lambda t: t, normalize=False)
    zero = torch.zeros_like(log_a)
    for y in (ssd_matrix(x, zero, B, C), ssd_chunked(x, zero, B, C, 6)[0], ssd_recurrent(x, zero, B, C)[0]):
        torch.testing.assert_close(y, expected, **FLOAT64)


def test_the_mask_is_one_semiseparable_and_gives_back_its_decays(device):
    """Every block below the diagonal of L has rank 1, of L ∘ C Bᵀ rank ≤ N; a_t = L_{t,t−1}. A mask that
    is not semiseparable (random lower-triangular) has rank-2 blocks: the measurement can fail."""
    _, log_a, B, C = inputs(device, heads=1, L=20, N=3, seed=5)
    mask = segment_sums(log_a[0, 0]).exp()
    assert largest_off_diagonal_rank(mask) == 1
    assert largest_off_diagonal_rank(mask * (C[0, 0] @ B[0, 0].T)) == 3
    assert largest_off_diagonal_rank(torch.rand(20, 20, dtype=torch.float64).tril()) > 1
    torch.testing.assert_close(decays_from_mask(mask)[1:], log_a[0, 0, 1:], **FLOAT64)


def test_long_sequences_stay_finite_in_float32(device):
    x, _, B, C = inputs(device, torch.float32, heads=1, L=3000, seed=6)
    log_a = torch.full(x.shape[:-1], -1.0, device=device)    # e^{−3000} over the sequence: underflows as a product
    y, state = ssd_chunked(x, log_a, B, C, 64)
    assert torch.isfinite(y).all() and torch.isfinite(state).all()
    # 30 steps of e^{−1} leave e^{−30} of anything earlier: the last outputs see only the last 40 steps.
    tail = ssd_recurrent(x[..., -40:, :], log_a[..., -40:], B[..., -40:, :], C[..., -40:, :])[0]
    torch.testing.assert_close(y[..., -10:, :], tail[..., -10:, :], **FLOAT32)


def test_demo_runs_and_agrees(device):
    result = demo(device)
    assert all(error < 1e-10 for error in result["errors"].values()), result["errors"]
    assert result["ranks"] == {"mask L": 1, "L ∘ CBᵀ": result["N"]}
    assert result["recovered"] < 1e-10
