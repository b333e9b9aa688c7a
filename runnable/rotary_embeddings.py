"""Rotary position embedding, RoPE (Su et al. 2021; bib: su2021roformer).

Each query and key vector x at position m is cut into d/2 pairs (x_{2i}, x_{2i+1}), and pair i is
rotated by the angle m·θ_i, with θ_i = base^(-2i/d) (base 10000, the frequencies of the
sinusoidal encoding):

    (x_{2i}, x_{2i+1}) ↦ (x_{2i} cos mθ_i − x_{2i+1} sin mθ_i,  x_{2i} sin mθ_i + x_{2i+1} cos mθ_i)

Reading pair i as the complex number z_i = x_{2i} + i·x_{2i+1}, that is z_i ↦ z_i · e^{i m θ_i}.
Writing R_m for the block-diagonal rotation, rotations compose and are orthogonal, so

    (R_m q)ᵀ (R_n k) = qᵀ R_mᵀ R_n k = qᵀ R_{n−m} k

The score depends on the positions only through the offset n − m, although each vector was
rotated by its own absolute position; norms are unchanged. Values are not rotated.
(Some later code pairs coordinate i with i + d/2 instead of 2i with 2i + 1; that is the same
idea on permuted coordinates, but the weights are not interchangeable.)

Differences from the paper:
- Coordinates are paired as (2i, 2i + 1), the paper's layout; some later code pairs i with i + d/2,
  the same idea on permuted coordinates.
- Only the rotation is implemented; the RoFormer model and the paper's linear-attention variant are
  not.

Shapes: x (..., L, d) with d even; positions (L,) or broadcastable to x's (..., L).
"""
from __future__ import annotations

import torch
from torch import Tensor


def rotary_angles(positions: Tensor, d: int, base: float = 10000.0, dtype=torch.float32) -> Tensor:
    """(..., L) positions → (..., L, d/2) angles m·θ_i."""
    theta = base ** (-torch.arange(0, d, 2, device=positions.device, dtype=dtype) / d)
    return positions.to(dtype)[..., None] * theta


def apply_rotary(x: Tensor, positions: Tensor, base: float = 10000.0) -> Tensor:
    """Rotate each pair (x_{2i}, x_{2i+1}) of x (..., L, d) by positions · θ_i."""
    assert x.shape[-1] % 2 == 0, "RoPE rotates pairs: d must be even"
    positions = torch.as_tensor(positions, device=x.device)
    # angles in at least float32: in bfloat16, m·θ_i for m in the thousands would be off by whole radians
    compute = torch.float64 if x.dtype == torch.float64 else torch.float32
    angle = rotary_angles(positions, x.shape[-1], base, compute)
    cos, sin = angle.cos(), angle.sin()
    even, odd = x[..., 0::2].to(compute), x[..., 1::2].to(compute)
    rotated = torch.stack([even * cos - odd * sin, even * sin + odd * cos], dim=-1)  # (..., L, d/2, 2)
    return rotated.flatten(-2).to(x.dtype)                             # back to interleaved pairs


def demo(device: torch.device | str = "cpu", seed: int = 0) -> dict:
    """Scores between one rotated query and one rotated key over a grid of positions (constant
    along diagonals), the same offsets shifted by 1000, and the decay of all-ones scores."""
    torch.manual_seed(seed)
    d, L = 64, 16
    # float64, so that what is left of the comparisons is the identity, not float32's rounding of
    # angles near 1000 radians (~1e-4 there)
    q, k = torch.randn(2, d, device=device, dtype=torch.float64).unbind(0)
    positions = torch.arange(L, device=device)
    rotated_q = apply_rotary(q.expand(L, d), positions)                # q at positions 0..15
    rotated_k = apply_rotary(k.expand(L, d), positions)
    scores = rotated_q @ rotated_k.T                                   # scores[m, n] = (R_m q)ᵀ (R_n k)
    shifted = apply_rotary(q.expand(L, d), positions + 1000) @ apply_rotary(k.expand(L, d), positions + 1000).T
    offsets = torch.arange(-(L - 1), L, device=device)
    by_offset = q @ apply_rotary(k.expand(len(offsets), d), offsets).T  # qᵀ R_{n−m} k
    diagonal = torch.stack([scores.diagonal(int(o)).std() for o in offsets if abs(o) < L - 1])
    error_shift = (scores - shifted).abs().max().item()
    print(f"d = {d}, q and k random. scores[m, n] = (R_m q)ᵀ(R_n k) for m, n = 0..{L - 1}:")
    print(f"  largest spread along any diagonal n − m = const: {diagonal.max():.1e}")
    print(f"  max |scores - scores with both positions + 1000| = {error_shift:.1e} (tolerance 1e-10, float64)")
    print("  score by offset n − m:  " + " ".join(f"{s:+.1f}" for s in by_offset[L - 1:L + 6].tolist()) + " ...")
    print(f"  norms: |q| = {q.norm():.4f}, |R_37 q| = {apply_rotary(q[None], torch.tensor([37], device=device)).norm():.4f}")
    distance = torch.arange(1024, device=device)
    ones = torch.ones(1024, d, device=device, dtype=torch.float64)
    decay = (apply_rotary(ones[:1], distance[:1]) @ apply_rotary(ones, distance).T)[0]  # q = k = ones
    windows = [(0, 8), (8, 32), (32, 128), (128, 512), (512, 1024)]
    means = [decay[a:b].abs().mean().item() for a, b in windows]
    print("q = k = all ones: mean |score| over distance windows (it shrinks with distance):")
    print("  " + "   ".join(f"[{a}, {b}): {m:.1f}" for (a, b), m in zip(windows, means)))
    return {"scores": scores.cpu(), "error_shift": error_shift, "diagonal_spread": diagonal.max().item(),
            "by_offset": by_offset.cpu(), "offsets": offsets.cpu(), "decay": decay.cpu(), "window_means": means}


if __name__ == "__main__":
    from runnable._cli import device_from_args

    demo(device_from_args(__doc__.splitlines()[0]))
