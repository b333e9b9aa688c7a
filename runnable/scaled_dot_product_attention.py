"""Scaled dot-product attention with padding and causal masks (Vaswani et al. 2017; bib: vaswani2017attention).

Every query is compared with every key by a dot product, scaled by 1/√d, and a softmax over the
keys turns the scores into weights for averaging the values:

    Attention(Q, K, V) = softmax(Q Kᵀ / √d) V

Without the scale, the dot product of two vectors with independent unit-variance entries has
variance d, so for large d the softmax saturates towards a one-hot vector (and tiny gradients).

Masks remove keys before the softmax by setting their scores to -∞, so their weight is exactly 0:
  - mask: boolean, broadcastable to (..., L_q, L_k), True = "this query may attend to this key"
    (the convention of torch's F.scaled_dot_product_attention bool attn_mask; note that
    nn.MultiheadAttention's attn_mask and key_padding_mask use the opposite, True = blocked);
  - causal: query i attends to keys j ≤ i (top-left aligned, as torch's is_causal), so a
    decoder cannot look at the future.
A query whose every key is masked has nothing to average. Here it gets zero weights and a zero
output (and zero gradients). Torch's F.scaled_dot_product_attention agreed where we looked (2.13
on CPU, 2.11 on an H100), but nn.MultiheadAttention returns NaN there, and other versions and
kernels may differ.

Differences from the paper:
- A query whose keys are all masked gets zero weights and a zero output (and zero gradients) instead
  of NaN; the paper does not discuss the case.
- No dropout on the weights.

Shapes: q (..., L_q, d), k (..., L_k, d), v (..., L_k, d_v) → output (..., L_q, d_v),
weights (..., L_q, L_k). Leading dimensions broadcast (batch, heads, ...).
"""
from __future__ import annotations

import math

import torch
from torch import Tensor


def causal_mask(L_q: int, L_k: int, device: torch.device | str | None = None) -> Tensor:
    """(L_q, L_k) bool, True where key j ≤ query i: the lower triangle, top-left aligned."""
    return torch.ones(L_q, L_k, dtype=torch.bool, device=device).tril()


def padding_mask(lengths: Tensor, max_length: int) -> Tensor:
    """lengths (B,) → (B, 1, 1, L) bool, True at the first lengths[b] (real) positions; the two
    singleton axes broadcast over heads and queries."""
    positions = torch.arange(max_length, device=lengths.device)
    return (positions[None, :] < lengths[:, None])[:, None, None, :]


def scaled_dot_product_attention(q: Tensor, k: Tensor, v: Tensor, mask: Tensor | None = None,
                                 causal: bool = False, scale: float | None = None) -> tuple[Tensor, Tensor]:
    """softmax(q kᵀ · scale + masking) v, scale = 1/√d by default. Returns (output, weights)."""
    scale = 1 / math.sqrt(q.shape[-1]) if scale is None else scale
    scores = (q * scale) @ k.transpose(-2, -1)    # (..., L_q, L_k); scaling q costs L·d, scaling scores L·L
    allowed = mask
    if causal:
        lower = causal_mask(q.shape[-2], k.shape[-2], q.device)
        allowed = lower if allowed is None else allowed & lower
    if allowed is None:
        weights = torch.softmax(scores, dim=-1)
    else:
        weights = torch.softmax(scores.masked_fill(~allowed, float("-inf")), dim=-1)
        # A row with every key masked is softmax(-∞, ..., -∞) = 0/0 = NaN; zeroing the masked
        # entries afterwards turns it into zero weights (and leaves other rows unchanged, since
        # their masked entries are exactly 0 already).
        weights = weights.masked_fill(~allowed, 0.0)
    return weights @ v, weights


def naive_scaled_dot_product_attention(q, k, v, mask=None, causal=False, scale=None):
    """The same thing one query and one key at a time, with Python scalars for the softmax:
    the slow reference the tests compare against. Same shapes and conventions as above."""
    *lead, L_q, d = q.shape
    L_k, d_v = k.shape[-2], v.shape[-1]
    lead = torch.broadcast_shapes(tuple(lead), k.shape[:-2], v.shape[:-2], () if mask is None else mask.shape[:-2])
    scale = 1 / math.sqrt(d) if scale is None else scale
    allowed = torch.ones(L_q, L_k, dtype=torch.bool, device=q.device) if mask is None else mask
    allowed = allowed.expand(*lead, L_q, L_k).reshape(-1, L_q, L_k)
    q, k, v = (t.expand(*lead, *t.shape[-2:]).reshape(-1, *t.shape[-2:]) for t in (q, k, v))
    output = torch.zeros(q.shape[0], L_q, d_v, dtype=q.dtype, device=q.device)
    weights = torch.zeros(q.shape[0], L_q, L_k, dtype=q.dtype, device=q.device)
    for n in range(q.shape[0]):
        for i in range(L_q):
            keys = [j for j in range(L_k) if allowed[n, i, j] and (not causal or j <= i)]
            if not keys:
                continue                                               # fully masked: zeros
            scores = {j: float(q[n, i] @ k[n, j]) * scale for j in keys}
            top = max(scores.values())                                 # subtract the max: no overflow
            total = sum(math.exp(s - top) for s in scores.values())
            for j in keys:
                weights[n, i, j] = math.exp(scores[j] - top) / total
                output[n, i] += weights[n, i, j] * v[n, j]
    return output.reshape(*lead, L_q, d_v), weights.reshape(*lead, L_q, L_k)


def demo(device: torch.device | str = "cpu", seed: int = 0) -> dict:
    """Causal self-attention over a padded batch (lengths 6 and 4), checked against the loop and
    torch; then why the 1/√d: softmax entropy of random scores with and without the scale."""
    torch.manual_seed(seed)
    B, L, d = 2, 6, 8
    # one head; separate q, k, v as three projections of one sequence would give (q = k would
    # make every query prefer itself, since q·q is the largest dot product on average)
    q, k, v = torch.randn(3, B, 1, L, d, device=device).unbind(0)
    lengths = torch.tensor([6, 4], device=device)
    mask = padding_mask(lengths, L)
    output, weights = scaled_dot_product_attention(q, k, v, mask=mask, causal=True)
    loop_out, loop_weights = naive_scaled_dot_product_attention(q, k, v, mask=mask, causal=True)
    torch_out = torch.nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=mask & causal_mask(L, L, device))
    error_loop = max((output - loop_out).abs().max().item(), (weights - loop_weights).abs().max().item())
    error_torch = (output - torch_out).abs().max().item()
    print("weights of example 2 (length 4, causal; rows: queries, columns: keys):")
    for row in weights[1, 0].cpu():
        print("   " + " ".join(f"{w:.2f}" for w in row.tolist()))
    print("(queries 5-6 are padding themselves; they still attend to the real keys 1-4, and a loss")
    print(" would ignore them)")
    print(f"max |ours - loop| = {error_loop:.1e}, max |ours - torch SDPA| = {error_torch:.1e} (tolerance 1e-5)")

    print("\nwhy 1/√d: 32 random queries vs 32 random keys with N(0, 1) entries")
    print("     d   std(q·k)   entropy, unscaled   entropy, scaled   (uniform: ln 32 = 3.47)")
    rows = []
    for dim in [4, 16, 64, 256, 1024]:
        q, k = torch.randn(32, dim, device=device), torch.randn(32, dim, device=device)
        entropy = {}
        for name, s in [("unscaled", 1.0), ("scaled", None)]:
            _, w = scaled_dot_product_attention(q, k, k, scale=s)
            entropy[name] = -(w * w.clamp_min(1e-30).log()).sum(-1).mean().item()
        rows.append((dim, (q @ k.T).std().item(), entropy["unscaled"], entropy["scaled"]))
        print(f"  {dim:>4}   {rows[-1][1]:8.2f}   {entropy['unscaled']:17.2f}   {entropy['scaled']:15.2f}")
    return {"weights": weights[:, 0].cpu(), "error_loop": error_loop, "error_torch": error_torch,
            "dims": [r[0] for r in rows], "std": [r[1] for r in rows],
            "entropy_unscaled": [r[2] for r in rows], "entropy_scaled": [r[3] for r in rows]}


if __name__ == "__main__":
    from runnable._cli import device_from_args

    demo(device_from_args(__doc__.splitlines()[0]))
