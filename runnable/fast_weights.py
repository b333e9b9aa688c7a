"""Fast weight programmers: the sum rule (Schmidhuber 1992; bib: schmidhuber1992learning) and the delta rule (Schlag, Irie & Schmidhuber 2021; bib: schlag2021linear).

A slow network reads the input x_t and emits a key k_t, a value v_t and a query q_t (and, for the
delta rule, a write strength β_t). They program a fast weight matrix W, which starts at 0, and
the fast net's output is W applied to the query. In the additive outer-product form, as Schlag,
Irie & Schmidhuber restate the 1992 scheme,

    sum rule:    W_t = W_{t−1} + v_t k_tᵀ,                               y_t = W_t q_t
    delta rule:  W_t = W_{t−1} + β_t (v_t − W_{t−1} k_t) k_tᵀ,           y_t = W_t q_t

The sum rule unrolls to y_t = Σ_{τ≤t} v_τ (k_τᵀ q_t): causal attention without the softmax. Its
writes only add, so a key written twice returns the sum of its values, and keys that are not
orthogonal leak into each other's reads. The delta rule first reads what W holds for k_t,
v̄_t = W_{t−1} k_t, and writes only the difference, so that afterwards

    W_t k_t = v̄_t + β_t ‖k_t‖² (v_t − v̄_t):

exact overwrite, W_t k_t = v_t, needs β_t ‖k_t‖₂² = 1, i.e. a unit-length key and β_t = 1. That is
a property of the key normalisation, not of the rule. Two conventions for q and k:

- Schlag, Irie & Schmidhuber (2021), section 4: a feature map φ (their DPFP, `dpfp`, among others
  such as Katharopoulos et al.'s elu + 1) and then sum normalisation, k ← φ(k) / Σ_j φ(k)_j (the
  same for q), and no normaliser in the output. Sum-normalised keys are non-negative and sum to
  one, so ‖k‖₂ ≤ 1, with equality only for a one-hot key: the write moves W k only part of the
  way to v. (`schlag_delta_rule`; FastWeightProgrammer(..., keys="dpfp").)
- DeltaNet as Yang et al. (2024) parallelise it: raw q and k scaled to unit L2 length, which is
  what makes the overwrite exact. (FastWeightProgrammer(..., keys="l2"), the default here.)

DPFP ("deterministic parameter-free projection", Schlag et al. section 4.2, their eq. with ν):
with r(x) = ReLU([x, −x]) ∈ R^{2d}, φ(x) has 2dν entries, φ_{(n−1)·2d + i}(x) = r_i r_{i+n}
for n = 1..ν and i = 1..2d, indices taken cyclically. Their released code (IDSIA/lmtool-fwp,
src/utils/cuda_fast_weight_layer.py, mul_roll_repeat) computes r · roll(r, n), the same products
listed in another order within each block, so every dot product φ(k)ᵀφ(q) is the same.

Both rules are written as the recurrence, one time step at a time, vectorised over any batch
dimensions. `store_then_read` writes a list of pairs and then reads every key back, which is how the
demo measures the memory.

Differences from the paper:
- The slow network is not modelled: keys, values, queries (and write strengths) are given, so only
  the fast-weight rules are implemented.
- The 1992 scheme is written in the additive outer-product form in which Schlag, Irie and
  Schmidhuber restate it, not in the original paper's notation. Of their feature maps only DPFP
  (and elu + 1) are here.

Shapes: q, k (..., L, d_k); v (..., L, d_v); beta (..., L); outputs (..., L, d_v); W (..., d_v, d_k).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def dpfp(x, nu: int = 1):
    """Schlag et al.'s DPFP feature map: (..., d) → (..., 2dν), φ_{(n−1)·2d + i} = r_i r_{i+n} (cyclic),
    r = ReLU([x, −x]). No normalisation (see sum_normalise)."""
    r = F.relu(torch.cat([x, -x], dim=-1))
    return torch.cat([r * r.roll(-n, dims=-1) for n in range(1, nu + 1)], dim=-1)   # roll(-n): r_{i+n}


def elu_plus_one(x):
    """Katharopoulos et al.'s feature map elu(x) + 1 (positive), one of the maps Schlag et al. compare."""
    return F.elu(x) + 1


def sum_normalise(x):
    """x / Σ_j x_j over the last axis: Schlag et al.'s normalisation of φ(q) and φ(k)."""
    return x / x.sum(-1, keepdim=True)


def fast_weight_programmer(q, k, v):
    """The sum rule as a recurrence over time: W_t = W_{t−1} + v_t k_tᵀ, y_t = W_t q_t.
    Takes q and k as given (no feature map, no normalisation)."""
    W = q.new_zeros(*v.shape[:-2], v.shape[-1], k.shape[-1])
    out = []
    for t in range(q.shape[-2]):
        W = W + v[..., t, :, None] * k[..., t, None, :]                       # + v_t k_tᵀ
        out.append((W @ q[..., t, :, None])[..., 0])                          # W_t q_t
    return torch.stack(out, dim=-2)


def delta_rule(q, k, v, beta):
    """W_t = W_{t−1} + β_t (v_t − W_{t−1} k_t) k_tᵀ, y_t = W_t q_t. Takes q and k as given: pass
    L2-normalised ones for DeltaNet's convention, or use schlag_delta_rule for Schlag et al.'s."""
    W = q.new_zeros(*v.shape[:-2], v.shape[-1], k.shape[-1])
    out = []
    for t in range(q.shape[-2]):
        retrieved = (W @ k[..., t, :, None])[..., 0]                          # v̄_t = W_{t−1} k_t
        W = W + (beta[..., t, None] * (v[..., t, :] - retrieved))[..., :, None] * k[..., t, None, :]
        out.append((W @ q[..., t, :, None])[..., 0])
    return torch.stack(out, dim=-2)


def schlag_delta_rule(q, k, v, beta, feature_map=dpfp):
    """Schlag, Irie & Schmidhuber's form: the delta rule on sum-normalised features,
    k ← φ(k)/Σφ(k), q ← φ(q)/Σφ(q), with φ = DPFP (ν = 1) unless another map is given."""
    return delta_rule(sum_normalise(feature_map(q)), sum_normalise(feature_map(k)), v, beta)


class FastWeightProgrammer(nn.Module):
    """The slow net: linear maps from x_t to q_t, k_t, v_t and β_t = sigmoid(w_βᵀ x_t), driving
    one fast weight matrix by the sum or the delta rule. keys="l2" (the default; DeltaNet's
    convention, Yang et al. 2024) scales queries and keys to unit length, which keeps the delta
    rule's update a contraction (0 < β‖k‖² < 2) and its overwrite exact; keys="dpfp" is Schlag et
    al.'s DPFP (with ν = nu) followed by sum normalisation, so the fast keys have 2·d_key·ν entries."""

    def __init__(self, d_in: int, d_key: int, d_value: int, rule: str = "delta", keys: str = "l2", nu: int = 1):
        super().__init__()
        assert rule in ("sum", "delta"), rule
        assert keys in ("l2", "dpfp"), keys
        self.rule, self.keys, self.nu = rule, keys, nu
        self.query, self.key = nn.Linear(d_in, d_key), nn.Linear(d_in, d_key)
        self.value, self.beta = nn.Linear(d_in, d_value), nn.Linear(d_in, 1)

    def forward(self, x):
        """The slow net's projections of x become queries and keys (unit-length, or DPFP features
        sum-normalised), values and (for the delta rule) a write strength β in (0, 1); the fast
        weights do the rest."""
        if self.keys == "l2":
            q, k = F.normalize(self.query(x), dim=-1), F.normalize(self.key(x), dim=-1)
        else:
            q, k = (sum_normalise(dpfp(f(x), self.nu)) for f in (self.query, self.key))
        if self.rule == "sum":
            return fast_weight_programmer(q, k, self.value(x))
        return delta_rule(q, k, self.value(x), torch.sigmoid(self.beta(x))[..., 0])


def store_then_read(keys, values, rule: str, beta: float = 1.0):
    """Write the pairs (k_i, v_i) in order, then read every key back: returns (N, d_v)."""
    N = keys.shape[-2]
    # Reads of the keys go after all writes: L = 2N steps, the first N write, the last N only read
    # (a zero key and value add nothing under either rule).
    k = torch.cat([keys, torch.zeros_like(keys)], -2)
    v = torch.cat([values, torch.zeros_like(values)], -2)
    q = torch.cat([torch.zeros_like(keys), keys], -2)
    if rule == "sum":
        return fast_weight_programmer(q, k, v)[..., N:, :]
    return delta_rule(q, k, v, torch.full(k.shape[:-1], beta, dtype=k.dtype, device=k.device))[..., N:, :]


def demo(device: torch.device | str = "cpu", seed: int = 0) -> dict:
    torch.manual_seed(seed)  # data drawn on the CPU, so every device sees the same numbers
    d, trials = 16, 64
    rel = lambda y, v: ((y - v).norm(dim=-1) / v.norm(dim=-1)).mean().item()      # noqa: E731
    print(f"Store N (key, value) pairs in a {d}×{d} fast weight matrix, then query each key;")
    print(f"relative error ‖ŷ − v‖/‖v‖, mean over {trials} random draws (unit keys, β = 1):")
    orthonormal = torch.linalg.qr(torch.randn(d, d, dtype=torch.float64))[0].T.to(device)   # rows
    values = torch.randn(d, d, dtype=torch.float64).to(device)
    exact = [rel(store_then_read(orthonormal, values, r), values) for r in ("sum", "delta")]
    print(f"  {d} orthonormal keys: sum rule {exact[0]:.1e}, delta rule {exact[1]:.1e} (tolerance 1e-10)")
    print("   N   sum rule   √((N−1)/d)   delta, 1 pass   delta, 5 passes   delta, last pair")
    table = {}
    for N in [4, 8, 16, 32, 64]:
        keys = F.normalize(torch.randn(trials, N, d, dtype=torch.float64), dim=-1).to(device)
        vals = torch.randn(trials, N, d, dtype=torch.float64).to(device)
        once = store_then_read(keys, vals, "delta")
        # Writing the same pairs five times: each pass corrects what the others disturbed.
        repeated = store_then_read(keys.repeat(1, 5, 1), vals.repeat(1, 5, 1), "delta")[:, -N:]
        table[N] = {"sum": rel(store_then_read(keys, vals, "sum"), vals), "crosstalk": ((N - 1) / d) ** 0.5,
                    "delta": rel(once, vals), "delta5": rel(repeated, vals), "last": rel(once[:, -1], vals[:, -1])}
        print(f"  {N:>2}     {table[N]['sum']:.3f}       {table[N]['crosstalk']:.3f}         {table[N]['delta']:.3f}"
              f"            {table[N]['delta5']:.3f}            {table[N]['last']:.0e}")
    # Rewriting: key 0 is written with value a, two other keys follow, then key 0 again with value b.
    a, b = values[0], values[1]
    out = {r: store_then_read(orthonormal[[0, 1, 2, 0]], torch.stack([a, values[2], values[3], b]), r)[-1]
           for r in ("sum", "delta")}
    print("rewrite key 0 (value a, then value b), then query key 0:")
    print(f"  sum rule   returns a + b: ‖ŷ − (a + b)‖ = {(out['sum'] - (a + b)).norm():.1e}, ‖ŷ − b‖ = {(out['sum'] - b).norm():.2f}")
    print(f"  delta rule returns b:     ‖ŷ − b‖ = {(out['delta'] - b).norm():.1e} (tolerance 1e-10)")
    # The recurrence against its unrolled form y_t = Σ_{τ≤t} v_τ (k_τᵀ q_t), i.e. masked (Q Kᵀ) V.
    q, k, v = (torch.randn(2, 12, n, dtype=torch.float64).to(device) for n in (5, 5, 3))
    unrolled = ((q @ k.transpose(-1, -2)) * torch.ones(12, 12, device=device).tril()) @ v
    sum_error = (fast_weight_programmer(q, k, v) - unrolled).abs().max().item()
    print(f"sum rule recurrence vs unrolled causal sum: max error {sum_error:.1e} (tolerance 1e-10)")
    return {"orthonormal": exact, "table": table, "rewrite": {r: y.cpu() for r, y in out.items()},
            "a": a.cpu(), "b": b.cpu(), "sum_error": sum_error}


if __name__ == "__main__":
    from runnable._cli import device_from_args

    demo(device_from_args(__doc__.splitlines()[0]))
