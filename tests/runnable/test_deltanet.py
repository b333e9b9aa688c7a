"""DeltaNet: the chunkwise-parallel form (WY representation, UT transform) against the recurrence of
runnable/fast_weights.py and against a loop that multiplies the generalised Householder matrices
I − β k kᵀ one by one, written from the unrolled equation; outputs, states and gradients, for chunk
sizes that do and do not divide the length."""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from runnable.deltanet import deltanet_chunkwise, demo, implied_attention, naive_deltanet, ut_transform
from runnable.fast_weights import delta_rule, fast_weight_programmer

FLOAT64 = dict(atol=1e-10, rtol=1e-10)  # float64: a few dozen steps of products of contractions
FLOAT32 = dict(atol=1e-4, rtol=1e-4)    # float32: a triangular solve against step-by-step updates


def inputs(device, dtype=torch.float64, batch=(2, 3), L=23, d_k=5, d_v=4, seed=0, unit_keys=True):
    generator = torch.Generator().manual_seed(seed)
    q, k = (torch.randn(*batch, L, d_k, generator=generator, dtype=dtype) for _ in range(2))
    if unit_keys:
        q, k = F.normalize(q, dim=-1), F.normalize(k, dim=-1)
    v = torch.randn(*batch, L, d_v, generator=generator, dtype=dtype)
    beta = torch.rand(*batch, L, generator=generator, dtype=dtype)
    return [x.to(device) for x in (q, k, v, beta)]


@pytest.mark.parametrize("unit_keys", [True, False], ids=["unit keys", "raw keys"])
def test_recurrence_matches_the_householder_products(device, unit_keys):
    q, k, v, beta = inputs(device, batch=(), L=9, unit_keys=unit_keys)
    k = k if unit_keys else 0.5 * k  # raw keys, kept small enough that β‖k‖² < 2 and the products stay bounded
    torch.testing.assert_close(delta_rule(q, k, v, beta), naive_deltanet(q, k, v, beta)[0], **FLOAT64)


@pytest.mark.parametrize("chunk", [1, 4, 7, 16, 23, 64])
def test_chunkwise_matches_the_householder_products(device, chunk):
    q, k, v, beta = inputs(device, batch=(), seed=1)
    out, state = deltanet_chunkwise(q, k, v, beta, chunk)
    reference, final = naive_deltanet(q, k, v, beta)
    torch.testing.assert_close(out, reference, **FLOAT64)
    torch.testing.assert_close(state, final, **FLOAT64)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=str)
@pytest.mark.parametrize("chunk", [5, 8, 32])
def test_chunkwise_equals_recurrent(device, dtype, chunk):
    q, k, v, beta = inputs(device, dtype, L=37, seed=2)
    tolerance = FLOAT64 if dtype == torch.float64 else FLOAT32
    torch.testing.assert_close(deltanet_chunkwise(q, k, v, beta, chunk)[0], delta_rule(q, k, v, beta), **tolerance)


def test_carrying_the_state_across_a_split_changes_nothing(device):
    q, k, v, beta = inputs(device, L=30, seed=3)
    whole, final = deltanet_chunkwise(q, k, v, beta, 8)
    first, state = deltanet_chunkwise(q[..., :11, :], k[..., :11, :], v[..., :11, :], beta[..., :11], 4)
    second, state = deltanet_chunkwise(q[..., 11:, :], k[..., 11:, :], v[..., 11:, :], beta[..., 11:], 6, state)
    torch.testing.assert_close(torch.cat([first, second], -2), whole, **FLOAT64)
    torch.testing.assert_close(state, final, **FLOAT64)


@pytest.mark.parametrize("chunk", [3, 8])
def test_gradients_of_the_forms_agree(device, chunk):
    leaves = [x.requires_grad_() for x in inputs(device, batch=(), L=10, seed=4)]
    weights = torch.randn(10, 4, generator=torch.Generator().manual_seed(5), dtype=torch.float64).to(device)
    gradients = [torch.autograd.grad((form(*leaves) * weights).sum(), leaves)
                 for form in (lambda *a: deltanet_chunkwise(*a, chunk)[0], delta_rule, lambda *a: naive_deltanet(*a)[0])]
    for other in gradients[1:]:
        for a, b in zip(gradients[0], other):
            torch.testing.assert_close(a, b, **FLOAT64)


def test_chunkwise_gradients_match_finite_differences(device):
    """gradcheck (fast mode: random directional derivatives) of the chunkwise form against finite
    differences, with a chunk of 4 that leaves a shorter last chunk of the 6 steps."""
    leaves = [x.requires_grad_() for x in inputs(device, batch=(), L=6, seed=4)]
    assert torch.autograd.gradcheck(lambda *a: deltanet_chunkwise(*a, 4)[0], leaves, fast_mode=True)


def test_wy_representation_is_the_product_of_the_factors(device):
    """Π_{i≤C} (I − β_i k_i k_iᵀ) = I − Wᵀ K, and the value part U gives the state from zero, Uᵀ K."""
    q, k, v, beta = inputs(device, batch=(), L=9, seed=6)
    w, u = ut_transform(k, v, beta)
    eye = torch.eye(5, dtype=k.dtype, device=device)
    product = eye
    for t in range(9):
        product = product @ (eye - beta[t] * torch.outer(k[t], k[t]))
    torch.testing.assert_close(eye - w.T @ k, product, **FLOAT64)
    torch.testing.assert_close(u.T @ k, naive_deltanet(q, k, v, beta)[1], **FLOAT64)


def test_zero_beta_writes_nothing_and_small_beta_approaches_the_sum_rule(device):
    """β = 0 leaves the state at zero. For small β the correction term is O(β²): the delta rule is β
    times the sum rule (fast_weight_programmer) to first order."""
    q, k, v, beta = inputs(device, L=12, seed=7)
    torch.testing.assert_close(deltanet_chunkwise(q, k, v, torch.zeros_like(beta), 5)[0], torch.zeros_like(v), **FLOAT64)
    epsilon = 1e-6
    scaled = deltanet_chunkwise(q, k, v, torch.full_like(beta, epsilon), 5)[0] / epsilon
    torch.testing.assert_close(scaled, fast_weight_programmer(q, k, v), atol=1e-4, rtol=1e-4)


def test_a_unit_key_with_beta_one_is_overwritten(device):
    """The delta rule's point: writing value b under a unit key that already holds a leaves b, exactly."""
    _, k, v, _ = inputs(device, batch=(), L=2, seed=8)
    keys = torch.stack([k[0], k[0]])
    read = deltanet_chunkwise(keys, keys, v, torch.ones(2, dtype=k.dtype, device=device), 2)[0][-1]
    torch.testing.assert_close(read, v[1], **FLOAT64)


def test_implied_attention_matrix_is_the_zero_state_output(device):
    q, k, v, beta = inputs(device, L=15, seed=9)
    M = implied_attention(q, k, beta)
    assert torch.all(M.triu(1) == 0)
    torch.testing.assert_close(M @ v, delta_rule(q, k, v, beta), **FLOAT64)


def test_demo_runs_and_agrees(device):
    result = demo(device)
    assert all(error < 1e-10 for error in result["errors"].values()), result["errors"]
    assert result["overwrite_error"] < 1e-10
