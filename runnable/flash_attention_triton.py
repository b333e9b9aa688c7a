"""FlashAttention-2 as fused Triton kernels: forward and backward passes (Dao; bib: dao2024flashattention).

The same exact attention as the tiled loop in runnable/flash_attention.py, written as GPU kernels:
each program keeps its tiles in on-chip memory, so the L_q × L_k scores and weights never reach
main memory in either pass. Notation is the FlashAttention-2 paper's (Algorithms 1 and 2), with
the softmax scale τ written out (the paper folds it into Q):

    S = τ Q Kᵀ,   P = softmax(S) (row-wise),   O = P V,   L = rowwise logsumexp(S).

Forward (Algorithm 1), one program per tile row i of B_r queries, looping over tiles j of B_c keys:

    S_i^(j) = τ Q_i K_jᵀ
    m_i^(j) = max(m_i^(j−1), rowmax S_i^(j))                    running row maximum
    P̃_i^(j) = exp(S_i^(j) − m_i^(j))                           weights under that maximum
    ℓ_i^(j) = e^{m_i^(j−1) − m_i^(j)} ℓ_i^(j−1) + rowsum P̃_i^(j)   running normaliser
    O_i^(j) = diag(e^{m_i^(j−1) − m_i^(j)}) O_i^(j−1) + P̃_i^(j) V_j   unnormalised output
    O_i = diag(ℓ_i)⁻¹ O_i^(T_c),   L_i = m_i + log ℓ_i             written once, at the end

Backward (Algorithm 2): P is recomputed from Q, K and L, never stored. With dO the gradient of O,

    D = rowsum(dO ∘ O)                   preprocess kernel (equals rowsum(P ∘ dP))
    P_i^(j) = exp(S_i^(j) − L_i)          the weights, exactly, in one exponential
    dV_j = Σ_i P_i^(j)ᵀ dO_i              dP_i^(j) = dO_i V_jᵀ
    dS_i^(j) = P_i^(j) ∘ (dP_i^(j) − D_i)  the softmax's backward, row by row
    dK_j = τ Σ_i dS_i^(j)ᵀ Q_i            dK/dV kernel: one program per key tile j, loop over i
    dQ_i = τ Σ_j dS_i^(j) K_j             dQ kernel: one program per query tile i, loop over j

The paper's Algorithm 2 adds dQ_i into main memory from every key tile (atomic adds); like
Triton's "Fused Attention" tutorial, we give dQ a kernel of its own, which recomputes S and P
once more but needs no atomics and is deterministic.

Base-2 exponentials: GPUs compute 2ˣ in one instruction (e^x costs a multiplication more), so
the kernels work in base-2 units. Since e^x = 2^(x·log₂e), multiplying the scores by log₂e once,
S' = (τ log₂e) Q Kᵀ, turns every exp(S − m) into exp2(S' − m') with m' = m·log₂e: the factor
folds into the score scale for free, m and ℓ are kept in those units, and L is converted back
to the natural log (L = ln2 · (m' + log₂ℓ)) so that it is torch.logsumexp of S.

Causal: query i sees keys j ≤ i, counted from the start of both sequences (as torch's SDPA with
is_causal=True); key tiles wholly in a query tile's future are skipped, not computed. Lengths need
not be multiples of the tiles: loads past the end read zeros and padding keys get score −∞.

Devices: on CUDA, Triton compiles the kernels (float16 and bfloat16; float32 inputs use TF32
products there). On CPU tensors the same kernel source runs in Triton's interpreter (what
TRITON_INTERPRET=1 selects; float32), one program after another with NumPy: slow, but the code
the tests check is the code shown.

Shapes: B batch, H heads, L_q queries, L_k keys, d head size (16, 32, 64 or 128; values have
size d too), B_r × B_c a tile of scores (BLOCK_R, BLOCK_C in the kernels). q (B, H, L_q, d),
k and v (B, H, L_k, d) → output (B, H, L_q, d) and logsumexp L (B, H, L_q, float32).

Differences from the paper:
- dQ has a kernel of its own that recomputes the scores, instead of Algorithm 2's atomic adds into
  main memory from every key tile (as in Triton's tutorial): deterministic, at two more matrix
  products per tile.
- The split of each tile's work among warps, FlashAttention-2's fourth change, is left to Triton's
  compiler; tile sizes and warp counts are common choices, not tuned per GPU.
- No dropout, no variable-length batches and no head sizes above 128.
"""
from __future__ import annotations

import math
import os
import sys

import torch

from runnable.flash_attention import naive_attention  # the reference: the full score matrix

# Triton fixes its mode when triton.language is first imported: its own library functions
# (tl.zeros, tl.max, tl.sum) are compiled or interpreted from then on, and so are kernels
# decorated while TRITON_INTERPRET says so. Without CUDA, ask for the interpreter, unless
# triton is already imported (then the mode is settled, and INTERPRETED below reports it).
if "triton" not in sys.modules and not torch.cuda.is_available():
    os.environ.setdefault("TRITON_INTERPRET", "1")

import triton  # noqa: E402
import triton.language as tl  # noqa: E402
from triton.runtime.interpreter import InterpretedFunction  # noqa: E402

INTERPRETED = isinstance(tl.zeros, InterpretedFunction)  # whether kernels run in the interpreter in this process

LOG2_E = tl.constexpr(1.4426950408889634)  # log₂ e: e^x = 2^(x · log₂ e)
LN_2 = tl.constexpr(0.6931471805599453)     # ln 2: log x = ln 2 · log₂ x
HEAD_SIZES = (16, 32, 64, 128)


@triton.jit
def load_tile(base, positions, length, HEAD_DIM: tl.constexpr):
    """Rows `positions` of a contiguous (length, d) matrix: an (n, d) tile.
    Rows past the end read as zeros."""
    dims = tl.arange(0, HEAD_DIM)
    offsets = positions[:, None] * HEAD_DIM + dims[None, :]
    return tl.load(base + offsets, mask=positions[:, None] < length, other=0.0)


@triton.jit
def store_tile(base, positions, length, tile, HEAD_DIM: tl.constexpr):
    """Write an (n, d) tile to rows `positions`, in the matrix's dtype; rows past the end are dropped."""
    dims = tl.arange(0, HEAD_DIM)
    offsets = positions[:, None] * HEAD_DIM + dims[None, :]
    tl.store(base + offsets, tile.to(base.dtype.element_ty), mask=positions[:, None] < length)


@triton.jit
def scaled_scores(q, k, rows, keys, len_k, qk_scale,
                  CAUSAL: tl.constexpr, RAGGED_K: tl.constexpr):
    """S' = τ log₂e Q_i K_jᵀ (B_r, B_c), and −∞ where query i may not see key j."""
    s = tl.dot(q, tl.trans(k)) * qk_scale
    # Compile-time branches: full attention over a multiple of B_c keys has no mask at all.
    if CAUSAL:
        # Query i sees keys j ≤ i, and never a padding key past L_k.
        visible = (keys[None, :] <= rows[:, None]) & (keys[None, :] < len_k)
        s = tl.where(visible, s, float("-inf"))
    elif RAGGED_K:
        s = tl.where(keys[None, :] < len_k, s, float("-inf"))
    return s


@triton.jit
def flash_forward_kernel(Q, K, V, O, L, scale, len_q, len_k,
                         HEAD_DIM: tl.constexpr, BLOCK_R: tl.constexpr,
                         BLOCK_C: tl.constexpr, CAUSAL: tl.constexpr,
                         RAGGED_K: tl.constexpr):
    """Algorithm 1 for one tile row i: O_i and L_i, B_r queries of one (batch, head)."""
    # Algorithm 1's loop over i runs in parallel: one program per (i, batch·head).
    i = tl.program_id(0)
    head = tl.program_id(1).to(tl.int64)
    # Contiguous (B·H, L, d) tensors: one head's rows are one slab of L·d numbers.
    Q += head * len_q * HEAD_DIM
    O += head * len_q * HEAD_DIM
    K += head * len_k * HEAD_DIM
    V += head * len_k * HEAD_DIM
    # Q_i (B_r, d), the queries at positions `rows`: loaded once, on chip throughout.
    rows = i * BLOCK_R + tl.arange(0, BLOCK_R)
    q = load_tile(Q, rows, len_q, HEAD_DIM)
    # m_i = −∞, ℓ_i = 0, unnormalised O_i = 0: float32 whatever the inputs.
    m = tl.full([BLOCK_R], float("-inf"), tl.float32)
    ell = tl.zeros([BLOCK_R], tl.float32)
    acc = tl.zeros([BLOCK_R, HEAD_DIM], tl.float32)
    # τ log₂e: exp(τ x) = exp2(τ log₂e · x); m is kept in these base-2 units.
    qk_scale = scale * LOG2_E
    end = len_k
    if CAUSAL:
        # Key tiles past this tile row's last query are wholly in its future.
        end = tl.minimum(len_k, (i + 1) * BLOCK_R)
    # j = 1 … T_c
    for start in range(0, end, BLOCK_C):
        # K_j, V_j (B_c, d): the keys and values at positions `keys`
        keys = start + tl.arange(0, BLOCK_C)
        k = load_tile(K, keys, len_k, HEAD_DIM)
        v = load_tile(V, keys, len_k, HEAD_DIM)
        # S_i^(j) = τ Q_i K_jᵀ (B_r, B_c), in base-2 units
        s = scaled_scores(q, k, rows, keys, len_k, qk_scale, CAUSAL, RAGGED_K)
        # m_i^(j) = max(m_i^(j−1), rowmax S_i^(j))
        m_new = tl.maximum(m, tl.max(s, 1))
        # P̃_i^(j) = exp(S_i^(j) − m_i^(j)): every entry ≤ 1, nothing overflows
        p = tl.exp2(s - m_new[:, None])
        # exp(m_i^(j−1) − m_i^(j)) brings the earlier tiles to the new maximum
        alpha = tl.exp2(m - m_new)
        # ℓ_i^(j) = exp(m_i^(j−1) − m_i^(j)) ℓ_i^(j−1) + rowsum P̃_i^(j)
        ell = alpha * ell + tl.sum(p, 1)
        # O_i^(j) = diag(exp(m_i^(j−1) − m_i^(j))) O_i^(j−1) + P̃_i^(j) V_j
        acc = acc * alpha[:, None] + tl.dot(p.to(v.dtype), v)
        m = m_new
    # O_i = diag(ℓ_i)⁻¹ O_i^(T_c): one division per row, after the loop
    store_tile(O, rows, len_q, acc / ell[:, None], HEAD_DIM)
    # L_i = m_i + log ℓ_i, back in natural logs: ln 2 · (m'_i + log₂ ℓ_i)
    tl.store(L + head * len_q + rows, (m + tl.log2(ell)) * LN_2, mask=rows < len_q)


@triton.jit
def flash_backward_preprocess_kernel(O, dO, D, len_q,
                                     HEAD_DIM: tl.constexpr, BLOCK_R: tl.constexpr):
    """D_i = rowsum(dO_i ∘ O_i) for one tile of B_r rows."""
    head = tl.program_id(1).to(tl.int64)
    rows = tl.program_id(0) * BLOCK_R + tl.arange(0, BLOCK_R)
    o = load_tile(O + head * len_q * HEAD_DIM, rows, len_q, HEAD_DIM)
    do = load_tile(dO + head * len_q * HEAD_DIM, rows, len_q, HEAD_DIM)
    # D_i = rowsum(dO_i ∘ O_i), in float32
    delta = tl.sum(o.to(tl.float32) * do.to(tl.float32), 1)
    tl.store(D + head * len_q + rows, delta, mask=rows < len_q)


@triton.jit
def flash_backward_dkdv_kernel(Q, K, V, dO, L, D, dK, dV, scale, len_q, len_k,
                               HEAD_DIM: tl.constexpr, BLOCK_R: tl.constexpr,
                               BLOCK_C: tl.constexpr, CAUSAL: tl.constexpr,
                               RAGGED_K: tl.constexpr):
    """Algorithm 2 for one key tile j: dK_j and dV_j, summed over the query tiles."""
    # Algorithm 2's loop over j runs in parallel: one program per (j, batch·head).
    j = tl.program_id(0)
    head = tl.program_id(1).to(tl.int64)
    Q += head * len_q * HEAD_DIM
    dO += head * len_q * HEAD_DIM
    L += head * len_q
    D += head * len_q
    K += head * len_k * HEAD_DIM
    V += head * len_k * HEAD_DIM
    # K_j, V_j (B_c, d), at key positions `keys`: loaded once, on chip throughout.
    keys = j * BLOCK_C + tl.arange(0, BLOCK_C)
    k = load_tile(K, keys, len_k, HEAD_DIM)
    v = load_tile(V, keys, len_k, HEAD_DIM)
    # dK_j = 0, dV_j = 0, in float32
    dk = tl.zeros([BLOCK_C, HEAD_DIM], tl.float32)
    dv = tl.zeros([BLOCK_C, HEAD_DIM], tl.float32)
    qk_scale = scale * LOG2_E
    begin = 0
    if CAUSAL:
        # Query tiles wholly before this key tile see none of its keys.
        begin = (j * BLOCK_C // BLOCK_R) * BLOCK_R
    # i = 1 … T_r
    for start in range(begin, len_q, BLOCK_R):
        # Q_i, dO_i (B_r, d) and L_i, D_i (B_r,) at positions `rows`. Rows past
        # L_q read zeros: with dO_i = 0 and D_i = 0 they add nothing to dK_j, dV_j.
        rows = start + tl.arange(0, BLOCK_R)
        q = load_tile(Q, rows, len_q, HEAD_DIM)
        do = load_tile(dO, rows, len_q, HEAD_DIM)
        lse = tl.load(L + rows, mask=rows < len_q, other=0.0)
        delta = tl.load(D + rows, mask=rows < len_q, other=0.0)
        s = scaled_scores(q, k, rows, keys, len_k, qk_scale, CAUSAL, RAGGED_K)
        # P_i^(j) = exp(S_i^(j) − L_i): the attention weights, recomputed
        p = tl.exp2(s - lse[:, None] * LOG2_E)
        # dV_j ← dV_j + P_i^(j)ᵀ dO_i
        dv += tl.dot(tl.trans(p.to(do.dtype)), do)
        # dP_i^(j) = dO_i V_jᵀ (B_r, B_c)
        dp = tl.dot(do, tl.trans(v))
        # dS_i^(j) = P_i^(j) ∘ (dP_i^(j) − D_i)
        ds = p * (dp - delta[:, None])
        # dK_j ← dK_j + dS_i^(j)ᵀ Q_i   (times τ once, at the end)
        dk += tl.dot(tl.trans(ds.to(q.dtype)), q)
    store_tile(dK + head * len_k * HEAD_DIM, keys, len_k, dk * scale, HEAD_DIM)
    store_tile(dV + head * len_k * HEAD_DIM, keys, len_k, dv, HEAD_DIM)


@triton.jit
def flash_backward_dq_kernel(Q, K, V, dO, L, D, dQ, scale, len_q, len_k,
                             HEAD_DIM: tl.constexpr, BLOCK_R: tl.constexpr,
                             BLOCK_C: tl.constexpr, CAUSAL: tl.constexpr,
                             RAGGED_K: tl.constexpr):
    """dQ_i = τ Σ_j dS_i^(j) K_j for one query tile i, recomputing S, P and dS."""
    i = tl.program_id(0)
    head = tl.program_id(1).to(tl.int64)
    Q += head * len_q * HEAD_DIM
    dO += head * len_q * HEAD_DIM
    dQ += head * len_q * HEAD_DIM
    K += head * len_k * HEAD_DIM
    V += head * len_k * HEAD_DIM
    # Q_i, dO_i (B_r, d) and L_i, D_i (B_r,) at positions `rows`: on chip throughout.
    rows = i * BLOCK_R + tl.arange(0, BLOCK_R)
    q = load_tile(Q, rows, len_q, HEAD_DIM)
    do = load_tile(dO, rows, len_q, HEAD_DIM)
    lse = tl.load(L + head * len_q + rows, mask=rows < len_q, other=0.0)
    delta = tl.load(D + head * len_q + rows, mask=rows < len_q, other=0.0)
    dq = tl.zeros([BLOCK_R, HEAD_DIM], tl.float32)
    qk_scale = scale * LOG2_E
    end = len_k
    if CAUSAL:
        end = tl.minimum(len_k, (i + 1) * BLOCK_R)
    # j = 1 … T_c
    for start in range(0, end, BLOCK_C):
        keys = start + tl.arange(0, BLOCK_C)
        k = load_tile(K, keys, len_k, HEAD_DIM)
        v = load_tile(V, keys, len_k, HEAD_DIM)
        s = scaled_scores(q, k, rows, keys, len_k, qk_scale, CAUSAL, RAGGED_K)
        # P_i^(j) = exp(S_i^(j) − L_i)
        p = tl.exp2(s - lse[:, None] * LOG2_E)
        # dS_i^(j) = P_i^(j) ∘ (dO_i V_jᵀ − D_i)
        ds = p * (tl.dot(do, tl.trans(v)) - delta[:, None])
        # dQ_i ← dQ_i + dS_i^(j) K_j   (times τ once, at the end)
        dq += tl.dot(ds.to(k.dtype), k)
    store_tile(dQ, rows, len_q, dq * scale, HEAD_DIM)


def _launch(kernel, device: torch.device, grid):
    """The kernel launcher for tensors on this device, or a ValueError saying how to get one."""
    if device.type == "cpu" and not INTERPRETED:
        raise ValueError("CPU tensors need Triton's interpreter, and this process imported triton without it: "
                         "set TRITON_INTERPRET=1 before triton is first imported (this module does so itself "
                         "when torch finds no CUDA device and triton is not yet imported)")
    return kernel[grid]


def _tiles(device: torch.device, head_dim: int, block_r: int | None, block_c: int | None, backward: bool):
    """(B_r, B_c, launch options). On CUDA, common FlashAttention-2 choices for Hopper-class GPUs
    (untuned here: no GPU was at hand); on CPU, large tiles, since the interpreter pays per operation."""
    if device.type == "cpu":
        return block_r or 64, block_c or 64, {}
    default_r = 64 if backward else 128
    options = {"num_warps": 4 if head_dim <= 64 else 8, "num_stages": 2 if backward else 3}
    return block_r or default_r, block_c or 64, options


class FlashAttentionFunction(torch.autograd.Function):
    """Autograd's view of the kernels: forward saves Q, K, V, O and L (never P); backward runs Algorithm 2."""

    @staticmethod
    def forward(ctx, q, k, v, causal: bool, scale: float, block_r: int | None, block_c: int | None):
        q, k, v = (t.contiguous() for t in (q, k, v))
        batch, heads, len_q, head_dim = q.shape
        len_k = k.shape[2]
        out = torch.empty_like(q)
        lse = torch.empty(batch, heads, len_q, dtype=torch.float32, device=q.device)
        rows, cols, options = _tiles(q.device, head_dim, block_r, block_c, backward=False)
        grid = (triton.cdiv(len_q, rows), batch * heads)
        _launch(flash_forward_kernel, q.device, grid)(
            q, k, v, out, lse, scale, len_q, len_k, HEAD_DIM=head_dim, BLOCK_R=rows, BLOCK_C=cols,
            CAUSAL=causal, RAGGED_K=len_k % cols != 0, **options)
        ctx.save_for_backward(q, k, v, out, lse)
        ctx.causal, ctx.scale, ctx.blocks = causal, scale, (block_r, block_c)
        ctx.mark_non_differentiable(lse)
        return out, lse

    @staticmethod
    def backward(ctx, d_out, _d_lse):
        q, k, v, out, lse = ctx.saved_tensors
        d_out = d_out.contiguous()
        batch, heads, len_q, head_dim = q.shape
        len_k = k.shape[2]
        rows, cols, options = _tiles(q.device, head_dim, *ctx.blocks, backward=True)
        delta = torch.empty_like(lse)
        _launch(flash_backward_preprocess_kernel, q.device, (triton.cdiv(len_q, rows), batch * heads))(
            out, d_out, delta, len_q, HEAD_DIM=head_dim, BLOCK_R=rows)
        dq, dk, dv = torch.empty_like(q), torch.empty_like(k), torch.empty_like(v)
        shared = dict(HEAD_DIM=head_dim, BLOCK_R=rows, BLOCK_C=cols, CAUSAL=ctx.causal, RAGGED_K=len_k % cols != 0, **options)
        _launch(flash_backward_dkdv_kernel, q.device, (triton.cdiv(len_k, cols), batch * heads))(
            q, k, v, d_out, lse, delta, dk, dv, ctx.scale, len_q, len_k, **shared)
        _launch(flash_backward_dq_kernel, q.device, (triton.cdiv(len_q, rows), batch * heads))(
            q, k, v, d_out, lse, delta, dq, ctx.scale, len_q, len_k, **shared)
        return dq, dk, dv, None, None, None, None


def flash_attention(q, k, v, causal: bool = False, scale: float | None = None, block_r: int | None = None,
                    block_c: int | None = None, return_logsumexp: bool = False):
    """softmax(τ q kᵀ) v by the fused kernels, differentiable in q, k and v; τ = 1/√d unless given.
    q (B, H, L_q, d), k and v (B, H, L_k, d) on one device, one dtype; B_r × B_c tiles (powers of two, ≥ 16)."""
    problems = []
    if q.dim() != 4 or k.dim() != 4 or v.dim() != 4:
        problems.append(f"q, k and v must be (B, H, L, d), got shapes {tuple(q.shape)}, {tuple(k.shape)}, {tuple(v.shape)}")
    elif q.shape[:2] != k.shape[:2] or k.shape != v.shape or q.shape[3] != k.shape[3]:
        problems.append(f"shapes {tuple(q.shape)}, {tuple(k.shape)}, {tuple(v.shape)} do not agree: "
                        "one (B, H) for all three, k and v the same shape, one head size d")
    elif q.shape[3] not in HEAD_SIZES:
        problems.append(f"head size {q.shape[3]} is not one of {HEAD_SIZES}")
    if not (q.dtype == k.dtype == v.dtype and q.dtype in (torch.float16, torch.bfloat16, torch.float32)):
        problems.append(f"dtypes {q.dtype}, {k.dtype}, {v.dtype}: use one of float16, bfloat16, float32 for all three")
    if not q.device == k.device == v.device:
        problems.append(f"devices {q.device}, {k.device}, {v.device} differ")
    for name, block in (("block_r", block_r), ("block_c", block_c)):
        if block is not None and (block < 16 or block & (block - 1)):
            problems.append(f"{name} = {block} must be a power of two, at least 16 (tl.dot's smallest tile)")
    if problems:
        raise ValueError("; ".join(problems))
    scale = 1 / math.sqrt(q.shape[-1]) if scale is None else float(scale)
    out, lse = FlashAttentionFunction.apply(q, k, v, causal, scale, block_r, block_c)
    return (out, lse) if return_logsumexp else out


def demo(device: torch.device | str = "cpu", seed: int = 0) -> dict:
    """Forward and backward against naive attention in float64: outputs, logsumexp and the three
    gradients. CPU runs the interpreter in float32 on a small problem; CUDA runs float16."""
    device = torch.device(device)
    torch.manual_seed(seed)
    dtype = torch.float32 if device.type == "cpu" else torch.float16
    batch, heads, length, head_dim, block = (1, 2, 100, 64, 32) if device.type == "cpu" else (2, 4, 1000, 64, None)
    q, k, v = (torch.randn(batch, heads, length, head_dim, device=device, dtype=dtype, requires_grad=True) for _ in range(3))
    d_out = torch.randn(batch, heads, length, head_dim, device=device, dtype=dtype)
    runner = "Triton's interpreter on CPU" if device.type == "cpu" else f"compiled for {torch.cuda.get_device_name(device)}"
    tiles = f"{block} × {block}" if block else "default"
    print(f"FlashAttention-2 in Triton, {runner}: B = {batch}, H = {heads}, L = {length} (not a multiple of the "
          f"tile), d = {head_dim}, tiles {tiles}, {str(dtype).removeprefix('torch.')}; errors against naive attention in float64")
    errors = {}
    for causal in (False, True):
        out, lse = flash_attention(q, k, v, causal, block_r=block, block_c=block, return_logsumexp=True)
        grads = torch.autograd.grad(out, (q, k, v), d_out)
        exact = [t.detach().double().requires_grad_() for t in (q, k, v)]
        reference = naive_attention(*exact, causal)
        reference_grads = torch.autograd.grad(reference, exact, d_out.double())
        scores = exact[0] @ exact[1].transpose(-2, -1) / math.sqrt(head_dim)
        if causal:
            scores = scores.masked_fill(torch.ones(length, length, dtype=torch.bool, device=device).triu(1), float("-inf"))
        found = {"O": out, "L": lse, "dQ": grads[0], "dK": grads[1], "dV": grads[2]}
        wanted = {"O": reference, "L": torch.logsumexp(scores, -1), "dQ": reference_grads[0],
                  "dK": reference_grads[1], "dV": reference_grads[2]}
        errors["causal" if causal else "full"] = {name: (found[name].double() - wanted[name]).abs().max().item() for name in found}
        print(f"  {'causal' if causal else 'full':>6}: " + ", ".join(f"max |Δ{name}| {error:.1e}"
                                                                     for name, error in errors["causal" if causal else "full"].items()))
    return {"dtype": str(dtype), "length": length, "head_dim": head_dim, "errors": errors}


if __name__ == "__main__":
    from runnable._cli import device_from_args

    chosen = device_from_args(__doc__.splitlines()[0])
    if chosen.type == "cpu" and not INTERPRETED:  # a CUDA machine compiles; CPU tensors need a fresh, interpreting process
        os.execve(sys.executable, [sys.executable, "-m", "runnable.flash_attention_triton", *sys.argv[1:]],
                  {**os.environ, "TRITON_INTERPRET": "1"})
    demo(chosen)
