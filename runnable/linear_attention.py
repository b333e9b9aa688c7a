"""Linear attention (Katharopoulos, Vyas, Pappas & Fleuret 2020; bib: katharopoulos2020transformers).

Attention as a normalised, similarity-weighted sum, with a similarity that factorises through a
feature map φ, sim(q, k) = φ(q)ᵀ φ(k):

    V'_i = Σ_j φ(Q_i)ᵀφ(K_j) V_j / Σ_j φ(Q_i)ᵀφ(K_j) = φ(Q_i)ᵀ (Σ_j φ(K_j) V_jᵀ) / φ(Q_i)ᵀ (Σ_j φ(K_j))

The bracketed sums are shared by all queries, so the cost is linear in the sequence length.
The paper's feature map is φ(x) = elu(x) + 1, positive so the weights are non-negative. Here
the denominator gets + eps, and normalize=False drops it (the plain sum φ(Q_i)ᵀ Σ_j φ(K_j) V_jᵀ).

Causal (j ≤ i) the sums become running totals, which is a recurrent network:

    S_i = S_{i−1} + φ(K_i) V_iᵀ,   z_i = z_{i−1} + φ(K_i),   V'_i = φ(Q_i)ᵀ S_i / (φ(Q_i)ᵀ z_i + eps)

`linear_attention(causal=True)` computes all S_i at once with cumulative sums (time and memory
O(L·d·d_v), parallel over positions); `linear_attention_recurrent` runs the recurrence one
token at a time with a state of fixed size (d·d_v + d), whatever the position.

The parallel causal form uses cumulative sums of φ(K_j) V_jᵀ over positions (linear in the length,
parallel over positions, memory L · d · d_v); the recurrent form runs `recurrent_step` one token at
a time. A small `eps` is added to the denominator in both, so they agree exactly.

Differences from the paper:
- A small eps is added to the denominator (normalize=False drops it), so the parallel and recurrent
  forms agree exactly; the paper writes the division without it.
- The causal form uses cumulative sums in PyTorch rather than the paper's custom CUDA kernel, so its
  memory is L · d · d_v.

Shapes: q (..., L_q, d), k (..., L_k, d), v (..., L_k, d_v) → (..., L_q, d_v); causal needs L_q = L_k.
"""
from __future__ import annotations

import time

import torch
import torch.nn.functional as F


def elu_feature_map(x):
    """φ(x) = elu(x) + 1 > 0."""
    return F.elu(x) + 1


def linear_attention(q, k, v, causal=False, feature_map=elu_feature_map, eps=1e-6, normalize=True):
    """The parallel form; causal uses cumulative sums over positions."""
    phi_q, phi_k = feature_map(q), feature_map(k)
    if causal:
        assert q.shape[-2] == k.shape[-2], "causal attention needs as many queries as keys"
        S = torch.cumsum(phi_k[..., :, None] * v[..., None, :], dim=-3)     # S_i (..., L, d, d_v)
        num = (phi_q[..., None, :] @ S)[..., 0, :]                           # φ(Q_i)ᵀ S_i
        den = (phi_q * torch.cumsum(phi_k, dim=-2)).sum(-1, keepdim=True)    # φ(Q_i)ᵀ z_i
    else:
        S = phi_k.transpose(-1, -2) @ v                                      # Σ_j φ(K_j) V_jᵀ  (..., d, d_v)
        num = phi_q @ S
        den = phi_q @ phi_k.sum(-2)[..., None]                               # φ(Q_i)ᵀ Σ_j φ(K_j)
    return num / (den + eps) if normalize else num


def recurrent_step(state, normaliser, q_t, k_t, v_t, feature_map=elu_feature_map, eps=1e-6, normalize=True):
    """One token: S_t = S_{t−1} + φ(k_t) v_tᵀ, z_t = z_{t−1} + φ(k_t); returns (y_t, S_t, z_t)."""
    phi_q, phi_k = feature_map(q_t), feature_map(k_t)
    state = state + phi_k[..., :, None] * v_t[..., None, :]
    normaliser = normaliser + phi_k
    y = (phi_q[..., None, :] @ state)[..., 0, :]
    if normalize:
        y = y / ((phi_q * normaliser).sum(-1, keepdim=True) + eps)
    return y, state, normaliser


def linear_attention_recurrent(q, k, v, feature_map=elu_feature_map, eps=1e-6, normalize=True):
    """The causal form as an RNN over positions."""
    state = q.new_zeros(*v.shape[:-2], k.shape[-1], v.shape[-1])
    normaliser = q.new_zeros(*k.shape[:-2], k.shape[-1])
    out = []
    for t in range(q.shape[-2]):
        y, state, normaliser = recurrent_step(state, normaliser, q[..., t, :], k[..., t, :], v[..., t, :],
                                              feature_map, eps, normalize)
        out.append(y)
    return torch.stack(out, dim=-2)


def naive_linear_attention(q, k, v, causal=False, feature_map=elu_feature_map, eps=1e-6, normalize=True):
    """Σ_j sim(Q_i, K_j) V_j / (Σ_j sim(Q_i, K_j) + eps), one (i, j) pair at a time (2-D inputs)."""
    phi_q, phi_k, out = feature_map(q), feature_map(k), []
    for i in range(q.shape[0]):
        num, den = torch.zeros_like(v[0]), torch.zeros((), dtype=v.dtype, device=v.device)
        for j in range(i + 1 if causal else k.shape[0]):
            sim = phi_q[i] @ phi_k[j]
            num, den = num + sim * v[j], den + sim
        out.append(num / (den + eps) if normalize else num)
    return torch.stack(out)


def step_times(step, length: int, device) -> list[float]:
    """Wall time of each of `length` calls step(t), in seconds."""
    times = []
    for t in range(length):
        start = time.perf_counter()
        step(t)
        if torch.device(device).type == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    return times


def demo(device: torch.device | str = "cpu", seed: int = 0) -> dict:
    from runnable.fast_weights import fast_weight_programmer

    torch.manual_seed(seed)  # data drawn on the CPU, so every device sees the same numbers
    q, k, v = (torch.randn(2, 64, 16, dtype=torch.float64).to(device) for _ in range(3))
    errors = {
        "parallel causal vs recurrent": (linear_attention(q, k, v, causal=True) - linear_attention_recurrent(q, k, v)).abs().max().item(),
        "parallel vs double loop": max((linear_attention(q, k, v, c) - naive_linear_attention(q[0], k[0], v[0], c)[None]).abs()[0].max().item()
                                       for c in (False, True)),
        "unnormalised, φ = identity vs fast weights": (linear_attention(q, k, v, True, lambda x: x, normalize=False)
                                                       - fast_weight_programmer(q, k, v)).abs().max().item(),
    }
    for name, error in errors.items():
        print(f"{name:<44} max error {error:.1e} (tolerance 1e-10, float64)")
    # Cost of one generated token at increasing positions: the linear RNN step against softmax
    # attention over a cache of all past keys and values.
    L, d = 4096, 32
    q, k, v = (torch.randn(L, d).to(device) for _ in range(3))
    state, normaliser = torch.zeros(d, d, device=device), torch.zeros(d, device=device)

    def linear_step(t):
        nonlocal state, normaliser
        _, state, normaliser = recurrent_step(state, normaliser, q[t], k[t], v[t])

    def softmax_step(t):
        torch.softmax(k[:t + 1] @ q[t] / d ** 0.5, dim=0) @ v[:t + 1]

    times = {"linear (recurrent)": step_times(linear_step, L, device), "softmax (KV cache)": step_times(softmax_step, L, device)}
    blocks = [(0, 256), (1024, 1280), (2048, 2304), (3840, 4096)]
    median = {name: [sorted(t[a:b])[(b - a) // 2] * 1e6 for a, b in blocks] for name, t in times.items()}
    print(f"time per token in µs (median over 256 tokens), d = {d}:")
    print("  positions           " + "".join(f"{f'{a}–{b - 1}':>11}" for a, b in blocks))
    for name, row in median.items():
        print(f"  {name:<20} " + "".join(f"{x:>11.1f}" for x in row))
    curve = {name: [sorted(t[a:a + 128])[64] * 1e6 for a in range(0, L, 128)] for name, t in times.items()}
    return {"errors": errors, "median_us": median, "blocks": blocks, "curve_us": curve,
            "curve_positions": list(range(64, L, 128)), "state_size": state.numel() + normaliser.numel()}


if __name__ == "__main__":
    from runnable._cli import device_from_args

    demo(device_from_args(__doc__.splitlines()[0]))
