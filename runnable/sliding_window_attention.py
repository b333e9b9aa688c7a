"""Sliding-window attention with a rolling KV cache (Longformer's local window, Beltagy et al. 2020,
bib: beltagy2020longformer; Mistral 7B's sliding-window attention, Jiang et al. 2023).

Full causal attention lets query i read every key j ≤ i, so generating the t-th token reads a
cache of t keys and values, and the cache grows without end. A sliding window of W tokens lets
query i read only the last W positions,

    o_i = Σ_{i−W < j ≤ i} softmax_j(q_i · k_j / √d) v_j,

a band of width W under the diagonal (Longformer's local attention, one-sided as in a decoder).
Information from further back still arrives, one window per layer: after ℓ layers, position i
depends on positions up to ℓ·(W − 1) back.

With the band, a generator never needs more than the last W keys and values: the rolling
(circular) cache of Mistral 7B keeps W slots and writes the key and value of position t into slot
t mod W, overwriting position t − W, the one that just left the window. Softmax attention sums over
its keys in any order, so the slots need no reordering, provided positions were already applied to
the keys (RoPE rotates them before they are cached). The cache's memory is fixed at W positions
however long the stream.

Differences from the paper:
- Longformer also gives chosen tokens global attention and uses dilated windows in some heads;
  only the one-sided local window is here (and a two-sided one for encoders, `causal=False`).
- Mistral 7B also fills the cache from a long prompt in chunks of W; here the prompt is either
  attended all at once with the band mask or fed one token at a time.

Shapes: B batch, H heads, L positions, d features per head, W the window. q, k, v (B, H, L, d) →
output (B, H, L, d); the cache holds keys and values (B, H, W, d).
"""
from __future__ import annotations

import math

import torch
from torch import Tensor


def window_mask(L_q: int, L_k: int, window: int, causal: bool = True, device=None) -> Tensor:
    """(L_q, L_k) bool, True where query i may read key j: i − W < j ≤ i (causal), or |i − j| ≤ W // 2
    (two-sided, Longformer's encoder window). Query r is position L_k − L_q + r."""
    i = torch.arange(L_k - L_q, L_k, device=device)[:, None]
    j = torch.arange(L_k, device=device)[None, :]
    if causal:
        return (j <= i) & (j > i - window)
    return (j - i).abs() <= window // 2


def sliding_window_attention(q: Tensor, k: Tensor, v: Tensor, window: int, causal: bool = True) -> Tensor:
    """softmax(q kᵀ/√d, masked outside the band) v, building the whole (L_q, L_k) score matrix."""
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])           # (B, H, L_q, L_k)
    allowed = window_mask(q.shape[-2], k.shape[-2], window, causal, q.device)
    return torch.softmax(scores.masked_fill(~allowed, float("-inf")), dim=-1) @ v


class RollingKVCache:
    """W slots of keys and values; position t lives in slot t mod W until position t + W replaces it."""

    def __init__(self, window: int, batch: int, heads: int, d: int, d_v: int | None = None,
                 dtype=torch.float32, device=None):
        self.window, self.seen = window, 0
        self.keys = torch.zeros(batch, heads, window, d, dtype=dtype, device=device)
        self.values = torch.zeros(batch, heads, window, d if d_v is None else d_v, dtype=dtype, device=device)

    def append(self, k: Tensor, v: Tensor) -> None:
        """Write one position's key and value (B, H, 1, d) over the oldest slot."""
        slot = self.seen % self.window
        self.keys[:, :, slot:slot + 1] = k
        self.values[:, :, slot:slot + 1] = v
        self.seen += 1

    def attend(self, q: Tensor) -> Tensor:
        """One query (B, H, 1, d) against the filled slots, in slot order (the order does not matter)."""
        filled = min(self.seen, self.window)
        k, v = self.keys[:, :, :filled], self.values[:, :, :filled]
        weights = torch.softmax(q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1]), dim=-1)   # (B, H, 1, filled)
        return weights @ v

    def nbytes(self) -> int:
        return self.keys.nbytes + self.values.nbytes


def decode_with_rolling_cache(q: Tensor, k: Tensor, v: Tensor, window: int) -> tuple[Tensor, list[int]]:
    """Feed the positions one at a time, as a generator would: append k_t, v_t, attend with q_t.
    Returns the outputs (B, H, L, d_v) and the cache's size in bytes after each step."""
    B, H, L, d = q.shape
    cache = RollingKVCache(window, B, H, d, v.shape[-1], q.dtype, q.device)
    outputs, sizes = [], []
    for t in range(L):
        cache.append(k[:, :, t:t + 1], v[:, :, t:t + 1])
        outputs.append(cache.attend(q[:, :, t:t + 1]))
        sizes.append(cache.nbytes())
    return torch.cat(outputs, dim=2), sizes


def receptive_field(layers: int, window: int) -> int:
    """How far back the last of `layers` stacked windowed layers can see: ℓ·(W − 1) positions."""
    return layers * (window - 1)


def demo(device: torch.device | str = "cpu", seed: int = 0) -> dict:
    """The band mask; step-by-step decoding with the rolling cache against the band mask and
    against torch's SDPA; the cache's size along the way."""
    print("window 4, 8 positions (1 = may attend):")
    print(window_mask(8, 8, 4).int())
    torch.manual_seed(seed)
    B, H, L, d, W = 2, 4, 64, 16, 8
    q, k, v = torch.randn(3, B, H, L, d, device=device).unbind(0)
    decoded, sizes = decode_with_rolling_cache(q, k, v, W)
    errors = {
        "rolling cache vs band mask": (decoded - sliding_window_attention(q, k, v, W)).abs().max().item(),
        "rolling cache vs torch SDPA, band attn_mask": (decoded - torch.nn.functional.scaled_dot_product_attention(
            q, k, v, attn_mask=window_mask(L, L, W, device=device))).abs().max().item(),
    }
    print(f"{L} positions, window {W}, float32, tolerance 1e-5:")
    for name, error in errors.items():
        print(f"  max |{name}| = {error:.1e}")
    print(f"cache bytes after steps 1, {W}, {L}: {sizes[0]}, {sizes[W - 1]}, {sizes[-1]} (a growing cache at step {L}: "
          f"{2 * B * H * L * d * 4})")
    return {"errors": errors, "sizes": sizes}


if __name__ == "__main__":
    from runnable._cli import device_from_args

    demo(device_from_args(__doc__.splitlines()[0]))
