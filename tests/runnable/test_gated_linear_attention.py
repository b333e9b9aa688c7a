"""Gated linear attention: the recurrent and chunkwise forms against a triple loop written from
the unrolled equation o_t = Σ_{j≤t} Σ_d q_{t,d} k_{j,d} Π_{j<s≤t} α_{s,d} v_j, and against each
other (outputs, final states and gradients) for chunk sizes that do and do not divide the length."""
from __future__ import annotations

import pytest
import torch

from runnable.gated_linear_attention import (demo, gate_log_decay, gla_chunkwise, gla_recurrent, implied_attention,
                                             naive_gla)
from runnable.linear_attention import linear_attention

FLOAT64 = dict(atol=1e-10, rtol=1e-10)  # float64: sums over at most a few dozen positions
FLOAT32 = dict(atol=1e-4, rtol=1e-4)    # float32: a chunk's exp(Λ_t − Λ_j) against a running product


def inputs(device, dtype=torch.float64, batch=(2, 3), L=23, d_k=5, d_v=4, seed=0, gate_scale=3.0):
    generator = torch.Generator().manual_seed(seed)
    q, k, v = (torch.randn(*batch, L, n, generator=generator, dtype=dtype) for n in (d_k, d_k, d_v))
    log_alpha = gate_log_decay(gate_scale * torch.randn(*batch, L, d_k, generator=generator, dtype=dtype), 1.0)
    return [x.to(device) for x in (q, k, v, log_alpha)]


def test_recurrent_form_matches_the_unrolled_sum(device):
    q, k, v, log_alpha = inputs(device, batch=(), L=13)
    torch.testing.assert_close(gla_recurrent(q, k, v, log_alpha)[0], naive_gla(q, k, v, log_alpha), **FLOAT64)


@pytest.mark.parametrize("chunk", [1, 4, 7, 16, 23, 64])
def test_chunkwise_matches_the_unrolled_sum(device, chunk):
    """Chunk sizes 4, 7 and 16 leave a shorter last chunk of a length-23 sequence; 23 is one chunk;
    64 is longer than the sequence."""
    q, k, v, log_alpha = inputs(device, batch=(), seed=1)
    torch.testing.assert_close(gla_chunkwise(q, k, v, log_alpha, chunk)[0], naive_gla(q, k, v, log_alpha), **FLOAT64)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=str)
@pytest.mark.parametrize("chunk", [5, 8, 32])
def test_chunkwise_equals_recurrent_with_state(device, dtype, chunk):
    """Outputs and the final state agree, also when both start from a given state (a second segment)."""
    q, k, v, log_alpha = inputs(device, dtype, L=37, seed=2)
    initial = torch.randn(2, 3, 5, 4, generator=torch.Generator().manual_seed(3), dtype=dtype).to(device)
    tolerance = FLOAT64 if dtype == torch.float64 else FLOAT32
    for state in (None, initial):
        out_r, state_r = gla_recurrent(q, k, v, log_alpha, state)
        out_c, state_c = gla_chunkwise(q, k, v, log_alpha, chunk, state)
        torch.testing.assert_close(out_c, out_r, **tolerance)
        torch.testing.assert_close(state_c, state_r, **tolerance)


def test_splitting_the_sequence_and_carrying_the_state_changes_nothing(device):
    q, k, v, log_alpha = inputs(device, L=30, seed=4)
    whole, final = gla_chunkwise(q, k, v, log_alpha, 8)
    first, state = gla_recurrent(q[..., :11, :], k[..., :11, :], v[..., :11, :], log_alpha[..., :11, :])
    second, state = gla_chunkwise(q[..., 11:, :], k[..., 11:, :], v[..., 11:, :], log_alpha[..., 11:, :], 8, state)
    torch.testing.assert_close(torch.cat([first, second], -2), whole, **FLOAT64)
    torch.testing.assert_close(state, final, **FLOAT64)


@pytest.mark.parametrize("chunk", [3, 8])
def test_gradients_of_the_forms_agree(device, chunk):
    """d(loss)/d(q, k, v, log α) through the chunkwise form equals the same through the recurrence and
    through the triple loop."""
    leaves = [x.requires_grad_() for x in inputs(device, batch=(), L=11, seed=5)]
    weights = torch.randn(11, 4, generator=torch.Generator().manual_seed(6), dtype=torch.float64).to(device)
    gradients = []
    for form in (lambda *a: gla_chunkwise(*a, chunk)[0], lambda *a: gla_recurrent(*a)[0], naive_gla):
        gradients.append(torch.autograd.grad((form(*leaves) * weights).sum(), leaves))
    for other in gradients[1:]:
        for a, b in zip(gradients[0], other):
            torch.testing.assert_close(a, b, **FLOAT64)


def test_chunkwise_gradients_match_finite_differences(device):
    """gradcheck (fast mode: random directional derivatives) of the chunkwise form against finite
    differences, with a chunk of 4 that leaves a shorter last chunk of the 6 steps."""
    leaves = [x.requires_grad_() for x in inputs(device, batch=(), L=6, seed=5)]
    assert torch.autograd.gradcheck(lambda *a: gla_chunkwise(*a, 4)[0], leaves, fast_mode=True)


def test_gates_of_one_are_causal_linear_attention(device):
    """α = 1 everywhere (log α = 0): no forgetting, and GLA is unnormalised causal linear attention
    with the identity feature map."""
    q, k, v, _ = inputs(device, seed=7)
    expected = linear_attention(q, k, v, causal=True, feature_map=lambda x: x, normalize=False)
    zero = torch.zeros_like(q)
    torch.testing.assert_close(gla_chunkwise(q, k, v, zero, 6)[0], expected, **FLOAT64)
    torch.testing.assert_close(gla_recurrent(q, k, v, zero)[0], expected, **FLOAT64)


def test_a_closed_gate_forgets_everything_before_it(device):
    """α_t = 0 on a feature at step t erases that feature's row of the state: the outputs after t
    do not depend on the keys and values before t (here every feature closes at t = 10)."""
    q, k, v, log_alpha = inputs(device, batch=(), L=20, seed=8)
    log_alpha[10] = -1000.0                                # α = e^{−1000}, 0 in float64
    out = gla_chunkwise(q, k, v, log_alpha, 6)[0]
    v2 = v.clone()
    v2[:10] = 100.0
    torch.testing.assert_close(gla_chunkwise(q, k, v2, log_alpha, 6)[0][10:], out[10:], **FLOAT64)
    assert not torch.allclose(gla_chunkwise(q, k, v2, log_alpha, 6)[0][:10], out[:10])


def test_implied_attention_matrix_is_the_parallel_form(device):
    q, k, v, log_alpha = inputs(device, seed=9)
    A = implied_attention(q, k, log_alpha)
    assert torch.all(A.triu(1) == 0)
    torch.testing.assert_close(A @ v, gla_recurrent(q, k, v, log_alpha)[0], **FLOAT64)


def test_long_sequences_stay_finite_in_float32(device):
    """Strong forgetting over 2000 tokens: Π α underflows as a running product would, but the chunk
    works with differences of log sums and never divides by a vanished product."""
    q, k, v, _ = inputs(device, torch.float32, batch=(1,), L=2000, seed=10)
    log_alpha = torch.full_like(q, -2.0)                      # α = e^{−2}: e^{−4000} over the sequence
    out, state = gla_chunkwise(q, k, v, log_alpha, 64)
    assert torch.isfinite(out).all() and torch.isfinite(state).all()
    # 40 steps of e^{−2} leave e^{−80} of anything earlier: the last 10 outputs depend on the last 50 tokens only.
    tail = gla_recurrent(q[..., -50:, :], k[..., -50:, :], v[..., -50:, :], log_alpha[..., -50:, :])[0]
    torch.testing.assert_close(out[..., -10:, :], tail[..., -10:, :], **FLOAT32)


def test_demo_runs_and_agrees(device):
    result = demo(device)
    assert all(error < 1e-10 for error in result["errors"].values()), result["errors"]
    assert result["half_life"][16] > 10 * result["half_life"][1]
