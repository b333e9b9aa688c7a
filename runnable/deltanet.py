"""DeltaNet: the delta rule trained in parallel over the sequence (Yang et al. 2024; bib: yang2024parallelizing).

The rule is Schlag, Irie & Schmidhuber's (2021; bib: schlag2021linear); the chunkwise-parallel
form is Yang, Wang, Zhang, Shen & Kim's (2024).

The state is a fast weight matrix S (d_v × d_k). Each step reads what S holds for the key, and
replaces it with the new value by a step of strength β_t:

    S_t = S_{t−1} + β_t (v_t − S_{t−1} k_t) k_tᵀ = S_{t−1} (I − β_t k_t k_tᵀ) + β_t v_t k_tᵀ,   o_t = S_t q_t

This is the delta rule of the fast weight programmers; the recurrent form here is
`runnable.fast_weights.delta_rule`, unchanged. Unlike linear attention, S_t is not a sum of
outer products: each step multiplies the state by a generalised Householder matrix I − β_t k_t k_tᵀ,
so the unrolled form is a sum of products of such matrices,

    S_t = Σ_{i≤t} β_i v_i k_iᵀ Π_{i<j≤t} (I − β_j k_j k_jᵀ)          (`naive_deltanet`, the reference).

The WY representation writes a product of these matrices with one low-rank correction,
Π_{i≤t} (I − β_i k_i k_iᵀ) = I − Σ_{i≤t} w_i k_iᵀ, where

    w_t = β_t (k_t − Σ_{i<t} (k_iᵀ k_t) w_i),        and likewise   u_t = β_t (v_t − Σ_{i<t} (k_iᵀ k_t) u_i)

for the sum of value writes. Stacked as rows W, U, these recurrences are one triangular solve
(the UT transform): (I + tril(diag(β) K Kᵀ, −1)) [W U] = diag(β) [K V]. For a chunk that starts
from the state S this gives S_t = S + Σ_{i≤t} (u_i − S w_i) k_iᵀ, so with Ũ = U − W Sᵀ

    O = Q Sᵀ + tril(Q Kᵀ) Ũ,        S' = S + Ũᵀ K                         (`deltanet_chunkwise`).

Between chunks the state is carried as in linear attention; inside a chunk everything is
matrix products and one small triangular solve.

Differences from the paper:
- Only the delta-rule operator: no DeltaNet layer (the SiLU and L2 normalisation of q and k, the
  β projection, short convolutions, output normalisation) and no training; inputs are given.
  The demos and tests scale keys to unit length, DeltaNet's convention, where noted.
- The UT transform's triangular system is solved with torch.linalg.solve_triangular rather than
  the paper's forward substitution inside a Triton kernel; plain PyTorch, a loop over chunks.

Shapes: q, k (..., L, d_k); v (..., L, d_v); beta (..., L); outputs (..., L, d_v);
states S (..., d_v, d_k), as in runnable/fast_weights.py. Leading dimensions are broadcast.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from runnable.fast_weights import delta_rule  # the recurrent form: S_t = S_{t−1} + β_t (v_t − S_{t−1} k_t) k_tᵀ


def ut_transform(k, v, beta):
    """W and U of the WY representation for one chunk: solve (I + tril(diag(β) K Kᵀ, −1)) [W U] = diag(β) [K V]."""
    C = k.shape[-2]
    strictly_lower = (beta[..., :, None] * (k @ k.transpose(-1, -2))).tril(-1)      # β_t k_tᵀ k_i, i < t
    system = torch.eye(C, dtype=k.dtype, device=k.device) + strictly_lower
    right = beta[..., :, None] * torch.cat([k, v], dim=-1)                          # diag(β) [K V]
    solved = torch.linalg.solve_triangular(system, right, upper=False, unitriangular=True)
    return solved[..., :k.shape[-1]], solved[..., k.shape[-1]:]                      # W (..., C, d_k), U (..., C, d_v)


def deltanet_chunkwise(q, k, v, beta, chunk: int = 16, state=None):
    """The chunkwise-parallel form. Returns (outputs, final state); any chunk ≥ 1 (the last may be shorter)."""
    if state is None:
        state = q.new_zeros(*k.shape[:-2], v.shape[-1], k.shape[-1])
    out = []
    for start in range(0, q.shape[-2], chunk):
        part = slice(start, start + chunk)
        q_c, k_c, v_c, beta_c = q[..., part, :], k[..., part, :], v[..., part, :], beta[..., part]
        w, u = ut_transform(k_c, v_c, beta_c)
        new_values = u - w @ state.transpose(-1, -2)                                 # Ũ: rows u_i − S w_i
        out.append(q_c @ state.transpose(-1, -2) + (q_c @ k_c.transpose(-1, -2)).tril() @ new_values)
        state = state + new_values.transpose(-1, -2) @ k_c                           # S' = S + Ũᵀ K
    return torch.cat(out, dim=-2), state


def naive_deltanet(q, k, v, beta):
    """S_t = Σ_{i≤t} β_i v_i k_iᵀ Π_{i<j≤t} (I − β_j k_j k_jᵀ) with the d_k × d_k matrices built one by one,
    o_t = S_t q_t (2-D inputs). Returns (outputs, final state)."""
    eye = torch.eye(k.shape[-1], dtype=k.dtype, device=k.device)
    out, state = [], None
    for t in range(q.shape[0]):
        state = torch.zeros(v.shape[-1], k.shape[-1], dtype=v.dtype, device=v.device)
        for i in range(t + 1):
            product = eye
            for j in range(i + 1, t + 1):
                product = product @ (eye - beta[j] * torch.outer(k[j], k[j]))
            state = state + beta[i] * torch.outer(v[i], k[i]) @ product
        out.append(state @ q[t])
    return torch.stack(out), state


def implied_attention(q, k, beta):
    """From a zero state the output is linear in V: O = M V with M = tril(Q Kᵀ) T diag(β), where T is
    the inverse of the UT transform's system. M is DeltaNet's attention matrix, built whole for display
    on short inputs (the UT transform of the identity as values gives T diag(β))."""
    identity = torch.eye(k.shape[-2], dtype=k.dtype, device=k.device).expand(*k.shape[:-1], k.shape[-2])
    return (q @ k.transpose(-1, -2)).tril() @ ut_transform(k, identity, beta)[1]


def demo(device: torch.device | str = "cpu", seed: int = 0) -> dict:
    torch.manual_seed(seed)  # data drawn on the CPU, so every device sees the same numbers
    L, d_k, d_v = 30, 8, 6
    q, k = (F.normalize(torch.randn(2, 3, L, d_k, dtype=torch.float64), dim=-1).to(device) for _ in range(2))
    v = torch.randn(2, 3, L, d_v, dtype=torch.float64).to(device)
    beta = torch.rand(2, 3, L, dtype=torch.float64).to(device)
    recurrent = delta_rule(q, k, v, beta)
    reference, _ = naive_deltanet(q[0, 0], k[0, 0], v[0, 0], beta[0, 0])
    errors = {"recurrent vs Householder products": (recurrent[0, 0] - reference).abs().max().item()}
    for chunk in (1, 7, 16, 64):
        errors[f"chunkwise (C = {chunk}) vs recurrent"] = (deltanet_chunkwise(q, k, v, beta, chunk)[0] - recurrent).abs().max().item()
    # The WY representation: I − Σ_i w_i k_iᵀ against the product of the Householder-like matrices.
    w, _ = ut_transform(k[0, 0, :8], v[0, 0, :8], beta[0, 0, :8])
    product = torch.eye(d_k, dtype=torch.float64, device=device)
    for t in range(8):
        product = product @ (torch.eye(d_k, dtype=torch.float64, device=device) - beta[0, 0, t] * torch.outer(k[0, 0, t], k[0, 0, t]))
    errors["WY form vs product of 8 factors"] = (torch.eye(d_k, dtype=torch.float64, device=device) - w.T @ k[0, 0, :8] - product).abs().max().item()
    for name, error in errors.items():
        print(f"{name:<38} max error {error:.1e} (tolerance 1e-10, float64)")
    # Overwriting: a unit key written with value a, then with value b (β = 1). The delta rule returns b.
    key = F.normalize(torch.randn(1, d_k, dtype=torch.float64), dim=-1).to(device)
    a, b = torch.randn(2, d_v, dtype=torch.float64).to(device)
    keys, values = torch.cat([key, key, key]), torch.stack([a, b, torch.zeros_like(a)])
    read = deltanet_chunkwise(key.expand(3, d_k), keys, values, torch.tensor([1.0, 1.0, 0.0], dtype=torch.float64, device=device), 3)[0][-1]
    print(f"write a, then b, under one unit key (β = 1), then read it: ‖read − b‖ = {(read - b).norm():.1e}, ‖read − a‖ = {(read - a).norm():.2f}")
    return {"errors": errors, "overwrite_error": (read - b).norm().item()}


if __name__ == "__main__":
    from runnable._cli import device_from_args

    demo(device_from_args(__doc__.splitlines()[0]))
