"""Modern Hopfield retrieval (Ramsauer et al. 2020; bib: ramsauer2021hopfield) beside the classical binary Hopfield net (Hopfield 1982; bib: hopfield1982neural).

Classical net: N patterns ξ^μ ∈ {−1, +1}^d are stored in symmetric weights by the Hebbian
outer-product rule, and a state is updated one unit at a time (asynchronously):

    T = (1/d) Σ_μ ξ^μ ξ^μᵀ with T_ii = 0,      s_i ← sign(Σ_j T_ij s_j)     (kept if the sum is 0)

Each update can only lower the energy E = −½ sᵀ T s, so the state settles in a minimum near a
stored pattern, as long as there are not too many: recall breaks down at about 0.14 d patterns
(Hopfield's simulations found about 0.15 d). Here the state is ±1 per unit, Hopfield's 0/1
units relabelled, and an unknown entry of a cue may be 0.

Modern (continuous) net: with the patterns as the rows of X (N, d) and a state ξ, one update is

    ξ_new = Xᵀ softmax(β X ξ)

which is softmax attention with the state as the query, the patterns as keys and values and
scale β: SDPA(ξ, X, X, scale=β). Ramsauer et al. show it minimises their log-sum-exp energy, can
store exponentially many patterns in d, and retrieves a well-separated pattern in one update.

`hopfield_update` is the modern update; `classical_hopfield_recall` runs sweeps of asynchronous sign
updates with the Hebbian weights.

Differences from the paper:
- Units are ±1 (Hopfield's 0/1 units relabelled), and an unknown entry of a cue may be 0.
- The modern network is only its update rule; the Hopfield layers, pooling and the experiments of
  Ramsauer et al. are not reproduced.

Shapes: state (..., d); patterns (..., N, d), batch dimensions broadcast, so states (..., L, d)
against patterns (..., 1, N, d) update L queries at once.
"""
from __future__ import annotations

import torch


def hopfield_update(state, patterns, beta):
    """ξ_new = Xᵀ softmax(β X ξ)."""
    scores = (patterns @ state[..., :, None])[..., 0]                    # X ξ  (..., N)
    weights = torch.softmax(beta * scores, dim=-1)
    return (weights[..., None, :] @ patterns)[..., 0, :]                  # Xᵀ p  (..., d)


def hebbian_weights(patterns):
    """T = (1/d) Σ_μ ξ^μ ξ^μᵀ with a zero diagonal, (..., d, d)."""
    d = patterns.shape[-1]
    T = patterns.transpose(-1, -2) @ patterns / d
    return T - torch.diag_embed(torch.diagonal(T, dim1=-2, dim2=-1))


def energy(state, weights):
    """E = −½ sᵀ T s."""
    return -0.5 * (state[..., None, :] @ weights @ state[..., :, None])[..., 0, 0]


def classical_hopfield_recall(state, patterns, steps: int = 5):
    """`steps` sweeps of asynchronous sign updates, units in order 0..d−1, with Hebbian weights."""
    T = hebbian_weights(patterns)
    s = state.clone()
    for _ in range(steps):
        for i in range(s.shape[-1]):
            field = (T[..., i, :] * s).sum(-1)                           # Σ_j T_ij s_j
            s[..., i] = torch.where(field == 0, s[..., i], torch.sign(field))
    return s


def mask_half(patterns, generator=None):
    """Cues: each pattern with a random half of its entries set to 0 (unknown)."""
    keep = torch.rand(patterns.shape, generator=generator).argsort(-1) < patterns.shape[-1] // 2
    return patterns * keep.to(patterns.device)


def demo(device: torch.device | str = "cpu", seed: int = 0) -> dict:
    generator = torch.Generator().manual_seed(seed)   # data drawn on the CPU: the same on every device
    rand_patterns = lambda *shape: (torch.randint(0, 2, shape, generator=generator) * 2 - 1).double().to(device)  # noqa: E731
    d, beta = 64, 0.5
    states, X = torch.randn(3, 7, d, generator=generator).double().to(device), rand_patterns(3, 20, d)
    sdpa = torch.nn.functional.scaled_dot_product_attention(states, X, X, scale=beta)
    sdpa_error = (hopfield_update(states, X[:, None], beta) - sdpa).abs().max().item()
    print(f"one update with states as queries vs SDPA(ξ, X, X, scale=β): max error {sdpa_error:.1e} (tolerance 1e-10)")
    print(f"d = {d} units, 64 cues = stored patterns with half their entries set to 0; "
          f"fraction recalled exactly (all {d} signs right):")
    print("     N   N/d    classical (5 sweeps)   modern (1 update, β = 0.5)")
    table = {}
    for N in [2, 4, 6, 8, 10, 12, 16, 24, 32, 64, 256, 1024]:
        # 64 cues for every N: one cue per pattern from 64/N independent memories, or 64 of N.
        X = rand_patterns(max(1, 64 // N), 1, N, d)
        chosen = X[:, 0, :64]
        cues = mask_half(chosen, generator)
        classical = classical_hopfield_recall(cues, X, steps=5)
        modern = hopfield_update(cues, X, beta)
        table[N] = {"classical": (classical == chosen).all(-1).double().mean().item(),
                    "modern": (torch.sign(modern) == chosen).all(-1).double().mean().item(),
                    "modern_error": (modern - chosen).abs().max().item()}
        print(f"  {N:>4}  {N / d:5.2f}    {table[N]['classical']:8.2f}               {table[N]['modern']:8.2f}"
              f"   (max |ξ_new − ξ| {table[N]['modern_error']:.1e})")
    return {"d": d, "beta": beta, "table": table, "sdpa_error": sdpa_error}


if __name__ == "__main__":
    from runnable._cli import device_from_args

    demo(device_from_args(__doc__.splitlines()[0]))
