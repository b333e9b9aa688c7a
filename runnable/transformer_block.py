"""Transformer block, sinusoidal positions and KV-cache decoding (Vaswani et al. 2017; bib: vaswani2017attention).

Attention by itself ignores order, so the Transformer adds a fixed position code to each input:

    PE(pos, 2i)   = sin(pos / 10000^(2i/d_model))
    PE(pos, 2i+1) = cos(pos / 10000^(2i/d_model))

Each pair (2i, 2i+1) is a point on a circle turning at frequency ω_i = 10000^(-2i/d_model), so
PE(pos + k) is PE(pos) rotated by the angles k·ω_i: a fixed linear map for each offset k.

A block is self-attention and a position-wise feed-forward net, each inside a residual
connection with layer normalisation, after the sum (post-norm, as in the paper) or, with
norm_first, before the sublayer (pre-norm, common later):

    post-norm:  x ← LN(x + MHA(x)),       x ← LN(x + FFN(x))
    pre-norm:   x ← x + MHA(LN(x)),       x ← x + FFN(LN(x))
    FFN(x) = max(0, x W_1 + b_1) W_2 + b_2          (d_model → d_ff → d_model)

Decoding token by token with a causal block, position t's keys and values never change once
computed, so a KVCache keeps them: each step projects only the new token, appends its key and
value, and lets its one query attend to the t + 1 cached ones. No mask is needed, because the
cache holds exactly the positions ≤ t. Only attention mixes positions; everything else in the
block acts on each position alone, so the result equals a full causal pass.

Differences from the paper:
- Post-norm by default, as in the paper; norm_first=True gives the pre-norm block common later.
- Dropout defaults to 0 (the paper uses 0.1), and there are no embeddings or stack of layers: the
  module is one block.

Shapes (batch first): x (B, L, d_model); a decoding step takes x_t (B, 1, d_model); the cache
holds keys and values (B, h, t, d_model / h).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from runnable.multi_head_attention import MultiHeadAttention
from runnable.multi_head_attention import load_from_torch as load_attention_from_torch
from runnable.scaled_dot_product_attention import scaled_dot_product_attention


def sinusoidal_positions(length: int, d_model: int, device=None, dtype=torch.float32) -> Tensor:
    """(length, d_model): PE(pos, 2i) = sin(pos ω_i), PE(pos, 2i+1) = cos(pos ω_i), ω_i = 10000^(-2i/d)."""
    assert d_model % 2 == 0
    position = torch.arange(length, device=device, dtype=torch.float64)[:, None]
    frequency = 10000.0 ** (-torch.arange(0, d_model, 2, device=device, dtype=torch.float64) / d_model)
    angle = position * frequency                                       # (length, d_model / 2)
    return torch.stack([angle.sin(), angle.cos()], dim=-1).flatten(-2).to(dtype)  # interleave sin, cos


class TransformerBlock(nn.Module):
    """Layer names follow torch's nn.TransformerEncoderLayer (self_attn, linear1, linear2, norm1, norm2)."""

    def __init__(self, d_model: int, num_heads: int, d_ff: int, norm_first: bool = False, dropout: float = 0.0):
        super().__init__()
        self.norm_first = norm_first
        self.self_attn = MultiHeadAttention(d_model, num_heads)
        self.linear1, self.linear2 = nn.Linear(d_model, d_ff), nn.Linear(d_ff, d_model)
        self.norm1, self.norm2 = nn.LayerNorm(d_model), nn.LayerNorm(d_model)
        self.dropout, self.dropout1, self.dropout2 = nn.Dropout(dropout), nn.Dropout(dropout), nn.Dropout(dropout)

    def feed_forward(self, x: Tensor) -> Tensor:
        """The position-wise feed-forward network, max(0, x W_1 + b_1) W_2 + b_2."""
        return self.linear2(self.dropout(torch.relu(self.linear1(x))))

    def residuals(self, x: Tensor, attend) -> Tensor:
        """The block around a self-attention function attend(h) → (B, L, d_model)."""
        if self.norm_first:
            x = x + self.dropout1(attend(self.norm1(x)))
            return x + self.dropout2(self.feed_forward(self.norm2(x)))
        x = self.norm1(x + self.dropout1(attend(x)))
        return self.norm2(x + self.dropout2(self.feed_forward(x)))

    def forward(self, x: Tensor, mask: Tensor | None = None, causal: bool = False) -> Tensor:
        """Self-attention, then the feed-forward network, each as a residual with layer
        normalisation."""
        return self.residuals(x, lambda h: self.self_attn(h, h, h, mask=mask, causal=causal)[0])


def load_from_torch(block: TransformerBlock, layer: nn.TransformerEncoderLayer) -> None:
    """Copy the weights of a torch.nn.TransformerEncoderLayer into a block, so the tests can compare
    the two."""
    assert layer.norm_first == block.norm_first and layer.activation_relu_or_gelu == 1, "relu only"
    load_attention_from_torch(block.self_attn, layer.self_attn)
    for name in ["linear1", "linear2", "norm1", "norm2"]:
        getattr(block, name).load_state_dict(getattr(layer, name).state_dict())


@dataclass
class KVCache:
    """Keys and values of the positions seen so far, (B, h, t, d_head) each."""
    keys: Tensor | None = None
    values: Tensor | None = None

    def append(self, k: Tensor, v: Tensor) -> tuple[Tensor, Tensor]:
        """Add one step's keys and values to the cache and return all of them so far."""
        self.keys = k if self.keys is None else torch.cat([self.keys, k], dim=-2)
        self.values = v if self.values is None else torch.cat([self.values, v], dim=-2)
        return self.keys, self.values

    def __len__(self) -> int:
        return 0 if self.keys is None else self.keys.shape[-2]

    def nbytes(self) -> int:
        """Bytes the cache holds: what grouped-query and multi-query attention shrink."""
        return 0 if self.keys is None else self.keys.nbytes + self.values.nbytes


def decode_step(block: TransformerBlock, x_t: Tensor, cache: KVCache) -> Tensor:
    """One new position x_t (B, 1, d_model) of a causal block → its output (B, 1, d_model)."""
    attention = block.self_attn

    def attend(h):                                                     # h: the new position only
        q = attention.split_heads(attention.q_proj(h))
        k, v = cache.append(attention.split_heads(attention.k_proj(h)), attention.split_heads(attention.v_proj(h)))
        heads, _ = scaled_dot_product_attention(q, k, v)                # sees positions 0..t: causal
        return attention.out_proj(attention.merge_heads(heads))

    return block.residuals(x_t, attend)


def demo(device: torch.device | str = "cpu", seed: int = 0) -> dict:
    """Check the block against torch's encoder layer, then decode 12 positions with the cache
    and compare with one full causal pass; print the cache and the work per step."""
    torch.manual_seed(seed)
    d_model, H, d_ff, L = 32, 4, 64, 12
    block = TransformerBlock(d_model, H, d_ff).to(device).eval()
    layer = nn.TransformerEncoderLayer(d_model, H, d_ff, dropout=0.0, batch_first=True).to(device)
    load_from_torch(block, layer)
    x = torch.randn(2, L, d_model, device=device) + sinusoidal_positions(L, d_model, device)
    with torch.no_grad():
        full = block(x, causal=True)
        error_torch = (full - layer(x, src_mask=nn.Transformer.generate_square_subsequent_mask(L, device))).abs().max().item()
        cache, steps, rows = KVCache(), [], []
        for t in range(L):
            steps.append(decode_step(block, x[:, t:t + 1], cache))
            # per step, per head: scores with cache t + 1; recomputing the prefix, (t + 1)² / 2 on average
            rows.append((t, len(cache), cache.nbytes(), t + 1, (t + 1) * (t + 2) // 2))
    error_cache = (torch.cat(steps, dim=1) - full).abs().max().item()
    print(f"block (d_model {d_model}, {H} heads, d_ff {d_ff}, post-norm) vs nn.TransformerEncoderLayer:"
          f" max diff {error_torch:.1e} (tolerance 1e-5)")
    print("step t  cached positions  cache bytes  q·k scores per head  the same, prefix recomputed")
    for t, n, nbytes, new, recompute in rows:
        if t in (0, 1, 2, 5, L - 1):
            print(f"{t:>6}  {n:>16}  {nbytes:>11}  {new:>19}  {recompute:>27}")
    print(f"cache bytes = 2 (k and v) × 2 examples × {H} heads × positions × {d_model // H} × 4 (float32);")
    print("recomputing the prefix would also re-project all t + 1 positions at every step")
    print(f"max |cached decoding - full causal pass| = {error_cache:.1e} (tolerance 1e-5)")
    return {"error_torch": error_torch, "error_cache": error_cache, "cache_bytes": [r[2] for r in rows],
            "positions": sinusoidal_positions(64, d_model).cpu()}


if __name__ == "__main__":
    from runnable._cli import device_from_args

    demo(device_from_args(__doc__.splitlines()[0]))
