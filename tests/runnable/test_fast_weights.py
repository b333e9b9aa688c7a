"""Fast weight programmers: the sum rule against its unrolled closed form (causal attention without
a softmax), the delta rule against a loop over scalars, and the retrieval claims of the page
(exact for orthonormal keys, overwrite by the delta rule, interference of the sum rule)."""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from runnable.fast_weights import (FastWeightProgrammer, delta_rule, demo, dpfp, elu_plus_one, fast_weight_programmer,
                                  schlag_delta_rule, store_then_read, sum_normalise)

FLOAT64 = dict(atol=1e-10, rtol=1e-10)  # float64 recurrences of at most a few dozen steps


def sequence(device, batch=(2, 3), L=9, d_k=4, d_v=5, seed=0):
    generator = torch.Generator().manual_seed(seed)
    q, k, v, beta = (torch.randn(*batch, L, n, generator=generator, dtype=torch.float64) for n in (d_k, d_k, d_v, 1))
    return q.to(device), k.to(device), v.to(device), torch.sigmoid(beta[..., 0]).to(device)


def naive_delta_rule(q, k, v, beta):
    """The delta rule for one sequence (L, d), with W as a list of lists."""
    d_v, d_k = v.shape[-1], k.shape[-1]
    q, k, v, beta = q.tolist(), k.tolist(), v.tolist(), beta.tolist()
    W, out = [[0.0] * d_k for _ in range(d_v)], []
    for t in range(len(q)):
        retrieved = [sum(W[i][j] * k[t][j] for j in range(d_k)) for i in range(d_v)]
        for i in range(d_v):
            for j in range(d_k):
                W[i][j] += beta[t] * (v[t][i] - retrieved[i]) * k[t][j]
        out.append([sum(W[i][j] * q[t][j] for j in range(d_k)) for i in range(d_v)])
    return out


def test_sum_rule_is_unrolled_causal_attention_without_softmax(device):
    """y_t = Σ_{τ≤t} v_τ (k_τᵀ q_t) = (Q Kᵀ ⊙ lower-triangular mask) V."""
    q, k, v, _ = sequence(device)
    mask = torch.ones(9, 9, dtype=torch.float64, device=device).tril()
    torch.testing.assert_close(fast_weight_programmer(q, k, v), ((q @ k.transpose(-1, -2)) * mask) @ v, **FLOAT64)


def test_delta_rule_matches_the_loop(device):
    q, k, v, beta = sequence(device, seed=1)
    got = delta_rule(q, k, v, beta)
    for b in range(2):
        for h in range(3):
            expected = torch.tensor(naive_delta_rule(q[b, h], k[b, h], v[b, h], beta[b, h]), dtype=torch.float64)
            torch.testing.assert_close(got[b, h], expected.to(device), **FLOAT64)


def test_delta_rule_with_zero_strength_writes_nothing(device):
    q, k, v, beta = sequence(device, seed=2)
    assert torch.all(delta_rule(q, k, v, torch.zeros_like(beta)) == 0)


def orthonormal_keys(device, d=8, seed=3):
    generator = torch.Generator().manual_seed(seed)
    return torch.linalg.qr(torch.randn(d, d, generator=generator, dtype=torch.float64))[0].T.to(device)


def test_orthonormal_keys_are_retrieved_exactly_by_both_rules(device):
    """With orthonormal keys W_{t−1} k_t = 0, so the delta rule with β = 1 makes the same writes as the
    sum rule, and reading key i gives v_i exactly."""
    keys = orthonormal_keys(device)
    values = torch.randn(8, 3, dtype=torch.float64).to(device)
    torch.testing.assert_close(store_then_read(keys, values, "sum"), values, **FLOAT64)
    torch.testing.assert_close(store_then_read(keys, values, "delta"), values, **FLOAT64)
    ones = torch.ones(8, dtype=torch.float64, device=device)
    torch.testing.assert_close(delta_rule(keys, keys, values, ones), fast_weight_programmer(keys, keys, values), **FLOAT64)


def test_delta_rule_overwrites_and_sum_rule_mixes(device):
    keys = orthonormal_keys(device)[[0, 1, 2, 0]]                       # key 0 is written twice
    values = torch.randn(4, 5, dtype=torch.float64).to(device)
    a, b = values[0], values[3]
    torch.testing.assert_close(store_then_read(keys, values, "delta")[-1], b, **FLOAT64)
    torch.testing.assert_close(store_then_read(keys, values, "sum")[-1], a + b, **FLOAT64)
    # The other keys are untouched by the rewrite (they are orthogonal to key 0).
    torch.testing.assert_close(store_then_read(keys, values, "delta")[1:3], values[1:3], **FLOAT64)


def test_delta_rule_always_holds_the_last_pair(device):
    """For a unit key and β = 1, W_t k_t = W_{t−1}k_t + (v_t − W_{t−1}k_t)(k_tᵀk_t) = v_t, whatever
    came before; so querying with the key just written returns its value exactly."""
    _, k, v, _ = sequence(device, L=20, seed=4)
    k = F.normalize(k, dim=-1)
    torch.testing.assert_close(delta_rule(k, k, v, torch.ones(k.shape[:-1], dtype=k.dtype, device=device)), v, **FLOAT64)


def test_fast_weight_programmer_is_causal_and_trainable(device):
    torch.manual_seed(5)
    for rule in ("sum", "delta"):
        net = FastWeightProgrammer(6, 4, 3, rule).to(device, torch.float64)
        x = torch.randn(2, 10, 6, dtype=torch.float64, device=device, requires_grad=True)
        y = net(x)
        assert y.shape == (2, 10, 3)
        x2 = x.detach().clone()
        x2[:, 6:] = torch.randn(2, 4, 6, dtype=torch.float64, device=device)     # change the future
        torch.testing.assert_close(net(x2)[:, :6], y[:, :6].detach(), **FLOAT64)
        y.square().sum().backward()
        for name, p in net.named_parameters():
            if rule == "sum" and name.startswith("beta"):
                continue                                                         # β is unused by the sum rule
            assert p.grad is not None and p.grad.abs().sum() > 0, (rule, name)


def test_demo_runs_and_agrees(device):
    result = demo(device)
    assert max(result["orthonormal"]) < 1e-10 and result["sum_error"] < 1e-10
    table = result["table"]
    for N, row in table.items():
        # Interference of the sum rule: close to the crosstalk estimate √((N−1)/d) (64 draws).
        assert abs(row["sum"] - row["crosstalk"]) < 0.1 * row["crosstalk"], N
        assert row["delta"] < row["sum"] and row["last"] < 1e-10
    # Below capacity (N < d = 16), writing the pairs again drives the delta rule's error down.
    assert table[4]["delta5"] < 0.01 and table[8]["delta5"] < 0.1
    # Beyond capacity no rule can hold all pairs in a 16×16 matrix.
    assert table[64]["delta5"] > 1 and table[64]["sum"] > 1
    torch.testing.assert_close(result["rewrite"]["delta"], result["b"], **FLOAT64)
    torch.testing.assert_close(result["rewrite"]["sum"], result["a"] + result["b"], **FLOAT64)


def test_dpfp_against_the_papers_definition(device):
    """φ_{(n−1)·2d + i}(x) = r_i r_{(i+n) mod 2d}, r = ReLU([x, −x]), for n = 1..ν, written as loops."""
    generator = torch.Generator().manual_seed(6)
    x = torch.randn(3, 5, generator=generator, dtype=torch.float64).to(device)
    for nu in (1, 2, 3):
        phi = dpfp(x, nu)
        assert phi.shape == (3, 2 * 5 * nu)
        for b in range(3):
            r = [max(value, 0.0) for value in x[b].tolist()] + [max(-value, 0.0) for value in x[b].tolist()]
            expected = [r[i] * r[(i + n) % 10] for n in range(1, nu + 1) for i in range(10)]
            torch.testing.assert_close(phi[b], torch.tensor(expected, dtype=torch.float64, device=device), **FLOAT64)


def test_dpfp_dot_products_equal_the_released_codes():
    """IDSIA/lmtool-fwp's mul_roll_repeat multiplies r by roll(r, +n): the same features in another
    order, so every φ(k)ᵀφ(q) agrees."""
    generator = torch.Generator().manual_seed(7)
    q, k = torch.randn(2, 4, 6, generator=generator, dtype=torch.float64)

    def released(x, n_roll):
        x = torch.cat([F.relu(x), F.relu(-x)], dim=-1)
        return torch.cat([x * x.roll(shifts=i, dims=-1) for i in range(1, n_roll + 1)], dim=-1)

    for nu in (1, 2, 3):
        torch.testing.assert_close(dpfp(q, nu) @ dpfp(k, nu).T, released(q, nu) @ released(k, nu).T, **FLOAT64)


def test_sum_normalisation_and_elu_plus_one():
    x = torch.randn(4, 7, dtype=torch.float64)
    torch.testing.assert_close(sum_normalise(dpfp(x, 2)).sum(-1), torch.ones(4, dtype=torch.float64), **FLOAT64)
    torch.testing.assert_close(elu_plus_one(x), torch.where(x > 0, x + 1, torch.exp(x)), **FLOAT64)


def test_schlag_delta_rule_is_the_delta_rule_on_sum_normalised_features(device):
    q, k, v, beta = sequence(device, seed=8)
    phi_q, phi_k = dpfp(q), dpfp(k)
    expected = delta_rule(phi_q / phi_q.sum(-1, keepdim=True), phi_k / phi_k.sum(-1, keepdim=True), v, beta)
    torch.testing.assert_close(schlag_delta_rule(q, k, v, beta), expected, **FLOAT64)


def test_exact_overwrite_needs_unit_keys(device):
    """W_t k_t = v_t after a write with β = 1 holds for L2-normalised keys and fails for Schlag et
    al.'s sum-normalised DPFP keys (‖k‖₂ < 1): there W_t k_t = v̄_t + ‖k_t‖² (v_t − v̄_t)."""
    _, k, v, _ = sequence(device, L=12, d_k=16, seed=9)
    ones = torch.ones(k.shape[:-1], dtype=k.dtype, device=device)
    unit = F.normalize(k, dim=-1)
    torch.testing.assert_close(delta_rule(unit, unit, v, ones), v, **FLOAT64)
    summed = sum_normalise(dpfp(k))
    short = summed.norm(dim=-1) < 0.99               # all but one-hot features (norm 1), rare at d = 16
    assert short.float().mean() > 0.9
    read_back = delta_rule(summed, summed, v, ones)
    assert (read_back - v).norm(dim=-1)[short].min() > 1e-3
    # The closed form of the partial write: v̄_t = W_{t−1} k_t, read from the same recurrence one step earlier.
    W_before_read = delta_rule(summed[..., 1:, :], summed[..., :-1, :], v[..., :-1, :], ones[..., :-1])  # W_{t−1} k_t
    squared = summed[..., 1:, :].square().sum(-1, keepdim=True)
    torch.testing.assert_close(read_back[..., 1:, :], W_before_read + squared * (v[..., 1:, :] - W_before_read), **FLOAT64)


def test_fast_weight_programmer_with_dpfp_keys(device):
    torch.manual_seed(10)
    net = FastWeightProgrammer(6, 4, 3, keys="dpfp", nu=2).to(device, torch.float64)
    x = torch.randn(2, 7, 6, dtype=torch.float64, device=device)
    q, k = (sum_normalise(dpfp(f(x), 2)) for f in (net.query, net.key))
    expected = delta_rule(q, k, net.value(x), torch.sigmoid(net.beta(x))[..., 0])
    torch.testing.assert_close(net(x), expected, **FLOAT64)
