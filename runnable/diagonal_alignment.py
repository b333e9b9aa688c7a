"""The hard-coded diagonal alignment that soft attention replaced (bib: karpathy2024true).

In the email Karpathy published, Bahdanau recalls that before the soft search he tried a simpler
model with two cursors, one in the source and one in the target, moving synchronously: in effect
a fixed diagonal attention. The email gives no formula; this module is one plain reading of it.
Output position i (of L) reads source position p_i (of T), the point where a straight line from
(0, 0) to (L-1, T-1) crosses row i, rounded half up:

    p_i = ⌊ i (T-1) / (L-1) + 1/2 ⌋                   (p_0 = 0 when L = 1)
    α_ij = 1 / |W_i|  for j ∈ W_i = {j : |j - p_i| ≤ w, 0 ≤ j < T},  else 0
    c_i  = Σ_j α_ij h_j

With window w = 0 the matrix α is 0/1 with one 1 per row, and reading with it is indexing:
c_i = h_{p_i}. It is attention whose scores ignore the content: 0 inside the window, -∞ outside.
The soft alignment that replaced it computes α_i from the decoder state and the annotations, so
it can follow reordering; the cursor cannot.

Differences from the paper:
- There is no paper: the source is Bahdanau's recollection in an email Karpathy published, which
  gives no formula; the rounding, the window and the equal weights inside it are this module's
  reading.

Shapes: B batch, L output length, T source length, M annotation size, w window half-width.
"""
from __future__ import annotations

import torch


def diagonal_positions(L: int, T: int, device=None) -> torch.Tensor:
    """p_i for i = 0..L-1 (L,), in exact integer arithmetic: ⌊(2 i (T-1) + (L-1)) / (2 (L-1))⌋."""
    i = torch.arange(L, device=device)
    if L == 1:
        return torch.zeros(1, dtype=torch.long, device=device)
    return (2 * i * (T - 1) + (L - 1)) // (2 * (L - 1))


def diagonal_alignment(L: int, T: int, window: int = 0, device=None) -> torch.Tensor:
    """The fixed alignment α (L, T): uniform over the window around p_i, zero elsewhere."""
    distance = torch.arange(T, device=device)[None, :] - diagonal_positions(L, T, device)[:, None]
    scores = torch.zeros(L, T, device=device)
    # α_ij = softmax_j(0 if |j - p_i| ≤ w else -∞): content plays no part
    return torch.softmax(scores.masked_fill(distance.abs() > window, float("-inf")), dim=-1)


def read(alignment, annotations):
    """alignment (L, T) or (B, L, T), annotations (B, T, M) → contexts c_i (B, L, M)."""
    if alignment.dim() == 2:
        alignment = alignment.expand(annotations.shape[0], -1, -1)
    return torch.einsum("blt,btm->blm", alignment, annotations)  # c_i = Σ_j α_ij h_j


def soft_alignment(queries, annotations, sharpness: float = 1.0):
    """A content-based soft alignment for contrast: α_i = softmax_j(β q_i · h_j), (B, L, T)."""
    return torch.softmax(sharpness * torch.einsum("blm,btm->blt", queries, annotations), dim=-1)


def naive_diagonal_alignment(L: int, T: int, window: int = 0) -> torch.Tensor:
    """The closed form one (i, j) at a time with exact fractions: the tests' reference."""
    from fractions import Fraction
    from math import floor

    rows = []
    for i in range(L):
        p = 0 if L == 1 else floor(Fraction(i * (T - 1), L - 1) + Fraction(1, 2))
        inside = [abs(j - p) <= window for j in range(T)]
        rows.append([1 / sum(inside) if keep else 0.0 for keep in inside])
    return torch.tensor(rows)


def demo(device: torch.device | str = "cpu", seed: int = 0) -> dict:
    """Nine outputs from eight source words, where the output repeats word 2 and reverses words
    3..5. The diagonal reads by position; a content-based soft alignment (hand-made orthonormal
    annotations used as their own queries, not a trained model) reads the words the output
    needs. Returns both alignments for plotting."""
    torch.manual_seed(seed)
    L, T = 9, 8
    annotations = torch.linalg.qr(torch.randn(16, T))[0].T[None].to(device)  # (1, T, 16), orthonormal rows
    needed = torch.tensor([0, 1, 2, 2, 5, 4, 3, 6, 7], device=device)        # the source word output i needs
    diagonal = diagonal_alignment(L, T, device=device)
    soft = soft_alignment(annotations[:, needed], annotations, sharpness=10.0)[0]
    error = (diagonal.cpu() - naive_diagonal_alignment(L, T)).abs().max().item()
    indexing = (read(diagonal, annotations) - annotations[:, diagonal_positions(L, T, device)]).abs().max().item()
    print("diagonal p_i:", diagonal_positions(L, T).tolist(), "  needed:", needed.tolist())
    for name, alignment in [("diagonal", diagonal), ("soft", soft)]:
        hits = (alignment.argmax(-1) == needed).sum().item()
        miss = (read(alignment, annotations)[0] - annotations[0, needed]).norm(dim=-1).max().item()
        print(f"{name:>8}: reads the needed word at {hits}/{L} outputs; max ‖c_i - h_needed‖ = {miss:.1e}")
    windowed = diagonal_alignment(L, T, window=1, device=device)
    print(f"window w = 1: rows sum to {windowed.sum(-1).cpu().tolist()}")
    print(f"max |matrix - closed form| = {error:.1e}, max |reading - indexing| = {indexing:.1e} (tolerance 1e-6)")
    return {"diagonal": diagonal.cpu(), "soft": soft.cpu(), "windowed": windowed.cpu(),
            "needed": needed.cpu(), "max_error": max(error, indexing)}


if __name__ == "__main__":
    from runnable._cli import device_from_args

    demo(device_from_args(__doc__.splitlines()[0]))
