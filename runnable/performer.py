"""Performer attention with FAVOR+ positive random features (Choromanski et al.; bib: choromanski2021rethinking).

The softmax kernel is an expectation over Gaussian vectors w ~ N(0, I_d):

    exp(xᵀy) = E_w[ exp(wᵀx − ‖x‖²/2) · exp(wᵀy − ‖y‖²/2) ],

so with m draws w_1..w_m stacked as the rows of W (m × d), the positive features

    φ(x) = exp(W x − ‖x‖²/2) / √m        (m numbers, all > 0)

give an unbiased estimate exp(qᵀk) ≈ φ(q)ᵀφ(k). Replacing every exp(q_iᵀk_j) by this estimate,
softmax attention becomes

    o_i = φ(q_i)ᵀ Σ_j φ(k_j) v_jᵀ / φ(q_i)ᵀ Σ_j φ(k_j),

and the two sums over j are computed once for all queries: O(L m d) time instead of O(L² d).
For causal attention the sums run over j ≤ i, a prefix sum. Drawing the w's in blocks of d
exactly orthogonal directions, each with the length of a Gaussian vector, keeps every w_i
N(0, I) (so the estimate stays unbiased) and lowers its variance. Unlike sine/cosine random
features, these estimates are never negative, so the normaliser cannot vanish or change sign.

How good is one feature? Z = exp(wᵀ(x + y) − ‖x‖²/2 − ‖y‖²/2) has E[Z] = exp(xᵀy) and
E[Z²] = exp(2‖x + y‖² − ‖x‖² − ‖y‖²), so its relative variance is exp(‖x + y‖²) − 1, and with m
iid features (exp(‖x + y‖²) − 1)/m. The error falls like 1/√m, but from a level that grows
exponentially with the norms of queries and keys.

The kernel here is exp(qᵀk); to estimate softmax(QKᵀ/√d) pass q and k scaled by d^(-1/4).
Differences from the paper:
- The kernel is exp(qᵀk): to estimate softmax(QKᵀ/√d) the caller scales q and k by d^(-1/4).
- The random features (orthogonal within blocks) are drawn once by the caller and not redrawn during
  training, as the paper does; its generalised kernels such as ReLU features are left out.

Shapes: q (..., L_q, d), k (..., L_k, d), v (..., L_k, d_v), projection W (m, d).
"""
from __future__ import annotations

import torch


def random_projection(num_features, dim, orthogonal=True, generator=None, device=None, dtype=torch.float32):
    """W (num_features, dim) with rows w_i ~ N(0, I_dim); orthogonal: rows orthogonal within each block of dim."""
    device = device if device is not None else (generator.device if generator is not None else "cpu")
    gaussian = lambda *shape: torch.randn(*shape, generator=generator, device=device, dtype=dtype)
    if not orthogonal:
        return gaussian(num_features, dim)
    # ceil(m / d) independent blocks of d orthonormal directions, from the QR of Gaussian matrices.
    Q, R = torch.linalg.qr(gaussian(-(-num_features // dim), dim, dim))
    Q = Q * torch.sign(torch.diagonal(R, dim1=-2, dim2=-1))[..., None, :]  # sign fix: Q is then Haar-distributed
    directions = Q.transpose(-2, -1).reshape(-1, dim)[:num_features]  # the rows of each Qᵀ
    lengths = gaussian(num_features, dim).norm(dim=-1, keepdim=True)  # ‖N(0, I)‖: chi with dim degrees
    return directions * lengths


def favor_features(x, projection):
    """φ(x) = exp(W x − ‖x‖²/2) / √m: (..., d) → (..., m), every entry positive. W is (m, d), or a
    batch (..., m, d) of independent draws that broadcasts against x's leading dimensions."""
    m = projection.shape[-2]
    return torch.exp(x @ projection.transpose(-2, -1) - x.square().sum(-1, keepdim=True) / 2) / m ** 0.5


def trig_features(x, projection):
    """The classical sine/cosine features for comparison: exp(‖x‖²/2)/√m [sin(W x), cos(W x)],
    unbiased for exp(xᵀy) = exp(‖x‖²/2) exp(‖y‖²/2) E[cos(wᵀ(x − y))], but of either sign."""
    wx = x @ projection.transpose(-2, -1)
    scale = torch.exp(x.square().sum(-1, keepdim=True) / 2) / projection.shape[-2] ** 0.5
    return scale * torch.cat([torch.sin(wx), torch.cos(wx)], -1)


def performer_attention(q, k, v, projection, causal=False):
    """Linear-time estimate of softmax attention with kernel exp(qᵀk)."""
    phi_q, phi_k = favor_features(q, projection), favor_features(k, projection)
    if not causal:
        kv = phi_k.transpose(-2, -1) @ v                # Σ_j φ(k_j) v_jᵀ   (..., m, d_v)
        normaliser = phi_q @ phi_k.sum(-2)[..., None]   # φ(q_i)ᵀ Σ_j φ(k_j) (..., L_q, 1)
        return (phi_q @ kv) / normaliser
    # Causal (self-attention, L_q = L_k): prefix sums over j ≤ i. Holding every prefix costs
    # O(L m d_v) memory; a scan that keeps only the running sum would need O(m d_v).
    kv = torch.cumsum(phi_k[..., :, None] * v[..., None, :], dim=-3)  # (..., L, m, d_v)
    normaliser = (phi_q * torch.cumsum(phi_k, dim=-2)).sum(-1, keepdim=True)
    return (phi_q[..., None, :] @ kv).squeeze(-2) / normaliser


def naive_performer_attention(q, k, v, projection, causal=False):
    """The same estimate in quadratic form: the L_q × L_k matrix φ(q_i)ᵀφ(k_j), masked and normalised."""
    A = favor_features(q, projection) @ favor_features(k, projection).transpose(-2, -1)
    if causal:
        A = A.tril()
    return (A / A.sum(-1, keepdim=True)) @ v


def demo(device: torch.device | str = "cpu", seed: int = 0) -> dict:
    """The kernel estimate for one pair of vectors (mean and variance against the closed forms),
    then Performer against exact softmax attention (torch SDPA) as m grows, for two norms."""
    torch.manual_seed(seed)
    generator = torch.Generator(device=device).manual_seed(seed)
    d, L, m, n = 16, 64, 16, 5000
    x, y = torch.randn(2, d, device=device, dtype=torch.float64).unbind()
    x, y = x / x.norm(), 0.8 * y / y.norm()             # ‖x‖ = 1, ‖y‖ = 0.8
    kernel, theory = torch.exp(x @ y).item(), (torch.exp((x + y).square().sum()) - 1).item() * torch.exp(2 * x @ y).item() / m
    print(f"exp(xᵀy) = {kernel:.4f}; {n} independent estimates with m = {m} features (d = {d}):")
    stats = {}
    for kind in ["iid", "orthogonal"]:
        # n independent draws at once: m = d, so each draw is one whole orthogonal block.
        W = random_projection(n * m, d, kind == "orthogonal", generator, dtype=torch.float64).reshape(n, m, d)
        phi = favor_features(torch.stack([x, y]), W)    # (n, 2, m)
        estimates = (phi[:, 0] * phi[:, 1]).sum(-1)
        stats[kind] = estimates.mean().item(), estimates.var().item(), estimates.min().item()
        print(f"  {kind:>10}: mean {stats[kind][0]:.4f} ± {(stats[kind][1] / n) ** 0.5:.4f}, variance {stats[kind][1]:.4f} "
              f"(iid closed form {theory:.4f}), smallest {stats[kind][2]:.4f} > 0")
    features, errors, baselines = [4, 16, 64, 256, 1024, 4096], {}, {}
    print(f"mean |performer - softmax attention| (torch SDPA), L = {L}, orthogonal features, 8 draws:")
    for sigma in [0.5, 1.0]:                            # entries of q and k ~ N(0, σ²)
        q, k, v = torch.randn(3, 4, L, d, device=device).unbind()
        q, k = sigma * q, sigma * k
        exact = torch.nn.functional.scaled_dot_product_attention(q, k, v)
        q, k = q / d ** 0.25, k / d ** 0.25             # exp(qᵀk/√d) = exp((q/d^¼)ᵀ(k/d^¼))
        errors[sigma] = [sum((performer_attention(q, k, v, random_projection(m, d, generator=generator)) - exact)
                             .abs().mean().item() for _ in range(8)) / 8 for m in features]
        baselines[sigma] = (v.mean(-2, keepdim=True) - exact).abs().mean().item()
        print(f"  σ = {sigma}: " + "  ".join(f"m={m}: {e:.4f}" for m, e in zip(features, errors[sigma]))
              + f"   (ignoring the queries, uniform weights: {baselines[sigma]:.4f})")
    W = random_projection(32, d, generator=generator)
    gap = (performer_attention(q, k, v, W, causal=True) - naive_performer_attention(q, k, v, W, causal=True)).abs().max().item()
    print(f"causal prefix sums vs the masked quadratic form, same features: max difference {gap:.1e} (tolerance 1e-5)")
    return {"kernel": kernel, "variance_closed_form": theory, "stats": stats, "features": features,
            "errors": errors, "uniform_baseline": baselines, "causal_gap": gap}


if __name__ == "__main__":
    from runnable._cli import device_from_args

    demo(device_from_args(__doc__.splitlines()[0]))
