"""FlashAttention's forward pass in both loop orders: exact attention in tiles with an online softmax
(Dao et al. 2022, bib: dao2022flashattention; Dao 2023, bib: dao2024flashattention).

Attention for one query row i over keys j = 1..L_k,

    s_ij = scale · q_i · k_j          (scale = 1/√d unless given)
    o_i  = Σ_j exp(s_ij) v_j / Σ_j exp(s_ij),

is computed here without ever holding the L_q × L_k matrix s. Queries are cut into blocks Q_i of
block_q rows (B_r in the papers) and keys/values into blocks K_j, V_j of block_k rows (B_c). Each
query row keeps a running maximum m and normaliser ℓ (relative to m) while the key blocks go past,
the online softmax of Milakov & Gimelshein (bib: milakov2018online). Every exponent is ≤ 0, so
nothing overflows; the result is the softmax exactly, up to rounding. The two papers order the
loops differently:

FlashAttention (Algorithm 1 of the 2022 paper), flash_attention_1: key/value blocks OUTSIDE,
query blocks INSIDE. O, ℓ and m live in main memory (HBM) from start to end; each inner step
loads Q_i, O_i, ℓ_i, m_i, folds in the tile S_ij = scale · Q_i K_jᵀ and writes them back:

    m̃_ij = rowmax(S_ij),  P̃_ij = exp(S_ij − m̃_ij),  ℓ̃_ij = rowsum(P̃_ij)
    m_i^new = max(m_i, m̃_ij),  ℓ_i^new = e^{m_i − m_i^new} ℓ_i + e^{m̃_ij − m_i^new} ℓ̃_ij
    O_i ← diag(ℓ_i^new)^{-1} (diag(ℓ_i) e^{m_i − m_i^new} O_i + e^{m̃_ij − m_i^new} P̃_ij V_j)

so O_i is always normalised, and is rescaled and written back at every one of the T_c steps.

FlashAttention-2 (Algorithm 1 of the 2023 paper), flash_attention_2 (= tiled_attention): query
blocks OUTSIDE, key/value blocks INSIDE. O_i, ℓ_i, m_i stay on chip for the whole inner loop and
O_i is kept unnormalised,

    m_i^(j) = max(m_i^(j-1), rowmax(S_ij)),  P̃_ij = exp(S_ij − m_i^(j))
    ℓ_i^(j) = e^{m_i^(j-1) − m_i^(j)} ℓ_i^(j-1) + rowsum(P̃_ij)
    O_i^(j) = diag(e^{m_i^(j-1) − m_i^(j)}) O_i^(j-1) + P̃_ij V_j,

divided by ℓ once at the end (the observation of Rabe & Staats, bib: rabe2021self), and written
to main memory once, with logsumexp L_i = m_i + log ℓ_i for the backward pass. That is why
FlashAttention-2 is faster: fewer non-matmul operations (one rescaling of O per step instead of
three, and a single division) and O written once instead of T_c times. (The 2023 paper's other
gains, parallelising over the sequence and splitting work between warps, are GPU scheduling that
Python cannot show.) Pass a Traffic() as `traffic=` to either function to count, per batch·head,
the elements read from and written to main memory and the scalings of output elements.

FlashAttention runs each tile in on-chip SRAM, so the scores never reach GPU main memory; plain
PyTorch cannot choose where a tensor lives, so this module shows the arithmetic, the memory bound
(no tensor larger than a tile or an input) and the traffic the loop order implies, not the speed.

Causal: query i sees keys j ≤ i, counted from the start of both sequences (as torch's SDPA with
is_causal=True); tiles wholly in a query block's future are skipped, not computed.

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
from dataclasses import dataclass

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


@dataclass
class Traffic:
    """Main-memory (HBM) traffic of one batch·head, in elements, and the scalings of output
    elements (multiplications or divisions of O by a per-row factor, outside the matmuls)."""
    reads: int = 0
    writes: int = 0
    output_scalings: int = 0


def _causal_tile(s, i0, j0):
    """Mask the scores of a tile whose rows are queries i0.. and columns keys j0.. (keys after the query)."""
    i = torch.arange(i0, i0 + s.shape[-2], device=s.device)
    j = torch.arange(j0, j0 + s.shape[-1], device=s.device)
    return s.masked_fill(j[None, :] > i[:, None], float("-inf"))


def _finite(m):
    """m with -inf (a row with no key seen yet) replaced by 0, so exp(-inf - shift) = 0, not nan."""
    return torch.where(m == float("-inf"), torch.zeros_like(m), m)


def flash_attention_2(q, k, v, block_q=128, block_k=128, causal=False, scale=None, return_logsumexp=False,
                      traffic: Traffic | None = None):
    """FlashAttention-2's forward loop: query blocks outside, key/value blocks inside, one
    (block_q × block_k) tile of scores at a time, O divided by ℓ once per query block."""
    scale = 1 / math.sqrt(q.shape[-1]) if scale is None else scale
    L_q, L_k, d, d_v = q.shape[-2], k.shape[-2], q.shape[-1], v.shape[-1]
    traffic = Traffic() if traffic is None else traffic
    # Half-precision inputs accumulate in float32, as FlashAttention does; float64 stays float64.
    work = torch.promote_types(q.dtype, torch.float32)
    batch = torch.broadcast_shapes(q.shape[:-2], k.shape[:-2], v.shape[:-2])
    out = torch.empty(*batch, L_q, d_v, dtype=q.dtype, device=q.device)
    lse = torch.empty(*batch, L_q, dtype=work, device=q.device)
    for i0 in range(0, L_q, block_q):
        qi = q[..., i0:i0 + block_q, :].to(work) * scale
        rows = qi.shape[-2]
        traffic.reads += rows * d                                  # load Q_i
        m = torch.full((*batch, rows), float("-inf"), dtype=work, device=q.device)
        ell = torch.zeros((*batch, rows), dtype=work, device=q.device)
        acc = torch.zeros((*batch, rows, d_v), dtype=work, device=q.device)
        for j0 in range(0, L_k, block_k):
            if causal and j0 > i0 + rows - 1:
                break                                  # this key block and all later ones are in the future
            kj, vj = k[..., j0:j0 + block_k, :].to(work), v[..., j0:j0 + block_k, :].to(work)
            traffic.reads += kj.shape[-2] * (d + d_v)              # load K_j, V_j
            s = qi @ kj.transpose(-2, -1)              # (..., block_q, block_k): the only score tensor
            if causal and j0 + kj.shape[-2] - 1 > i0:  # the tile straddles the diagonal
                s = _causal_tile(s, i0, j0)
            m, ell, acc = online_update(m, ell, acc, s, vj)
            traffic.output_scalings += rows * d_v                  # O_i ← diag(e^{m_old − m_new}) O_i + ...
        out[..., i0:i0 + rows, :] = (acc / ell[..., None]).to(q.dtype)   # O_i = diag(ℓ_i)^{-1} O_i, once
        lse[..., i0:i0 + rows] = m + torch.log(ell)
        traffic.output_scalings += rows * d_v
        traffic.writes += rows * (d_v + 1)                         # write O_i and L_i
    return (out, lse) if return_logsumexp else out


tiled_attention = flash_attention_2  # the name the benchmarks and the equivalences page use


def flash_attention_1(q, k, v, block_q=128, block_k=128, causal=False, scale=None, return_logsumexp=False,
                      traffic: Traffic | None = None):
    """FlashAttention's Algorithm 1 (2022): key/value blocks outside, query blocks inside; O, ℓ
    and m are read from and written back to main memory at every inner step, O kept normalised."""
    scale = 1 / math.sqrt(q.shape[-1]) if scale is None else scale
    L_q, L_k, d, d_v = q.shape[-2], k.shape[-2], q.shape[-1], v.shape[-1]
    traffic = Traffic() if traffic is None else traffic
    work = torch.promote_types(q.dtype, torch.float32)
    batch = torch.broadcast_shapes(q.shape[:-2], k.shape[:-2], v.shape[:-2])
    # "HBM": initialise O = 0, ℓ = 0, m = -∞ in main memory (Algorithm 1, line 2).
    O = torch.zeros(*batch, L_q, d_v, dtype=work, device=q.device)
    ell = torch.zeros(*batch, L_q, dtype=work, device=q.device)
    m = torch.full((*batch, L_q), float("-inf"), dtype=work, device=q.device)
    traffic.writes += L_q * (d_v + 2)
    for j0 in range(0, L_k, block_k):
        kj, vj = k[..., j0:j0 + block_k, :].to(work), v[..., j0:j0 + block_k, :].to(work)
        traffic.reads += kj.shape[-2] * (d + d_v)                  # load K_j, V_j
        first_query_block = (j0 // block_q) * block_q if causal else 0   # earlier query blocks are all in the past
        for i0 in range(first_query_block, L_q, block_q):
            qi = q[..., i0:i0 + block_q, :].to(work) * scale
            rows = qi.shape[-2]
            O_i, ell_i, m_i = O[..., i0:i0 + rows, :], ell[..., i0:i0 + rows], m[..., i0:i0 + rows]
            traffic.reads += rows * (d + d_v + 2)                  # load Q_i, O_i, ℓ_i, m_i
            s = qi @ kj.transpose(-2, -1)                          # S_ij (..., block_q, block_k)
            if causal and j0 + kj.shape[-2] - 1 > i0:
                s = _causal_tile(s, i0, j0)
            m_tilde = s.amax(-1)                                   # m̃_ij = rowmax(S_ij)
            p_tilde = torch.exp(s - _finite(m_tilde)[..., None])   # P̃_ij = exp(S_ij − m̃_ij)
            m_new = torch.maximum(m_i, m_tilde)                    # m_i^new
            old, new = torch.exp(m_i - _finite(m_new)), torch.exp(m_tilde - _finite(m_new))
            ell_new = old * ell_i + new * p_tilde.sum(-1)          # ℓ_i^new = e^{m_i−m^new} ℓ_i + e^{m̃−m^new} ℓ̃_ij
            safe = torch.where(ell_new == 0, torch.ones_like(ell_new), ell_new)   # a row with no key yet
            # O_i ← diag(ℓ_i^new)^{-1} (diag(ℓ_i) e^{m_i − m_i^new} O_i + e^{m̃_ij − m_i^new} P̃_ij V_j)
            O[..., i0:i0 + rows, :] = ((ell_i * old)[..., None] * O_i + new[..., None] * (p_tilde @ vj)) / safe[..., None]
            ell[..., i0:i0 + rows], m[..., i0:i0 + rows] = ell_new, m_new
            traffic.output_scalings += 3 * rows * d_v              # ×ℓ_i e^{…} O_i, ×e^{…} P̃V, ÷ℓ^new
            traffic.writes += rows * (d_v + 2)                     # write O_i, ℓ_i, m_i
    out = O.to(q.dtype)
    return (out, m + torch.log(ell)) if return_logsumexp else out


def traffic_closed_form(L_q, L_k, d, d_v, block_q, block_k) -> dict[str, Traffic]:
    """Non-causal traffic of both loop orders per batch·head, with T_r = ⌈L_q/block_q⌉ query blocks
    and T_c = ⌈L_k/block_k⌉ key blocks (the counts of the two algorithms as written in the papers)."""
    T_r, T_c = -(-L_q // block_q), -(-L_k // block_k)
    return {
        # K, V once; Q, O, ℓ, m once per key block; O, ℓ, m initialised, then written once per key block.
        "FlashAttention": Traffic(reads=L_k * (d + d_v) + T_c * L_q * (d + d_v + 2),
                                  writes=(T_c + 1) * L_q * (d_v + 2), output_scalings=3 * T_c * L_q * d_v),
        # Q once; K, V once per query block; O and logsumexp written once.
        "FlashAttention-2": Traffic(reads=L_q * d + T_r * L_k * (d + d_v), writes=L_q * (d_v + 1),
                                    output_scalings=(T_c + 1) * L_q * d_v),
    }


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
