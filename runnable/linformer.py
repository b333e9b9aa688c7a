"""Linformer: attention over a sequence projected to fixed length k (Wang et al.; bib: wang2020linformer).

Softmax attention mixes the n values with an n × n matrix P = softmax(Q Kᵀ/√d). Linformer
shortens the sequence axis of the keys and values before attending: with projections
E, F ∈ R^{k×n} (learned, one pair per layer here, shared by the heads),

    K̄ = E K      (k × d: k "summary keys", each a weighted sum over all n positions)
    V̄ = F V      (k × d_v)
    P̄ = softmax(Q K̄ᵀ / √d)       (n × k)
    output = P̄ V̄                  (n × d_v)

so scores, weights and work are O(n k) instead of O(n²). The output is P̄F V: the n × n mixing
matrix P is replaced by P̄F, of rank at most k. The bet, which the paper supports with the
spectra of trained models and a Johnson–Lindenstrauss argument, is that P is close to low rank,
so little is lost. With k = n and E = F = I it is ordinary softmax attention. Because E and F
mix all positions and have a fixed width n, this form suits encoders of a set length, not
causal decoding (the future would leak into every summary key).

Differences from the paper:
- One E, F pair per layer, shared by the heads (one of the paper's sharing options); the paper also
  studies per-head projections and other choices of k per layer.
- The demo's E = F are fixed segment means to show the low-rank bet; the paper learns them.

Shapes: q (..., L, d), k (..., n, d), v (..., n, d_v), E and F (k, n) → output (..., L, d_v),
weights (..., L, k). The module takes x (B, n, d_model).
"""
from __future__ import annotations

import math

import torch
from torch import nn


def linformer_attention(q, k, v, E, F):
    """softmax(Q (E K)ᵀ / √d) (F V); returns the output and the L × k weights."""
    keys, values = E @ k, F @ v                         # project along the sequence axis: (..., k, d)
    weights = torch.softmax(q @ keys.transpose(-2, -1) / math.sqrt(q.shape[-1]), dim=-1)
    return weights @ values, weights


def segment_means(k, n, device=None, dtype=torch.float32):
    """A fixed (untrained) projection: row r averages positions [r n/k, (r+1) n/k). k must divide n."""
    assert n % k == 0, (n, k)
    return torch.eye(k, device=device, dtype=dtype).repeat_interleave(n // k, dim=1) / (n // k)


class LinformerSelfAttention(nn.Module):
    """Multi-head self-attention with learned sequence projections E, F shared across the heads."""

    def __init__(self, d_model: int, heads: int, seq_len: int, k: int):
        super().__init__()
        assert d_model % heads == 0
        self.heads = heads
        self.W_q, self.W_k, self.W_v, self.W_o = (nn.Linear(d_model, d_model) for _ in range(4))
        # Entries N(0, 1/k): a random Johnson–Lindenstrauss projection, which keeps lengths on
        # average, as the starting point for training.
        self.E = nn.Parameter(torch.randn(k, seq_len) / math.sqrt(k))
        self.F = nn.Parameter(torch.randn(k, seq_len) / math.sqrt(k))

    def forward(self, x):
        """x (B, n, d_model) → output (B, n, d_model), weights (B, heads, n, k)."""
        B, n, d_model = x.shape
        split = lambda t: t.view(B, n, self.heads, d_model // self.heads).transpose(1, 2)  # (B, h, n, d_head)
        out, weights = linformer_attention(split(self.W_q(x)), split(self.W_k(x)), split(self.W_v(x)), self.E, self.F)
        return self.W_o(out.transpose(1, 2).reshape(B, n, d_model)), weights


def smooth_sequence(n, d, frequencies=4, device=None, generator=None):
    """n tokens in R^d that change slowly with position: random mixtures of the lowest frequencies."""
    t = torch.arange(n, device=device) / n
    basis = torch.stack([torch.cos(2 * math.pi * f * t) for f in range(frequencies)]
                        + [torch.sin(2 * math.pi * f * t) for f in range(1, frequencies)], -1)
    x = basis @ torch.randn(basis.shape[-1], d, device=device, generator=generator)
    return x / x.std()


def demo(device: torch.device | str = "cpu", seed: int = 0) -> dict:
    """The spectrum of an (untrained) softmax attention matrix, and the error of Linformer with a
    fixed projection (segment means) against full attention as k grows, for two kinds of sequence."""
    torch.manual_seed(seed)
    n, d, ks = 256, 32, [4, 8, 16, 32, 64, 128, 256]
    q, k, v = torch.randn(3, n, d, device=device).unbind()
    identity = torch.eye(n, device=device)
    check = (linformer_attention(q, k, v, identity, identity)[0]
             - torch.nn.functional.scaled_dot_product_attention(q, k, v)).abs().max().item()
    print(f"k = n, E = F = I against torch SDPA: max difference {check:.1e} (tolerance 1e-5)")
    sequences = {"random tokens": (q, k, v), "smooth tokens": tuple(smooth_sequence(n, d, device=device) for _ in range(3))}
    results = {"k": ks, "identity_error": check, "spectrum": {}, "energy": {}, "errors": {}, "uniform": {}}
    for name, (q, k, v) in sequences.items():
        exact = torch.softmax(q @ k.T / math.sqrt(d), -1) @ v
        singular = torch.linalg.svdvals(torch.softmax(q @ k.T / math.sqrt(d), -1))
        energy = (singular ** 2).cumsum(0) / (singular ** 2).sum()   # share of ‖P‖²_F in the top r
        relative = lambda out: ((out - exact).norm() / exact.norm()).item()
        errors = [relative(linformer_attention(q, k, v, segment_means(r, n, device), segment_means(r, n, device))[0])
                  for r in ks]
        results["spectrum"][name], results["errors"][name] = singular.cpu(), errors
        results["energy"][name] = [energy[r - 1].item() for r in ks]
        results["uniform"][name] = relative(v.mean(0, keepdim=True).expand(n, d))
        print(f"{name}: singular values of P {singular[0]:.2f}, {singular[1]:.2f}, {singular[7]:.2f} (8th), "
              f"{singular[63]:.1e} (64th), {singular[-1]:.1e} (last)")
        print(f"  {'k':<32}" + "".join(f"{r:>7}" for r in ks))
        print(f"  {'share of ‖P‖² in the top k':<32}" + "".join(f"{e:>7.3f}" for e in results["energy"][name]))
        print(f"  {'relative error, E = F = means':<32}" + "".join(f"{e:>7.3f}" for e in errors)
              + f"   (uniform weights: {results['uniform'][name]:.3f})")
    return results


if __name__ == "__main__":
    from runnable._cli import device_from_args

    demo(device_from_args(__doc__.splitlines()[0]))
