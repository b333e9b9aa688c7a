"""Neural Turing Machine addressing, reading and writing (Graves, Wayne & Danihelka; bib: graves2014neural).

A head produces a weighting w_t over the N rows of the memory M_t in four steps (section 3.3):

    K[u, v]   = u·v / (‖u‖ ‖v‖)                                 cosine similarity
    w^c_t(i)  = exp(β_t K[k_t, M_t(i)]) / Σ_j exp(β_t K[k_t, M_t(j)])   content, key strength β_t ≥ 0
    w^g_t     = g_t w^c_t + (1 - g_t) w_{t-1}                    interpolation, gate g_t ∈ (0, 1)
    w̃_t(i)    = Σ_{j=0}^{N-1} w^g_t(j) s_t(i - j)   (indices mod N)   circular shift, s_t a distribution
    w_t(i)    = w̃_t(i)^γ_t / Σ_j w̃_t(j)^γ_t                      sharpening, γ_t ≥ 1

and then reads (section 3.1) or erases and adds (section 3.2):

    r_t  = Σ_i w_t(i) M_t(i)
    M_t(i) = M_{t-1}(i) [1 - w_t(i) e_t] + w_t(i) a_t          e_t ∈ (0, 1)^M

Content addressing finds a row by what it holds; the gate and the shift let the head keep its
place and move from there, which is what lets an NTM iterate over memory (the copy task).

`NTMHead` maps a controller output to the head's parameters with the paper's constraints (softplus
for β, sigmoids for g and e, a softmax for s, 1 + softplus for γ).

Differences from the paper:
- The controller is not modelled: NTMHead maps a given controller output to the head's parameters.
- The shift distribution covers a fixed set of offsets (−1, 0, +1 by default), one of the paper's
  choices.

Shapes: B batch, N memory rows, M row size, S allowed shifts (default -1, 0, +1).
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


def address(memory, w_prev, key, beta, g, s, gamma, shifts=(-1, 0, 1)):
    """memory (B, N, M), w_prev (B, N), key (B, M), beta g gamma (B,), s (B, S) over `shifts`.
    Returns w_t (B, N)."""
    similarity = F.cosine_similarity(key[:, None, :], memory, dim=-1, eps=1e-8)  # K[k_t, M_t(i)]  (B, N)
    w_c = torch.softmax(beta[:, None] * similarity, dim=-1)                       # w^c_t
    w_g = g[:, None] * w_c + (1 - g[:, None]) * w_prev                            # w^g_t
    # w̃_t(i) = Σ_j w^g_t(j) s_t(i - j): rolling by +1 moves weight from row i to row i + 1
    w_tilde = sum(s[:, n, None] * torch.roll(w_g, shift, dims=-1) for n, shift in enumerate(shifts))
    # w_t(i) ∝ w̃_t(i)^γ; dividing by the largest w̃ first changes nothing but stops large γ underflowing
    sharp = (w_tilde / w_tilde.amax(-1, keepdim=True)) ** gamma[:, None]
    return sharp / sharp.sum(-1, keepdim=True)


def read(memory, w):
    """r_t = Σ_i w_t(i) M_t(i): (B, M)."""
    return torch.einsum("bn,bnm->bm", w, memory)


def write(memory, w, erase, add):
    """M_t(i) = M_{t-1}(i) [1 - w_t(i) e_t] + w_t(i) a_t; erase, add (B, M). Returns the new memory."""
    return memory * (1 - w[:, :, None] * erase[:, None, :]) + w[:, :, None] * add[:, None, :]


class NTMHead(nn.Module):
    """Maps a controller output to the head's parameters with the paper's constraints, then addresses."""

    def __init__(self, controller_size: int, row_size: int, shifts=(-1, 0, 1)):
        super().__init__()
        self.shifts, self.M = tuple(shifts), row_size
        self.params = nn.Linear(controller_size, 3 * row_size + 3 + len(self.shifts))

    def forward(self, controller, memory, w_prev):
        """controller (B, H). Returns w_t (B, N), erase e_t and add a_t (B, M)."""
        M, S = self.M, len(self.shifts)
        key, erase, add, beta, g, gamma, s = self.params(controller).split([M, M, M, 1, 1, 1, S], dim=-1)
        w = address(memory, w_prev, key, F.softplus(beta[:, 0]), torch.sigmoid(g[:, 0]),
                    torch.softmax(s, -1), 1 + F.softplus(gamma[:, 0]), self.shifts)
        return w, torch.sigmoid(erase), add


def naive_address(memory, w_prev, key, beta, g, s, gamma, shifts=(-1, 0, 1)):
    """The equations one row at a time in Python floats (no cosine_similarity, roll or softmax):
    the slow reference."""
    out = []
    for b in range(memory.shape[0]):
        rows, k, prev = memory[b].tolist(), key[b].tolist(), w_prev[b].tolist()
        N = len(rows)
        norm = lambda v: math.sqrt(sum(x * x for x in v))
        sim = [sum(x * y for x, y in zip(k, row)) / max(norm(k) * norm(row), 1e-8) for row in rows]
        e = [math.exp(beta[b].item() * x) for x in sim]
        w_c = [x / sum(e) for x in e]
        w_g = [g[b].item() * w_c[i] + (1 - g[b].item()) * prev[i] for i in range(N)]
        s_of = {shift % N: 0.0 for shift in shifts}
        for n, shift in enumerate(shifts):
            s_of[shift % N] += s[b, n].item()
        w_tilde = [sum(w_g[j] * s_of.get((i - j) % N, 0.0) for j in range(N)) for i in range(N)]
        powered = [x ** gamma[b].item() for x in w_tilde]
        out.append([x / sum(powered) for x in powered])
    return torch.tensor(out, dtype=torch.float64)


def demo(device: torch.device | str = "cpu", seed: int = 0) -> dict:
    """Find a row by content, then step along the memory by location (g = 0, shift +1) as in the
    copy task; check every weighting against the loop. Returns the weightings (steps, N)."""
    torch.manual_seed(seed)
    N, M, steps = 10, 6, 6
    memory = torch.randn(1, N, M, device=device)
    key = memory[:, 3] + 0.3 * torch.randn(1, M, device=device)                  # a noisy copy of row 3
    w = torch.full((1, N), 1 / N, device=device)
    weightings, error = [], 0.0
    for step in range(steps):
        content = step == 0
        args = (memory, w, key, torch.tensor([20.0], device=device),
                torch.tensor([1.0 if content else 0.0], device=device),         # gate: content, then previous
                torch.tensor([[0.0, 1.0, 0.0] if content else [0.05, 0.1, 0.85]], device=device),
                torch.tensor([1.0 if content else 2.0], device=device))
        w = address(*args)
        error = max(error, (w.double().cpu() - naive_address(*(a.cpu() for a in args))).abs().max().item())
        weightings.append(w[0])
    r = read(memory, w)
    written = write(memory, w, torch.ones(1, M, device=device), torch.zeros(1, M, device=device))
    peaks = [int(x.argmax()) for x in weightings]
    print(f"N = {N} rows; the key is a noisy copy of row 3. Peak row at each step: {peaks}")
    print(f"weights sum to one: {[round(x.sum().item(), 6) for x in weightings]}")
    print(f"read at the last step is {r.sub(memory[:, peaks[-1]]).norm().item():.3f} from row {peaks[-1]} "
          f"(norm {memory[0, peaks[-1]].norm().item():.3f}); erasing it there leaves "
          f"{written[0, peaks[-1]].norm().item():.3f}")
    print(f"max |batched - loop| = {error:.2e} (tolerance 1e-5)")
    return {"weightings": torch.stack(weightings).detach().cpu(), "peaks": peaks, "max_error": error}


if __name__ == "__main__":
    from runnable._cli import device_from_args

    demo(device_from_args(__doc__.splitlines()[0]))
