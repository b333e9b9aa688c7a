"""FlashAttention's forward pass: exact attention in tiles with an online softmax (Dao et al.; bib: dao2022flashattention).

Attention for one query row i over keys j = 1..L_k,

    s_ij = scale · q_i · k_j          (scale = 1/√d unless given)
    o_i  = Σ_j exp(s_ij) v_j / Σ_j exp(s_ij),

is computed here without ever holding the L_q × L_k matrix s. Queries are cut into blocks of
block_q rows and keys/values into blocks of block_k rows. Each query row keeps three running
quantities while the key blocks go past: the largest score seen m, the normaliser ℓ relative to
that maximum, and the unnormalised output a. A new block of scores s (one row: block_k numbers)
updates them as in the online softmax of Milakov & Gimelshein (bib: milakov2018online):

    m' = max(m, max_j s_j)
    ℓ' = exp(m − m') ℓ + Σ_j exp(s_j − m')
    a' = exp(m − m') a + Σ_j exp(s_j − m') v_j

and at the end o = a / ℓ, logsumexp_j s_j = m + log ℓ. Every exponent is ≤ 0, so nothing
overflows, and exp(m − m') brings earlier blocks to the new maximum: the result is the softmax
exactly, up to rounding. Postponing the division to the end is the observation of Rabe & Staats
(bib: rabe2021self). FlashAttention runs each tile in on-chip SRAM, so the scores never reach GPU
main memory; plain PyTorch cannot choose where a tensor lives, so this module shows the
arithmetic and the memory bound (no tensor larger than a tile or an input), not the speed.

Causal: query i sees keys j ≤ i, counted from the start of both sequences (as torch's SDPA with
is_causal=True); key blocks wholly in a query block's future are skipped, not computed.

Differences from the paper:
- The tiles are a Python loop over PyTorch tensors: the arithmetic and the memory bound are the
  paper's, the speed is not, since plain PyTorch cannot keep a tile in on-chip SRAM.
- Forward pass only: the backward pass (recomputation from the saved logsumexp), dropout and the
  fused kernel are left out.

Shapes: q (..., L_q, d), k (..., L_k, d), v (..., L_k, d_v) → output (..., L_q, d_v),
logsumexp (..., L_q). The leading dimensions (batch, heads) broadcast as in matmul.
"""
from __future__ import annotations

import math

import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_leaves


def naive_attention(q, k, v, causal=False, scale=None):
    """The textbook form: materialises the full (..., L_q, L_k) score matrix."""
    scale = 1 / math.sqrt(q.shape[-1]) if scale is None else scale
    scores = scale * q @ k.transpose(-2, -1)
    if causal:
        i, j = torch.arange(q.shape[-2], device=q.device), torch.arange(k.shape[-2], device=q.device)
        scores = scores.masked_fill(j[None, :] > i[:, None], float("-inf"))
    return torch.softmax(scores, dim=-1) @ v


def online_update(m, ell, acc, scores, values=None):
    """One step of the online softmax: fold a block of scores (..., n) (and its values (..., n, d_v))
    into the running maximum m (...), normaliser ℓ (...) and accumulator a (..., d_v)."""
    m_new = torch.maximum(m, scores.amax(-1))
    # A row whose scores so far are all masked has m' = -inf; shifting by 0 instead keeps
    # exp(-inf - (-inf)) = nan out, and exp(-inf - 0) = 0 is the right (empty) contribution.
    shift = torch.where(m_new == float("-inf"), torch.zeros_like(m_new), m_new)
    rescale = torch.exp(m - shift)                     # exp(m − m'): earlier blocks under the new maximum
    p = torch.exp(scores - shift[..., None])           # exp(s_j − m') ≤ 1: cannot overflow
    ell = rescale * ell + p.sum(-1)
    if values is not None:
        acc = rescale[..., None] * acc + p @ values
    return m_new, ell, acc


def online_softmax(score_blocks):
    """Milakov & Gimelshein's one-pass normaliser over a stream of blocks along the last axis:
    returns (m, ℓ) with softmax(s)_j = exp(s_j − m) / ℓ and logsumexp(s) = m + log ℓ."""
    m = ell = None
    for scores in score_blocks:
        if m is None:
            m = torch.full(scores.shape[:-1], float("-inf"), dtype=scores.dtype, device=scores.device)
            ell = torch.zeros_like(m)
        m, ell, _ = online_update(m, ell, None, scores)
    return m, ell


def tiled_attention(q, k, v, block_q=128, block_k=128, causal=False, scale=None, return_logsumexp=False):
    """Exact attention, one (block_q × block_k) tile of scores at a time."""
    scale = 1 / math.sqrt(q.shape[-1]) if scale is None else scale
    L_q, L_k = q.shape[-2], k.shape[-2]
    # Half-precision inputs accumulate in float32, as FlashAttention does; float64 stays float64.
    work = torch.promote_types(q.dtype, torch.float32)
    batch = torch.broadcast_shapes(q.shape[:-2], k.shape[:-2], v.shape[:-2])
    out = torch.empty(*batch, L_q, v.shape[-1], dtype=q.dtype, device=q.device)
    lse = torch.empty(*batch, L_q, dtype=work, device=q.device)
    for i0 in range(0, L_q, block_q):
        qi = q[..., i0:i0 + block_q, :].to(work) * scale
        rows = qi.shape[-2]
        m = torch.full((*batch, rows), float("-inf"), dtype=work, device=q.device)
        ell = torch.zeros((*batch, rows), dtype=work, device=q.device)
        acc = torch.zeros((*batch, rows, v.shape[-1]), dtype=work, device=q.device)
        for j0 in range(0, L_k, block_k):
            if causal and j0 > i0 + rows - 1:
                break                                  # this key block and all later ones are in the future
            kj, vj = k[..., j0:j0 + block_k, :].to(work), v[..., j0:j0 + block_k, :].to(work)
            s = qi @ kj.transpose(-2, -1)              # (..., block_q, block_k): the only score tensor
            if causal and j0 + kj.shape[-2] - 1 > i0:  # the tile straddles the diagonal
                i = torch.arange(i0, i0 + rows, device=q.device)
                j = torch.arange(j0, j0 + kj.shape[-2], device=q.device)
                s = s.masked_fill(j[None, :] > i[:, None], float("-inf"))
            m, ell, acc = online_update(m, ell, acc, s, vj)
        out[..., i0:i0 + rows, :] = (acc / ell[..., None]).to(q.dtype)
        lse[..., i0:i0 + rows] = m + torch.log(ell)
    return (out, lse) if return_logsumexp else out


class LargestTensor(TorchDispatchMode):
    """Records the element count of the largest tensor any torch operation returns inside it:
    a device-independent stand-in for peak working memory."""

    def __init__(self):
        super().__init__()
        self.numel = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        result = func(*args, **(kwargs or {}))
        sizes = [t.numel() for t in tree_leaves(result) if isinstance(t, torch.Tensor)]
        self.numel = max([self.numel, *sizes])
        return result


def demo(device: torch.device | str = "cpu", seed: int = 0) -> dict:
    """Tiled against naive attention for growing L: the error stays at rounding level, the
    largest tensor the tiled form creates grows like L (the output), the naive one like L²."""
    torch.manual_seed(seed)
    d, block = 32, 64
    lengths, errors, tiled_peak, naive_peak = [128, 256, 512, 1024], [], [], []
    print(f"self-attention, one head, d = {d}, blocks {block} × {block}, causal, float32")
    print("     L   max |tiled - naive|   largest tensor: tiled    naive   (elements)")
    for L in lengths:
        q, k, v = (torch.randn(1, L, d, device=device) for _ in range(3))
        with LargestTensor() as tiled_probe:
            tiled = tiled_attention(q, k, v, block, block, causal=True)
        with LargestTensor() as naive_probe:
            naive = naive_attention(q, k, v, causal=True)
        errors.append((tiled - naive).abs().max().item())
        tiled_peak.append(tiled_probe.numel)
        naive_peak.append(naive_probe.numel)
        print(f"  {L:>4}   {errors[-1]:.1e}              {tiled_peak[-1]:>8} {naive_peak[-1]:>10}")
    print(f"tolerance 1e-5 (float32); L·d = {lengths[-1] * d}, L² = {lengths[-1] ** 2} at L = {lengths[-1]}")
    # Scores around 1e4: exp overflows float32 (and float64), the running maximum never lets it.
    q, (k, v) = torch.randn(1, 200, d, device=device), torch.randn(2, 1, 300, d, device=device).unbind()
    q = q * 1e4 / (q @ k.transpose(-2, -1)).abs().max()
    overflow = torch.exp(q @ k.transpose(-2, -1)).isinf().any().item()
    out, lse = tiled_attention(q, k, v, 64, 64, scale=1.0, return_logsumexp=True)
    huge_error = (out - naive_attention(q, k, v, scale=1.0)).abs().max().item()
    lse_error = ((lse - torch.logsumexp(q @ k.transpose(-2, -1), -1)).abs() / lse.abs()).max().item()
    print(f"scores up to 1e4: plain exp overflows: {overflow}; tiled finite: {torch.isfinite(out).all().item()}, "
          f"max |tiled - naive| = {huge_error:.1e}, logsumexp relative error {lse_error:.1e}")
    return {"lengths": lengths, "max_errors": errors, "tiled_peak": tiled_peak, "naive_peak": naive_peak,
            "d": d, "block": block, "huge_overflow": overflow, "huge_error": huge_error, "lse_error": lse_error}


if __name__ == "__main__":
    from runnable._cli import device_from_args

    demo(device_from_args(__doc__.splitlines()[0]))
