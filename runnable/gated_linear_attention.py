"""Gated linear attention, GLA (Yang, Wang, Shen, Panda & Kim 2023; bib: yang2023gated).

Causal linear attention with a forget gate: before each write, the state S (d_k × d_v) is decayed
row by row by a data-dependent gate α_t ∈ (0, 1)^{d_k}, one factor per key feature:

    S_t = Diag(α_t) S_{t−1} + k_t v_tᵀ,        o_tᵀ = q_tᵀ S_t

Unrolled, o_tᵀ = Σ_{j≤t} (q_t ⊙ b_t / b_j)ᵀ k_j v_jᵀ with b_t = Π_{s≤t} α_s: each past key is seen
through the product of the gates written since. The paper computes α_t = σ(x_t W_α¹ W_α² + b_α)^{1/τ}
with a low-rank projection and the temperature τ = 16, which pushes the gates towards 1 (slow
forgetting); here `gate_log_decay` takes the projection z_t = x_t W_α¹ W_α² + b_α and returns
log α_t = log σ(z_t) / τ. All forms work with log α, so the products are sums of logarithms.

Three forms of the same function:
- `gla_recurrent`: the recurrence above, one token at a time (inference);
- `gla_chunkwise`: the chunkwise-parallel form that trains on hardware. Split the sequence into
  chunks of C tokens. With Λ_t = Σ of log α over the chunk up to t and S the state entering the
  chunk, a query reads the state decayed to its position plus the chunk's own keys,
      o_tᵀ = (q_t ⊙ e^{Λ_t})ᵀ S + Σ_{j≤t in chunk} [Σ_d q_{t,d} k_{j,d} e^{Λ_{t,d} − Λ_{j,d}}] v_jᵀ,
  and the state leaving the chunk is S' = Diag(e^{Λ_C}) S + Σ_j (k_j ⊙ e^{Λ_C − Λ_j}) v_jᵀ;
- `naive_gla`: the unrolled double sum, one (t, j) pair at a time, the reference.

Differences from the paper:
- Only the gated linear attention operator: no GLA Transformer layer (output gate, swish, head-wise
  normalisation, the low-rank gate projection itself) and no training recipe.
- The chunkwise form computes each chunk's intra-chunk scores as one (C, C, d_k) tensor in log
  space, e^{Λ_t − Λ_j} for j ≤ t. The paper's hardware-efficient algorithm adds a secondary level
  of chunking (sub-chunk matrix multiplications, log space only inside diagonal sub-chunks) to use
  tensor cores; the result is the same function, with more memory per chunk here.
- Plain PyTorch, no Triton kernel; a loop over chunks rather than one fused launch.

Shapes: q, k (..., L, d_k); v (..., L, d_v); log_alpha (..., L, d_k), ≤ 0; outputs (..., L, d_v);
states S (..., d_k, d_v). The leading dimensions (batch, heads) are broadcast.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

TEMPERATURE = 16  # τ in α_t = σ(z_t)^{1/τ}, the paper's value (also fla's gate_logit_normalizer)


def gate_log_decay(z, temperature: float = TEMPERATURE):
    """log α_t = log σ(z_t) / τ: the gate in log space, computed without underflow."""
    return F.logsigmoid(z) / temperature


def gla_recurrent(q, k, v, log_alpha, state=None):
    """The recurrence S_t = Diag(α_t) S_{t−1} + k_t v_tᵀ, o_t = S_tᵀ q_t. Returns (outputs, final state)."""
    if state is None:
        state = q.new_zeros(*k.shape[:-2], k.shape[-1], v.shape[-1])
    out = []
    for t in range(q.shape[-2]):
        decay = log_alpha[..., t, :, None].exp()                                      # α_t as a column
        state = decay * state + k[..., t, :, None] * v[..., t, None, :]               # Diag(α_t) S + k_t v_tᵀ
        out.append((q[..., t, None, :] @ state)[..., 0, :])                           # q_tᵀ S_t
    return torch.stack(out, dim=-2), state


# One chunk at a time: the inter-chunk part reads the carried state, the intra-chunk part is a
# small masked attention whose scores carry the per-feature decay between the two positions.
def gla_chunkwise(q, k, v, log_alpha, chunk: int = 16, state=None):
    """The chunkwise-parallel form: exact, with chunk any size ≥ 1 (the last chunk may be shorter)."""
    if state is None:
        state = q.new_zeros(*k.shape[:-2], k.shape[-1], v.shape[-1])
    out = []
    for start in range(0, q.shape[-2], chunk):
        part = slice(start, start + chunk)
        q_c, k_c, v_c = q[..., part, :], k[..., part, :], v[..., part, :]
        cumulative = log_alpha[..., part, :].cumsum(-2)                               # Λ_t (..., C, d_k)
        C = q_c.shape[-2]
        causal = torch.ones(C, C, dtype=torch.bool, device=q.device).tril()
        # Λ_t − Λ_j, kept only for j ≤ t (−inf elsewhere, so its exponential is 0, never inf).
        gap = (cumulative[..., :, None, :] - cumulative[..., None, :, :]).masked_fill(~causal[..., None], -torch.inf)
        scores = (q_c[..., :, None, :] * k_c[..., None, :, :] * gap.exp()).sum(-1)    # (..., C, C)
        inter = (q_c * cumulative.exp()) @ state                                      # (q_t ⊙ e^{Λ_t})ᵀ S
        out.append(inter + scores @ v_c)
        total = cumulative[..., -1:, :]                                               # Λ_C (..., 1, d_k)
        state = total.transpose(-1, -2).exp() * state + (k_c * (total - cumulative).exp()).transpose(-1, -2) @ v_c
    return torch.cat(out, dim=-2), state


def naive_gla(q, k, v, log_alpha):
    """o_t = Σ_{j≤t} Σ_d q_{t,d} k_{j,d} Π_{j<s≤t} α_{s,d} v_j, one pair (t, j) at a time (2-D inputs)."""
    alpha, out = log_alpha.exp(), []
    for t in range(q.shape[0]):
        o = torch.zeros_like(v[0])
        for j in range(t + 1):
            decay = torch.ones_like(alpha[0])
            for s in range(j + 1, t + 1):
                decay = decay * alpha[s]
            o = o + (q[t] * decay * k[j]).sum() * v[j]
        out.append(o)
    return torch.stack(out)


def implied_attention(q, k, log_alpha):
    """The L × L matrix A_tj = Σ_d q_{t,d} k_{j,d} e^{Λ_{t,d} − Λ_{j,d}} (j ≤ t) that GLA applies to V:
    causal linear attention whose mask is data-dependent. Built whole, for display on short inputs."""
    cumulative = log_alpha.cumsum(-2)
    L = q.shape[-2]
    causal = torch.ones(L, L, dtype=torch.bool, device=q.device).tril()
    gap = (cumulative[..., :, None, :] - cumulative[..., None, :, :]).masked_fill(~causal[..., None], -torch.inf)
    return (q[..., :, None, :] * k[..., None, :, :] * gap.exp()).sum(-1)


def demo(device: torch.device | str = "cpu", seed: int = 0) -> dict:
    torch.manual_seed(seed)  # data drawn on the CPU, so every device sees the same numbers
    L, d_k, d_v = 40, 8, 6
    q, k, v = (torch.randn(2, 3, L, n, dtype=torch.float64).to(device) for n in (d_k, d_k, d_v))
    log_alpha = gate_log_decay(torch.randn(2, 3, L, d_k, dtype=torch.float64) * 3).to(device)
    recurrent, final = gla_recurrent(q, k, v, log_alpha)
    errors = {"recurrent vs naive double sum": (recurrent[0, 0] - naive_gla(q[0, 0], k[0, 0], v[0, 0], log_alpha[0, 0])).abs().max().item()}
    for chunk in (1, 7, 16, 64):
        out, state = gla_chunkwise(q, k, v, log_alpha, chunk)
        errors[f"chunkwise (C = {chunk}) vs recurrent"] = max((out - recurrent).abs().max().item(), (state - final).abs().max().item())
    for name, error in errors.items():
        print(f"{name:<36} max error {error:.1e} (tolerance 1e-10, float64)")
    # The gate's temperature: σ(z)^{1/16} keeps α near 1 for typical z, so memories fade slowly.
    z = torch.randn(10000, dtype=torch.float64)
    alphas = {tau: gate_log_decay(z, tau).exp() for tau in (1, TEMPERATURE)}
    half_life = {tau: (torch.log(torch.tensor(0.5, dtype=torch.float64)) / a.log()).median().item() for tau, a in alphas.items()}
    for tau, a in alphas.items():
        print(f"τ = {tau:>2}: median gate α = {a.median():.3f}, median half-life {half_life[tau]:.1f} tokens (z ~ N(0, 1))")
    # What the chunks buy: L sequential state updates become L/C, each a few small matrix products.
    steps = {C: -(-2048 // C) for C in (1, 16, 64, 256)}
    print("sequential steps over 2048 tokens: " + ", ".join(f"C = {C}: {n}" for C, n in steps.items()))
    return {"errors": errors, "alphas": {tau: a.cpu() for tau, a in alphas.items()}, "half_life": half_life, "steps": steps}


if __name__ == "__main__":
    from runnable._cli import device_from_args

    demo(device_from_args(__doc__.splitlines()[0]))
