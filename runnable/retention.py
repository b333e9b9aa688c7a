"""Retention, the attention of RetNet (Sun, Dong, Huang, Ma, Xia, Xue, Wang & Wei 2023; bib: sun2023retentive).

Causal linear attention with a fixed exponential decay γ ∈ (0, 1) per head, in three forms that
compute the same function:

    parallel (training):   Retention(X) = (Q Kᵀ ⊙ D) V,      D_nm = γ^{n−m} if n ≥ m, else 0
    recurrent (inference): S_n = γ S_{n−1} + K_nᵀ V_n,        Retention(X_n) = Q_n S_n
    chunkwise (long inputs, chunks of B tokens, the state R carried between them):
        R_i = K_[i]ᵀ (V_[i] ⊙ ζ) + γ^B R_{i−1},               ζ_j = γ^{B−j−1}
        Retention(X_[i]) = (Q_[i] K_[i]ᵀ ⊙ D) V_[i] + (Q_[i] R_{i−1}) ⊙ ξ,   ξ_j = γ^{j+1}

(j = 0 … B−1 counts the positions inside a chunk.) The paper derives the decay from a diagonalised
linear recurrence, γ e^{iθ}: the modulus is the decay mask D, the phases rotate queries and keys by
their absolute positions (Q = (X W_Q) ⊙ Θ, K = (X W_K) ⊙ Θ̄, Θ_n = e^{inθ}), which is a rotary
position embedding; `rotate` applies it with runnable/rotary_embeddings.py. Multi-scale retention
gives each head its own γ, γ = 1 − 2^{−5−h} for heads h = 0 … H−1 (`head_decays`): head 0 forgets
over about 2⁵ = 32 tokens, each further head over twice as many.

Differences from the paper:
- Only the retention operator and its decays: no projections, swish gate, GroupNorm or RetNet
  block. The paper's extra normalisations (QKᵀ scaled by 1/√d, each row of D divided by the square
  root of its sum, the scores divided by max(|row sum|, 1)) are left out. Each multiplies a row of
  a head's output by a positive number, which the per-head GroupNorm that follows in RetNet
  removes (up to its ε).
- The rotation is plain RoPE (rotary_embeddings.apply_rotary, base 10000); xPos's additional
  per-dimension scaling is not implemented. It acts on q and k before retention and does not
  change the equality of the forms.
- Plain PyTorch; the chunkwise form loops over chunks, and the last chunk may be shorter.

Shapes: q, k (..., H, L, d_k); v (..., H, L, d_v); gamma (H,) (or anything broadcastable to q's
leading dimensions); outputs (..., H, L, d_v); states S (..., H, d_k, d_v).
"""
from __future__ import annotations

import torch

from runnable.rotary_embeddings import apply_rotary


def head_decays(heads: int, dtype=torch.float64, device=None):
    """Multi-scale retention's γ_h = 1 − 2^{−5−h}, h = 0 … heads−1."""
    return 1 - 2.0 ** (-5 - torch.arange(heads, dtype=dtype, device=device))


def decay_mask(length: int, gamma):
    """D_nm = γ^{n−m} for n ≥ m and 0 above the diagonal: (..., length, length) for gamma (...)."""
    n = torch.arange(length, device=gamma.device)
    offset = (n[:, None] - n[None, :]).to(gamma.dtype)
    causal = offset >= 0
    # γ^{n−m} as exp((n−m) log γ), computed only where n ≥ m (above the diagonal the exponent would be positive).
    return torch.where(causal, (offset.clamp(min=0) * gamma.log()[..., None, None]).exp(), 0.0)


def rotate(x, offset: int = 0):
    """The phases of γ e^{iθ}: rotate each pair of features by its absolute position (from offset)."""
    return apply_rotary(x, torch.arange(offset, offset + x.shape[-2], device=x.device))


def retention_parallel(q, k, v, gamma):
    """(Q Kᵀ ⊙ D) V: the whole L × L decayed score matrix at once."""
    return (q @ k.transpose(-1, -2) * decay_mask(q.shape[-2], gamma)) @ v


def retention_recurrent(q, k, v, gamma, state=None):
    """S_n = γ S_{n−1} + k_n v_nᵀ, o_n = S_nᵀ q_n, one token at a time. Returns (outputs, final state)."""
    decay = gamma[..., None, None]
    if state is None:
        state = q.new_zeros(*q.shape[:-2], k.shape[-1], v.shape[-1])
    out = []
    for n in range(q.shape[-2]):
        state = decay * state + k[..., n, :, None] * v[..., n, None, :]
        out.append((q[..., n, None, :] @ state)[..., 0, :])
    return torch.stack(out, dim=-2), state


# Chunk by chunk: inside, the parallel form; across, the state R, decayed to each query's position
# (ξ) and built from the chunk's keys decayed to its end (ζ).
def retention_chunkwise(q, k, v, gamma, chunk: int = 16, state=None):
    """The chunkwise form. Returns (outputs, final state); any chunk ≥ 1 (the last may be shorter)."""
    if state is None:
        state = q.new_zeros(*q.shape[:-2], k.shape[-1], v.shape[-1])
    log_gamma = gamma.log()[..., None]                                               # (..., 1)
    out = []
    for start in range(0, q.shape[-2], chunk):
        q_c, k_c, v_c = (x[..., start:start + chunk, :] for x in (q, k, v))
        B = q_c.shape[-2]
        j = torch.arange(B, dtype=gamma.dtype, device=gamma.device)
        xi = ((j + 1) * log_gamma).exp()[..., None]                                  # γ^{j+1} (..., B, 1)
        zeta = ((B - j - 1) * log_gamma).exp()[..., None]                            # γ^{B−j−1}
        inner = retention_parallel(q_c, k_c, v_c, gamma)
        out.append(inner + (q_c @ state) * xi)
        state = k_c.transpose(-1, -2) @ (v_c * zeta) + (B * log_gamma).exp()[..., None] * state
    return torch.cat(out, dim=-2), state


def naive_retention(q, k, v, gamma: float):
    """o_n = Σ_{m≤n} γ^{n−m} (q_n · k_m) v_m, one pair at a time (2-D inputs, one head)."""
    out = []
    for n in range(q.shape[0]):
        o = torch.zeros_like(v[0])
        for m in range(n + 1):
            o = o + gamma ** (n - m) * (q[n] @ k[m]) * v[m]
        out.append(o)
    return torch.stack(out)


def demo(device: torch.device | str = "cpu", seed: int = 0) -> dict:
    torch.manual_seed(seed)  # data drawn on the CPU, so every device sees the same numbers
    H, L, d = 4, 50, 8
    gamma = head_decays(H, device=device)
    q, k, v = (torch.randn(2, H, L, d, dtype=torch.float64).to(device) for _ in range(3))
    q, k = rotate(q), rotate(k)
    parallel = retention_parallel(q, k, v, gamma)
    recurrent, final = retention_recurrent(q, k, v, gamma)
    errors = {
        "parallel vs double loop (head 0)": (parallel[0, 0] - naive_retention(q[0, 0], k[0, 0], v[0, 0], gamma[0].item())).abs().max().item(),
        "recurrent vs parallel": (recurrent - parallel).abs().max().item(),
    }
    for chunk in (1, 7, 16, 64):
        out, state = retention_chunkwise(q, k, v, gamma, chunk)
        errors[f"chunkwise (B = {chunk}) vs parallel"] = max((out - parallel).abs().max().item(), (state - final).abs().max().item())
    for name, error in errors.items():
        print(f"{name:<34} max error {error:.1e} (tolerance 1e-10, float64)")
    # The rotation makes scores depend on offsets only: shifting every position by 1000 changes nothing.
    q0, k0 = (torch.randn(1, H, L, d, dtype=torch.float64).to(device) for _ in range(2))
    shifted = (retention_parallel(rotate(q0, 1000), rotate(k0, 1000), v[:1], gamma) - retention_parallel(rotate(q0), rotate(k0), v[:1], gamma)).abs().max().item()
    print(f"positions shifted by 1000: max change {shifted:.1e} (relative positions only)")
    heads = head_decays(8)
    print("multi-scale decays, 8 heads:  γ = " + ", ".join(f"{g:.5f}" for g in heads.tolist()))
    print("tokens until a weight falls below 1/e: " + ", ".join(f"{(-1 / g.log()).item():.0f}" for g in heads))
    return {"errors": errors, "shift_change": shifted, "gammas": heads.tolist()}


if __name__ == "__main__":
    from runnable._cli import device_from_args

    demo(device_from_args(__doc__.splitlines()[0]))
