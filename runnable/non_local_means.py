"""Non-local means (Buades, Coll & Morel 2005; bib: buades2005nonlocal) and the non-local block (Wang et al. 2017; bib: wang2018nonlocal) as attention.

Non-local means restores pixel i of a noisy image v as an average over all pixels j, weighted by
how alike the patches around i and j are:

    NL[v](i) = Σ_j w(i, j) v(j),    w(i, j) = softmax_j(−‖v(N_i) − v(N_j)‖²_{2,a} / h²)

where v(N_i) is the (2p+1)×(2p+1) patch around i (reflected at the border) and ‖·‖²_{2,a} is
the squared distance weighted by a Gaussian of width a over the patch offsets (normalised here
to sum to one, so h is on the scale of a per-pixel difference). Query: the patch at i; keys: the
patches at every j; values: the pixels v(j). search_radius, if given, limits j to a square window.

The non-local block of Wang et al. learns the comparison. For features x (N, C, positions),
with θ, φ, g linear maps at each position (1×1 convolutions) and the "embedded Gaussian"
affinity,

    y_i = Σ_j softmax_j(θ(x_i)ᵀ φ(x_j)) g(x_j),      z_i = W_z y_i + x_i

which is scaled dot-product attention with scale 1 and a residual connection. (The paper also
puts batch normalisation after W_z, started at zero so the block begins as the identity; it is
left out here.)

`patch_features` scales each patch by the square root of the Gaussian weights, so a plain squared
distance between features is the weighted patch distance. The whole image is searched unless
`search_radius` is given; `naive_non_local_means` is the definition as a loop.

Differences from the paper:
- The weighted patch distance uses a Gaussian of width a over the patch offsets as in the paper, but
  the search window is the whole image unless search_radius is given (the paper's experiments
  restrict it).
- The paper's batch normalisation after W_z (started at zero) in the neural non-local block is left
  out.

Shapes: images (N, 1, H, W); non-local block input (N, C, *spatial), output the same.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


def patch_features(image, patch_radius: int, a: float):
    """(N, H·W, (2p+1)²): each pixel's patch, scaled by √(Gaussian weight) so that a plain squared
    distance between features is the weighted distance ‖·‖²_{2,a}."""
    k = 2 * patch_radius + 1
    padded = F.pad(image, [patch_radius] * 4, mode="reflect")
    patches = F.unfold(padded, k).transpose(1, 2)                              # (N, H·W, k²)
    offset = torch.arange(-patch_radius, patch_radius + 1, device=image.device, dtype=image.dtype)
    gauss = torch.exp(-(offset[:, None] ** 2 + offset[None, :] ** 2) / (2 * a ** 2)).reshape(-1)
    return patches * (gauss / gauss.sum()).sqrt()


def non_local_means_weights(image, h: float, patch_radius: int = 1, a: float = 1.0, search_radius: int | None = None):
    """w(i, j) for every pair of pixels, (N, H·W, H·W)."""
    P = patch_features(image, patch_radius, a)
    # ‖P_i − P_j‖² = ‖P_i‖² + ‖P_j‖² − 2 P_i·P_j; clamped because rounding can make it −1e-17.
    sq = P.square().sum(-1)
    distances = (sq[:, :, None] + sq[:, None, :] - 2 * P @ P.transpose(1, 2)).clamp(min=0)
    scores = -distances / h ** 2
    if search_radius is not None:
        H, W = image.shape[-2:]
        row, col = torch.arange(H * W, device=image.device) // W, torch.arange(H * W, device=image.device) % W
        far = ((row[:, None] - row[None, :]).abs() > search_radius) | ((col[:, None] - col[None, :]).abs() > search_radius)
        scores = scores.masked_fill(far, float("-inf"))
    return torch.softmax(scores, dim=-1)


def non_local_means(image, h: float, patch_radius: int = 1, a: float = 1.0, search_radius: int | None = None):
    """NL[v](i) = Σ_j w(i, j) v(j)."""
    w = non_local_means_weights(image, h, patch_radius, a, search_radius)
    return (w @ image.flatten(1)[:, :, None]).reshape(image.shape)


def naive_non_local_means(image, h: float, patch_radius: int = 1, a: float = 1.0):
    """The definition one pixel pair and one patch offset at a time (N = 1, one channel)."""
    v, (H, W), p = image[0, 0].tolist(), image.shape[-2:], patch_radius
    reflect = lambda t, n: -t if t < 0 else (2 * (n - 1) - t if t >= n else t)     # noqa: E731
    offsets = [(di, dj) for di in range(-p, p + 1) for dj in range(-p, p + 1)]
    gauss = [math.exp(-(di * di + dj * dj) / (2 * a * a)) for di, dj in offsets]
    gauss = [g / sum(gauss) for g in gauss]
    patch = lambda i, j: [v[reflect(i + di, H)][reflect(j + dj, W)] for di, dj in offsets]  # noqa: E731
    patches = {(i, j): patch(i, j) for i in range(H) for j in range(W)}
    out = torch.zeros_like(image)
    for (i, j), Pi in patches.items():
        weights = {q: math.exp(-sum(g * (x - y) ** 2 for g, x, y in zip(gauss, Pi, Pj)) / h ** 2)
                   for q, Pj in patches.items()}
        out[0, 0, i, j] = sum(w * v[q[0]][q[1]] for q, w in weights.items()) / sum(weights.values())
    return out


class NonLocalBlock(nn.Module):
    """z = W_z softmax(θ(x)ᵀ φ(x)) g(x) + x, over all positions (embedded Gaussian)."""

    def __init__(self, channels: int, inner: int | None = None):
        super().__init__()
        inner = inner or max(1, channels // 2)    # the paper halves the channels inside the block
        self.theta, self.phi, self.g = (nn.Linear(channels, inner, bias=False) for _ in range(3))
        self.W_z = nn.Linear(inner, channels, bias=False)

    def attention(self, x):
        """x (N, C, *spatial) → the weights softmax_j(θ(x_i)ᵀ φ(x_j)) (N, P, P) and g(x) (N, P, inner)."""
        tokens = x.flatten(2).transpose(1, 2)                                   # (N, P, C), P positions
        scores = self.theta(tokens) @ self.phi(tokens).transpose(1, 2)         # θ(x_i)ᵀ φ(x_j)
        return torch.softmax(scores, dim=-1), self.g(tokens)

    def forward(self, x):
        """Attend, mix the values, and add the result back to the input through W_z: the block is a
        residual."""
        weights, values = self.attention(x)
        y = weights @ values                                                    # y_i = Σ_j f_ij g(x_j) / C(x)
        return self.W_z(y).transpose(1, 2).reshape(x.shape) + x                 # z = W_z y + x


def demo(device: torch.device | str = "cpu", seed: int = 0) -> dict:
    from runnable.bilateral_filter import piecewise_constant_image, psnr

    clean, noisy = (t.to(device) for t in piecewise_constant_image(32, 0.1, seed))
    h = 0.1
    denoised = non_local_means(noisy, h, patch_radius=2, a=1.5)
    print("32×32 piecewise-constant image, Gaussian noise σ = 0.1; 5×5 patches, a = 1.5, h = 0.1, whole image searched")
    print(f"  PSNR noisy            {psnr(noisy, clean):5.2f} dB")
    print(f"  PSNR non-local means  {psnr(denoised, clean):5.2f} dB")
    crop = noisy[..., 8:18, 8:18]                                   # the loop is slow: a 10×10 crop
    loop_error = (non_local_means(crop, h, 1, 1.0) - naive_non_local_means(crop, h, 1, 1.0)).abs().max().item()
    print(f"softmax form vs per-pixel loop (10×10 crop, 3×3 patches): max error {loop_error:.1e} (tolerance 1e-10, float64)")
    torch.manual_seed(seed)
    block = NonLocalBlock(8).to(device, torch.float64)
    x = torch.randn(2, 8, 5, 6, dtype=torch.float64).to(device)
    tokens = x.flatten(2).transpose(1, 2)
    y = F.scaled_dot_product_attention(block.theta(tokens), block.phi(tokens), block.g(tokens), scale=1.0)
    sdpa_error = (block(x) - (block.W_z(y).transpose(1, 2).reshape(x.shape) + x)).abs().max().item()
    print(f"non-local block vs W_z·SDPA(θx, φx, gx; scale 1) + x: max error {sdpa_error:.1e} (tolerance 1e-10)")
    pixel = 8 * 32 + 8                                              # row 8, column 8: inside the square
    weights = non_local_means_weights(noisy, h, 2, 1.5)[0, pixel].reshape(32, 32)
    return {"clean": clean[0, 0].cpu(), "noisy": noisy[0, 0].cpu(), "denoised": denoised[0, 0].cpu(),
            "psnr": {"noisy": psnr(noisy, clean), "denoised": psnr(denoised, clean)},
            "loop_error": loop_error, "sdpa_error": sdpa_error, "pixel_weights": weights.cpu()}


if __name__ == "__main__":
    from runnable._cli import device_from_args

    demo(device_from_args(__doc__.splitlines()[0]))
