"""Differential attention (Ye et al. 2024, Differential Transformer; arXiv:2410.05258).

A softmax gives every key some weight, so a query that should look at one token also spreads a
little attention over all the others: "attention noise". Differential attention computes two
softmax maps from two halves of the query and key projections and subtracts one from the other,
so that weight both maps put in the same place cancels, as a differential amplifier cancels noise
common to its two inputs:

    [Q_1; Q_2] = X W^Q,   [K_1; K_2] = X W^K,   V = X W^V          (Q_i, K_i: d wide; V: 2d wide)
    DiffAttn(X) = (softmax(Q_1 K_1ᵀ / √d) − λ softmax(Q_2 K_2ᵀ / √d)) V

The scalar λ is learned, re-parameterised through four vectors λ_q1, λ_k1, λ_q2, λ_k2 ∈ ℝ^d
(shared by the heads of a layer) so that it starts near a chosen value:

    λ = exp(λ_q1 · λ_k1) − exp(λ_q2 · λ_k2) + λ_init,    λ_init = 0.8 − 0.6·exp(−0.3·(l − 1))

for layer l = 1, 2, …: 0.2 in the first layer, rising towards 0.8 in deep ones. Each head's
output is normalised on its own (RMSNorm over its 2d features, the paper's GroupNorm of the heads)
and scaled by (1 − λ_init), which brings the gradient flow back to that of ordinary attention:

    head_i = (1 − λ_init) · RMSNorm(DiffAttn_i(X)),    MultiHead(X) = [head_1; …; head_h] W^O

The number of heads is halved against a Transformer of the same width (h = d_model / 2d), so the
two maps cost about what the Transformer's attention costs. A difference of two maps is no longer
a probability distribution: a row sums to 1 − λ, and entries may be negative.

Differences from the paper:
- No rotary embeddings on the queries and keys (the paper's models use them; they act on Q and K
  before the maps and change nothing in the subtraction).
- The RMSNorm has a learned per-feature weight initialised to one and ε = 1e-5, as in the authors'
  released code; no FlashAttention kernel: the two maps are formed explicitly.

Shapes: B batch, L queries, S keys, H heads, d the width of Q_1, K_1 (and of Q_2, K_2); values are
2d wide. q1, k1, q2, k2 (B, H, L or S, d), v (B, H, S, 2d) → (B, H, L, 2d). The module:
x (B, L, d_model) → (B, L, d_model).
"""
from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from runnable.scaled_dot_product_attention import scaled_dot_product_attention


def lambda_init(layer: int) -> float:
    """λ_init = 0.8 − 0.6·exp(−0.3·(l − 1)), for layer l counted from 1."""
    return 0.8 - 0.6 * math.exp(-0.3 * (layer - 1))


def differential_attention(q1: Tensor, k1: Tensor, q2: Tensor, k2: Tensor, v: Tensor, lam: Tensor | float,
                           causal: bool = False) -> tuple[Tensor, Tensor]:
    """(softmax(Q_1 K_1ᵀ/√d) − λ softmax(Q_2 K_2ᵀ/√d)) V. Returns (output, the differential map)."""
    _, first = scaled_dot_product_attention(q1, k1, v, causal=causal)      # (B, H, L, S)
    _, second = scaled_dot_product_attention(q2, k2, v, causal=causal)
    difference = first - lam * second
    return difference @ v, difference


class DifferentialAttention(nn.Module):
    """Multi-head differential self-attention for layer `layer` (1-based) of a model."""

    def __init__(self, d_model: int, num_heads: int, layer: int = 1):
        super().__init__()
        assert d_model % (2 * num_heads) == 0, "each head has two d-wide query halves: d_model = 2·H·d"
        self.num_heads, self.d = num_heads, d_model // num_heads // 2
        self.lambda_init = lambda_init(layer)
        self.q_proj = nn.Linear(d_model, d_model, bias=False)   # [Q_1; Q_2] of every head
        self.k_proj = nn.Linear(d_model, d_model, bias=False)
        self.v_proj = nn.Linear(d_model, d_model, bias=False)   # V, 2d per head
        self.out_proj = nn.Linear(d_model, d_model, bias=False)
        # λ_q1, λ_k1, λ_q2, λ_k2, small random vectors (the released code draws them from N(0, 0.1²))
        self.lambda_vectors = nn.Parameter(0.1 * torch.randn(4, self.d))
        self.norm = nn.RMSNorm(2 * self.d, eps=1e-5)

    def lam(self) -> Tensor:
        """λ = exp(λ_q1 · λ_k1) − exp(λ_q2 · λ_k2) + λ_init."""
        q1, k1, q2, k2 = self.lambda_vectors
        return torch.exp(q1 @ k1) - torch.exp(q2 @ k2) + self.lambda_init

    def forward(self, x: Tensor, causal: bool = False) -> tuple[Tensor, Tensor]:
        """Returns (output (B, L, d_model), each head's differential map (B, H, L, L))."""
        B, L, d_model = x.shape
        # head i's query is [Q_1; Q_2]: 2d features, split in two halves    (B, H, L, 2, d)
        q = self.q_proj(x).view(B, L, self.num_heads, 2, self.d).transpose(1, 2)
        k = self.k_proj(x).view(B, L, self.num_heads, 2, self.d).transpose(1, 2)
        v = self.v_proj(x).view(B, L, self.num_heads, 2 * self.d).transpose(1, 2)
        output, difference = differential_attention(q[..., 0, :], k[..., 0, :], q[..., 1, :], k[..., 1, :], v,
                                                    self.lam(), causal)
        # head_i = (1 − λ_init) · RMSNorm(DiffAttn_i), each head normalised over its own 2d features
        heads = (1 - self.lambda_init) * self.norm(output)
        return self.out_proj(heads.transpose(1, 2).reshape(B, L, d_model)), difference


def demo(device: torch.device | str = "cpu", seed: int = 0) -> dict:
    """λ_init by layer; a hand-made query whose two maps share the same distractor scores (the
    subtraction removes most of their weight); then the module against two calls of torch's SDPA."""
    print("λ_init by layer l: " + "  ".join(f"{l}: {lambda_init(l):.3f}" for l in (1, 2, 4, 8, 16, 32)))
    generator = torch.Generator().manual_seed(seed)
    S, needle = 16, 11
    noise = torch.randn(S, generator=generator, dtype=torch.float64)      # distractor scores, common to both maps
    signal = torch.zeros(S, dtype=torch.float64)
    signal[needle] = 1.5
    # one query against S keys, d = 2: the first feature carries the common scores, the second the needle;
    # the second map's query reads only the common feature (the factor √2 undoes the 1/√d)
    k = torch.stack([noise, signal], dim=-1).to(device)[None, None]      # (1, 1, S, 2)
    q1 = torch.tensor([[[[2 ** 0.5, 2 ** 0.5]]]], dtype=torch.float64, device=device)
    q2 = torch.tensor([[[[2 ** 0.5, 0.0]]]], dtype=torch.float64, device=device)
    v = torch.eye(S, dtype=torch.float64, device=device)[None, None]       # value j = one-hot j: output = the map
    _, first = differential_attention(q1, k, q2, k, v, 0.0)
    _, second = differential_attention(q2, k, q1, k, v, 0.0)
    # both maps give distractor j a weight ∝ exp(noise_j), the first map's normalised by a larger sum
    # (it includes the needle's boost): λ = the ratio of the two weights cancels every distractor exactly
    cancelling = (first[0, 0, 0, 0] / second[0, 0, 0, 0]).item()
    maps = {}
    for lam in (0.0, 0.5 * cancelling, cancelling):
        output, _ = differential_attention(q1, k, q2, k, v, lam)
        maps[lam] = output[0, 0, 0].cpu()
    print(f"one query, {S} keys, the needle at key {needle}, the same distractor scores in both maps:")
    for lam, weights in maps.items():
        others = torch.cat([weights[:needle], weights[needle + 1:]])
        print(f"  λ = {lam:.3f}: weight on the needle {weights[needle]:.3f}, |weight| on the other keys "
              f"{others.abs().sum():.3f}, row sum {weights.sum():.3f} (= 1 − λ)")

    torch.manual_seed(seed)
    model = DifferentialAttention(d_model=32, num_heads=2, layer=3).to(device, torch.float64)
    x = torch.randn(2, 9, 32, device=device, dtype=torch.float64)
    with torch.no_grad():
        output, _ = model(x, causal=True)
        q = model.q_proj(x).view(2, 9, 2, 2, 8).transpose(1, 2)
        k = model.k_proj(x).view(2, 9, 2, 2, 8).transpose(1, 2)
        v = model.v_proj(x).view(2, 9, 2, 16).transpose(1, 2)
        sdpa = torch.nn.functional.scaled_dot_product_attention
        # the map difference times V is the difference of two attention outputs over the same V
        first, second = (sdpa(q[..., half, :], k[..., half, :], v, is_causal=True) for half in (0, 1))
        heads = first - model.lam() * second
        reference = model.out_proj(((1 - model.lambda_init) * model.norm(heads)).transpose(1, 2).reshape(2, 9, 32))
    error = (output - reference).abs().max().item()
    print(f"module (layer 3, λ = {model.lam().item():.3f}) vs two torch SDPA calls, float64: "
          f"max |difference| {error:.1e} (tolerance 1e-12)")
    return {"maps": maps, "needle": needle, "cancelling_lambda": cancelling, "error": error}


if __name__ == "__main__":
    from runnable._cli import device_from_args

    demo(device_from_args(__doc__.splitlines()[0]))
