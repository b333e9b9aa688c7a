"""Modern Hopfield update against torch's scaled_dot_product_attention (scale β) and closed forms;
the classical net against a loop over units, its energy, and its fixed points."""
from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from runnable.hopfield_retrieval import (classical_hopfield_recall, demo, energy, hebbian_weights,
                                         hopfield_update, mask_half)

FLOAT64 = dict(atol=1e-10, rtol=1e-10)  # float64, sums over at most a few dozen patterns
FLOAT32 = dict(atol=1e-5, rtol=1e-5)    # float32 (CUDA may use its fused attention kernels)


def sylvester_hadamard(d, device):
    """d × d matrix of ±1 with orthogonal rows (d a power of 2)."""
    H = torch.ones(1, 1, dtype=torch.float64)
    while H.shape[0] < d:
        H = torch.cat([torch.cat([H, H], 1), torch.cat([H, -H], 1)], 0)
    return H.to(device)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("beta", [0.1, 1.0, 4.0])
def test_one_update_is_sdpa_with_scale_beta(device, dtype, beta):
    """States are the queries; the stored patterns are both keys and values."""
    generator = torch.Generator().manual_seed(0)
    states = torch.randn(2, 3, 6, 8, generator=generator, dtype=dtype).to(device)
    patterns = torch.randn(2, 3, 11, 8, generator=generator, dtype=dtype).to(device)
    expected = F.scaled_dot_product_attention(states, patterns, patterns, scale=beta)
    torch.testing.assert_close(hopfield_update(states, patterns[:, :, None], beta), expected,
                               **(FLOAT64 if dtype == torch.float64 else FLOAT32))


def test_single_state_matches_the_formula_written_out(device):
    generator = torch.Generator().manual_seed(1)
    state, X = torch.randn(5, generator=generator, dtype=torch.float64), torch.randn(7, 5, generator=generator, dtype=torch.float64)
    scores = [0.8 * sum(a * b for a, b in zip(row, state.tolist())) for row in X.tolist()]
    top = max(scores)
    p = [math.exp(s - top) for s in scores]
    expected = [sum(p[n] / sum(p) * X[n, i].item() for n in range(7)) for i in range(5)]
    torch.testing.assert_close(hopfield_update(state.to(device), X.to(device), 0.8),
                               torch.tensor(expected, dtype=torch.float64, device=device), **FLOAT64)


def test_orthogonal_patterns_closed_form(device):
    """Hadamard patterns (X ξ^μ = d e_μ), state ξ^μ: p_μ = e^{βd}/(e^{βd} + N − 1), the rest share 1 − p_μ."""
    d, N, beta = 16, 6, 0.2
    X = sylvester_hadamard(d, device)[:N]
    p = math.exp(beta * d) / (math.exp(beta * d) + N - 1)
    expected = p * X[2] + (1 - p) / (N - 1) * (X.sum(0) - X[2])
    torch.testing.assert_close(hopfield_update(X[2], X, beta), expected, **FLOAT64)


def test_limits_of_beta(device):
    """β → 0: the mean of all patterns (a global average). Large β: the best-matching pattern."""
    generator = torch.Generator().manual_seed(2)
    state, X = torch.randn(4, 8, generator=generator, dtype=torch.float64).to(device), torch.randn(9, 8, generator=generator, dtype=torch.float64).to(device)
    torch.testing.assert_close(hopfield_update(state, X, 0.0), X.mean(0).expand(4, 8), **FLOAT64)
    torch.testing.assert_close(hopfield_update(state, X, 1e4), X[(state @ X.T).argmax(-1)], **FLOAT64)


def naive_recall_with_energies(state, patterns, steps):
    """Asynchronous updates unit by unit, weights and sums written out; also the energy after each."""
    d = len(state)
    T = [[0.0 if i == j else sum(p[i] * p[j] for p in patterns) / d for j in range(d)] for i in range(d)]
    s, energies = list(state), []
    for _ in range(steps):
        for i in range(d):
            field = sum(T[i][j] * s[j] for j in range(d))
            s[i] = s[i] if field == 0 else (1.0 if field > 0 else -1.0)
            energies.append(-0.5 * sum(T[a][b] * s[a] * s[b] for a in range(d) for b in range(d)))
    return s, energies


def test_classical_recall_matches_the_loop_and_never_raises_the_energy(device):
    generator = torch.Generator().manual_seed(3)
    patterns = (torch.randint(0, 2, (5, 20), generator=generator) * 2 - 1).double()
    cue = mask_half(patterns[:1], generator)[0]
    expected, energies = naive_recall_with_energies(cue.tolist(), patterns.tolist(), steps=3)
    got = classical_hopfield_recall(cue.to(device), patterns.to(device), steps=3)
    torch.testing.assert_close(got, torch.tensor(expected, dtype=torch.float64, device=device), atol=0, rtol=0)
    assert all(b <= a + 1e-12 for a, b in zip(energies, energies[1:]))
    torch.testing.assert_close(energy(got, hebbian_weights(patterns.to(device))),
                               torch.tensor(energies[-1], dtype=torch.float64, device=device), **FLOAT64)


def test_orthogonal_patterns_are_fixed_points_and_attract(device):
    """T ξ^μ = (1 − N/d) ξ^μ for orthogonal ±1 patterns, so each is stable for N < d; a cue with a
    few flipped bits falls back to it."""
    d, N = 32, 6
    X = sylvester_hadamard(d, device)[1:N + 1]
    torch.testing.assert_close(hebbian_weights(X) @ X[3], (1 - N / d) * X[3], **FLOAT64)
    torch.testing.assert_close(classical_hopfield_recall(X, X, steps=1), X, atol=0, rtol=0)
    cue = X[3].clone()
    cue[[0, 5, 9]] *= -1
    torch.testing.assert_close(classical_hopfield_recall(cue, X, steps=2), X[3], atol=0, rtol=0)


def test_batched_memories_do_not_mix(device):
    generator = torch.Generator().manual_seed(4)
    X = (torch.randint(0, 2, (3, 1, 4, 24), generator=generator) * 2 - 1).double().to(device)
    cues = mask_half(X[:, 0], generator)
    together = classical_hopfield_recall(cues, X, steps=3)
    for b in range(3):
        torch.testing.assert_close(together[b], classical_hopfield_recall(cues[b], X[b, 0], steps=3), atol=0, rtol=0)


def test_demo_runs_and_agrees(device):
    result = demo(device)
    assert result["sdpa_error"] < 1e-10
    table = result["table"]
    # The page's claims: the classical net recalls a few patterns (N ≤ 0.06 d) but fails well
    # beyond 0.14 d; one modern update recalls every cue, even with N = 16 d patterns stored.
    assert table[2]["classical"] == 1.0 and table[4]["classical"] >= 0.95
    assert all(table[N]["classical"] == 0.0 for N in (24, 32, 64, 256, 1024))
    assert all(row["modern"] == 1.0 for row in table.values())
