"""State-space duality, SSD: Mamba-2's selective SSM as masked attention (Dao & Gu 2024; bib: dao2024transformers).

A selective state-space model with a scalar decay per step (the transition A_t = a_t I) maps an
input sequence x_t ∈ R^P to y_t through a state h_t ∈ R^{N×P}:

    h_t = a_t h_{t−1} + B_t x_tᵀ,        y_t = h_tᵀ C_t,        a_t ∈ (0, 1], B_t, C_t ∈ R^N

"Selective" means a_t, B_t and C_t are computed from the input at step t. Unrolled,

    y_t = Σ_{s≤t} (C_tᵀ B_s) (a_{s+1} ⋯ a_t) x_s,   i.e.   Y = (L ∘ C Bᵀ) X,   L_ts = a_{s+1} ⋯ a_t (s ≤ t), 0 above

which is causal linear attention with queries C, keys B, values X and a mask L. L is
1-semiseparable: every block of it on or below the diagonal has rank 1 (L_ts = e^{c_t} e^{−c_s} with
c the running sum of log a). Conversely any such mask is a recurrence: a_t = L_{t,t−1}. Mamba-2
discretises a continuous parameter A < 0 with a step Δ_t > 0 from the input: log a_t = Δ_t A, and
the input enters as Δ_t x_t (`discretise`).

Four ways to compute Y, all here:
- `ssd_recurrent`: the recurrence, one step at a time (linear in L, sequential);
- `ssd_matrix`: the masked-attention ("quadratic") form, L × L at once;
- `ssd_chunked`: Mamba-2's algorithm. Cut the sequence into chunks of Q steps and (1) compute each
  chunk's own output with the matrix form, (2) each chunk's final state from zero, (3) the states
  entering the chunks with a small recurrence over chunks (itself a 1-semiseparable matrix product),
  (4) each chunk's output from its entering state. All four steps are batched matrix products;
- `naive_ssd`: the unrolled triple sum, one (t, s) pair at a time, the reference.

Differences from the paper:
- Only the SSD layer's sequence transformation: no Mamba-2 block (projections, the short
  convolution, the D skip connection, gating and normalisation), no multi-input grouping of B and C
  beyond broadcasting, no training.
- The chunked algorithm follows the paper's four steps in plain PyTorch; the length is padded with
  steps that change nothing (a = 1, B = 0) to a multiple of the chunk size, where the paper's minimal
  code requires a multiple.

Shapes: x (..., L, P); log_a (..., L), ≤ 0; B, C (..., L, N), broadcastable against x's leading
dimensions (shared across heads, say); outputs (..., L, P); states h (..., N, P).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F


def discretise(x, dt, A):
    """Mamba-2's discretisation of a scalar A < 0 with step Δ_t: returns (Δ_t x_t, log a_t = Δ_t A)."""
    return x * dt[..., None], dt * A


def segment_sums(log_a):
    """(..., L) → (..., L, L) with entry [t, s] = Σ_{s<r≤t} log a_r for s ≤ t and −inf above the diagonal,
    so that its exponential is the mask L. Summed down columns, never as a difference of two long
    running sums, which would cancel catastrophically."""
    length = log_a.shape[-1]
    below = torch.ones(length, length, dtype=torch.bool, device=log_a.device).tril(-1)
    sums = log_a[..., :, None].expand(*log_a.shape, length).masked_fill(~below, 0).cumsum(-2)   # row r holds log a_r
    return sums.masked_fill(~below.logical_or(torch.eye(length, dtype=torch.bool, device=log_a.device)), -torch.inf)


def ssd_recurrent(x, log_a, B, C, state=None):
    """h_t = a_t h_{t−1} + B_t x_tᵀ, y_t = h_tᵀ C_t, step by step. Returns (outputs, final state)."""
    shape = torch.broadcast_shapes(x.shape[:-2], B.shape[:-2])
    if state is None:
        state = x.new_zeros(*shape, B.shape[-1], x.shape[-1])
    out = []
    for t in range(x.shape[-2]):
        state = log_a[..., t, None, None].exp() * state + B[..., t, :, None] * x[..., t, None, :]
        out.append((C[..., t, None, :] @ state)[..., 0, :])
    return torch.stack(out, dim=-2), state


def ssd_matrix(x, log_a, B, C):
    """Y = (L ∘ C Bᵀ) X: the SSM as causal masked linear attention (queries C, keys B, values X)."""
    return (segment_sums(log_a).exp() * (C @ B.transpose(-1, -2))) @ x


# The chunked algorithm. Chunks become a new axis, so each of the four steps is one batched product.
def ssd_chunked(x, log_a, B, C, chunk: int = 16, state=None):
    """Mamba-2's four-step chunked algorithm. Returns (outputs, final state)."""
    length = x.shape[-2]
    pad = -length % chunk                                                            # steps that change nothing
    x, B, C = (F.pad(t, (0, 0, 0, pad)) for t in (x, B, C))
    log_a = F.pad(log_a, (0, pad))
    x, B, C = (t.unflatten(-2, (-1, chunk)) for t in (x, B, C))                      # (..., chunks, Q, ·)
    log_a = log_a.unflatten(-1, (-1, chunk))                                         # (..., chunks, Q)
    # 1. Inside each chunk: the matrix form.
    y_diagonal = ssd_matrix(x, log_a, B, C)
    # 2. Each chunk's final state from a zero start: keys decayed to the chunk's end.
    cumulative = log_a.cumsum(-1)
    to_end = (cumulative[..., -1:] - cumulative).exp()[..., None]                    # a_{s+1} ⋯ a_Q
    chunk_states = (B * to_end).transpose(-1, -2) @ x                                # (..., chunks, N, P)
    # 3. States entering each chunk: h_in[i+1] = (Π a over chunk i) h_in[i] + chunk_states[i], as a
    #    1-semiseparable matrix over chunks (the same segment sums, one level up).
    if state is None:
        state = torch.zeros_like(chunk_states[..., :1, :, :])
    else:
        state = state.expand_as(chunk_states[..., 0, :, :])[..., None, :, :]
    stacked = torch.cat([state, chunk_states], dim=-3)                               # (..., chunks + 1, N, P)
    across = segment_sums(F.pad(cumulative[..., -1], (1, 0))).exp()                  # (..., chunks + 1, chunks + 1)
    entering = (across @ stacked.flatten(-2)).unflatten(-1, stacked.shape[-2:])
    # 4. Each chunk's output from the state entering it, decayed to each position.
    y_off = (C * cumulative.exp()[..., None]) @ entering[..., :-1, :, :]
    y = (y_diagonal + y_off).flatten(-3, -2)[..., :length, :]
    return y, entering[..., -1, :, :]


def naive_ssd(x, log_a, B, C):
    """y_t = Σ_{s≤t} (C_t · B_s) Π_{s<r≤t} a_r x_s, one pair at a time (2-D x, B, C; 1-D log_a)."""
    a, out = log_a.exp(), []
    for t in range(x.shape[0]):
        y = torch.zeros_like(x[0])
        for s in range(t + 1):
            decay = torch.ones((), dtype=x.dtype, device=x.device)
            for r in range(s + 1, t + 1):
                decay = decay * a[r]
            y = y + (C[t] @ B[s]) * decay * x[s]
        out.append(y)
    return torch.stack(out)


def decays_from_mask(mask):
    """Matrix → recurrence: a 1-semiseparable causal mask with unit diagonal is determined by its
    subdiagonal, a_t = L_{t,t−1}. Returns log a (..., L), with log a_0 = 0 (a_0 multiplies an empty state)."""
    return F.pad(torch.diagonal(mask, offset=-1, dim1=-2, dim2=-1).log(), (1, 0))


def largest_off_diagonal_rank(matrix) -> int:
    """The largest rank of a block matrix[t:, :t] below the diagonal: semiseparability, measured."""
    return max(int(torch.linalg.matrix_rank(matrix[t:, :t])) for t in range(1, matrix.shape[-1]))


def demo(device: torch.device | str = "cpu", seed: int = 0) -> dict:
    torch.manual_seed(seed)  # data drawn on the CPU, so every device sees the same numbers
    H, L, P, N = 4, 45, 8, 6
    x = torch.randn(2, H, L, P, dtype=torch.float64)
    dt = F.softplus(torch.randn(2, H, L, dtype=torch.float64) - 2)                 # Δ_t > 0, from the input in Mamba-2
    A = -torch.rand(H, 1, dtype=torch.float64) * 4                                  # one A < 0 per head
    x, log_a = (t.to(device) for t in discretise(x, dt, A))
    B, C = (torch.randn(2, 1, L, N, dtype=torch.float64).to(device) for _ in range(2))   # shared by the heads
    recurrent, final = ssd_recurrent(x, log_a, B, C)
    errors = {"recurrence vs triple sum (one head)": (recurrent[0, 0] - naive_ssd(x[0, 0], log_a[0, 0], B[0, 0], C[0, 0])).abs().max().item(),
              "masked attention (L ∘ CBᵀ)X vs recurrence": (ssd_matrix(x, log_a, B, C) - recurrent).abs().max().item()}
    for chunk in (1, 8, 16, 64):
        y, state = ssd_chunked(x, log_a, B, C, chunk)
        errors[f"chunked (Q = {chunk}) vs recurrence"] = max((y - recurrent).abs().max().item(), (state - final).abs().max().item())
    for name, error in errors.items():
        print(f"{name:<42} max error {error:.1e} (tolerance 1e-10, float64)")
    mask = segment_sums(log_a[0, 0, :24]).exp()
    M = mask * (C[0, 0, :24] @ B[0, 0, :24].T)
    ranks = {"mask L": largest_off_diagonal_rank(mask), "L ∘ CBᵀ": largest_off_diagonal_rank(M)}
    print(f"largest rank of a block below the diagonal (24 steps, N = {N}): " + ", ".join(f"{k} {r}" for k, r in ranks.items()))
    recovered = (decays_from_mask(mask) - log_a[0, 0, :24]).abs()[1:].max().item()
    print(f"decays read back from the mask's subdiagonal: max error {recovered:.1e}")
    return {"errors": errors, "ranks": ranks, "recovered": recovered, "N": N}


if __name__ == "__main__":
    from runnable._cli import device_from_args

    demo(device_from_args(__doc__.splitlines()[0]))
