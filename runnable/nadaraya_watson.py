"""Nadaraya–Watson kernel regression as attention (Nadaraya 1964; Watson 1964; bib: nadaraya1964estimating, watson1964smooth).

Given samples (x_i, y_i), the estimate at a point x is a kernel-weighted average of the y_i:

    m̂(x) = Σ_i K_h(x − x_i) y_i / Σ_j K_h(x − x_j)

with bandwidth h. Read as attention: x is a query, the x_i are keys, the y_i are values and
the normalised kernel is the attention distribution. Kernels here (their constants cancel):

    gaussian      K_h(u) = exp(−‖u‖² / (2h²))
    epanechnikov  K_h(u) = max(0, 1 − ‖u‖²/h²)
    box           K_h(u) = 1[‖u‖ ≤ h]

For the Gaussian the weights are softmax_i(−‖x − x_i‖² / (2h²)), and expanding the square,

    −‖q − k‖²/(2h²) = q·k / h² − ‖k‖²/(2h²) − ‖q‖²/(2h²),

where the last term is the same for every key and cancels in the softmax: Gaussian
Nadaraya–Watson is dot-product attention with scale 1/h² and a per-key bias −‖k‖²/(2h²).
With the compact kernels a query with no key within h gets 0/0 = NaN.

`as_scaled_dot_product` is the same Gaussian estimator computed by
`torch.nn.functional.scaled_dot_product_attention`.

Differences from the paper:
- None of substance: the estimator is computed as defined; the kernels' constants are dropped
  because they cancel in the ratio, and the bandwidths are set by hand.

Shapes: queries (..., L_q, d), keys (..., L_k, d), values (..., L_k, d_v) → (..., L_q, d_v).
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F

KERNELS = {  # K as a function of r = ‖u‖² / h²
    "epanechnikov": lambda r: (1 - r).clamp(min=0),
    "box": lambda r: (r <= 1).to(r.dtype),
}


def squared_distances(queries, keys):
    """‖q − k‖² for every pair, (..., L_q, L_k), from the differences (no cancellation)."""
    return (queries[..., :, None, :] - keys[..., None, :, :]).square().sum(-1)


def kernel_weights(queries, keys, bandwidth, kernel="gaussian"):
    """The attention distribution K_h(q − k_i) / Σ_j K_h(q − k_j), (..., L_q, L_k)."""
    r = squared_distances(queries, keys) / bandwidth ** 2
    if kernel == "gaussian":  # the softmax subtracts the max score, so tiny h does not underflow to 0/0
        return torch.softmax(-r / 2, dim=-1)
    k = KERNELS[kernel](r)
    return k / k.sum(-1, keepdim=True)


def nadaraya_watson(queries, keys, values, bandwidth, kernel="gaussian"):
    """m̂(q) = Σ_i w_i(q) y_i for every query."""
    return kernel_weights(queries, keys, bandwidth, kernel) @ values


def as_scaled_dot_product(queries, keys, values, bandwidth):
    """Gaussian Nadaraya–Watson through torch's attention: scale 1/h², bias −‖k‖²/(2h²)."""
    bias = -keys.square().sum(-1)[..., None, :] / (2 * bandwidth ** 2)       # (..., 1, L_k)
    return F.scaled_dot_product_attention(queries, keys, values, attn_mask=bias, scale=1 / bandwidth ** 2)


def naive_nadaraya_watson(queries, keys, values, bandwidth, kernel="gaussian"):
    """One query and one sample at a time, with the kernel written out (2-D inputs only)."""
    out = []
    for q in queries.tolist():
        num, den = [0.0] * values.shape[-1], 0.0
        for x, y in zip(keys.tolist(), values.tolist()):
            r = sum((a - b) ** 2 for a, b in zip(q, x)) / bandwidth ** 2
            w = {"gaussian": math.exp(-r / 2), "epanechnikov": max(0.0, 1 - r), "box": float(r <= 1)}[kernel]
            num, den = [n + w * v for n, v in zip(num, y)], den + w
        out.append([n / den for n in num])
    return torch.tensor(out, dtype=values.dtype, device=values.device)


def target_function(x):
    """The smooth function the demo's noisy samples come from."""
    return torch.sin(2 * math.pi * x) + 0.5 * torch.sin(6 * math.pi * x)


def demo(device: torch.device | str = "cpu", seed: int = 0) -> dict:
    """Regress a noisy 1-D function with several bandwidths; check the Gaussian estimator against
    the loop and against scaled_dot_product_attention."""
    torch.manual_seed(seed)  # data drawn on the CPU, so every device sees the same numbers
    x = torch.rand(200, 1, dtype=torch.float64)
    x, y = x.to(device), (target_function(x) + 0.3 * torch.randn_like(x)).to(device)
    grid = torch.linspace(0, 1, 101, device=device, dtype=torch.float64)[:, None]
    truth = target_function(grid)
    print("200 noisy samples of sin(2πx) + 0.5 sin(6πx) (noise σ = 0.3); RMSE on a grid of 101 points:")
    curves, errors = {}, {}
    for h in [0.003, 0.01, 0.03, 0.1, 0.3]:
        curves[h] = nadaraya_watson(grid, x, y, h)
        errors[h] = (curves[h] - truth).square().mean().sqrt().item()
        print(f"  h = {h:<5}  RMSE {errors[h]:.3f}")
    epan = nadaraya_watson(grid, x, y, 0.06, "epanechnikov")
    print(f"  epanechnikov kernel, h = 0.06: RMSE {(epan - truth).square().mean().sqrt().item():.3f}")
    # The equivalence, on random multi-dimensional data, in float64.
    q, k, v = (torch.randn(2, n, 3, dtype=torch.float64).to(device) for n in (5, 9, 9))
    sdpa_error = (nadaraya_watson(q, k, v, 0.8) - as_scaled_dot_product(q, k, v, 0.8)).abs().max().item()
    # h = 3 keeps some key within reach of every query for the compact kernels.
    loop_error = max((nadaraya_watson(q[0], k[0], v[0], 3.0, kern) - naive_nadaraya_watson(q[0], k[0], v[0], 3.0, kern))
                     .abs().max().item() for kern in ("gaussian", "epanechnikov", "box"))
    print(f"Gaussian Nadaraya–Watson vs scaled_dot_product_attention (scale 1/h², bias −‖k‖²/2h²): "
          f"max error {sdpa_error:.1e} (tolerance 1e-10, float64)")
    print(f"vectorised vs loop (all three kernels): max error {loop_error:.1e} (tolerance 1e-10)")
    return {"x": x.cpu(), "y": y.cpu(), "grid": grid.cpu(), "truth": truth.cpu(),
            "curves": {h: c.cpu() for h, c in curves.items()}, "rmse": errors,
            "sdpa_error": sdpa_error, "loop_error": loop_error}


if __name__ == "__main__":
    from runnable._cli import device_from_args

    demo(device_from_args(__doc__.splitlines()[0]))
