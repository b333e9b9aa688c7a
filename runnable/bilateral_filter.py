"""The bilateral filter as attention over pixels (Tomasi & Manduchi 1998; bib: tomasi1998bilateral).

Each pixel x is replaced by a normalised average of the pixels ξ in a (2r+1)×(2r+1) window
around it, weighted by a closeness kernel c and a similarity kernel s, both Gaussians here:

    h(x) = Σ_ξ c(ξ, x) s(f(ξ), f(x)) f(ξ) / Σ_ξ c(ξ, x) s(f(ξ), f(x))
    c(ξ, x) = exp(−‖ξ − x‖² / (2σ_d²)),    s(f(ξ), f(x)) = exp(−‖f(ξ) − f(x)‖² / (2σ_r²))

As attention the product of the kernels is a softmax over the window:

    h(x) = Σ_ξ softmax_ξ(−‖ξ − x‖²/(2σ_d²) − ‖f(ξ) − f(x)‖²/(2σ_r²)) f(ξ)

with the pixel x as the query, its neighbours as keys (position and value) and their values as
values. Window positions outside the image are left out (score −∞). σ_r = ∞ removes the range
term and leaves a Gaussian blur; with a window covering the whole image the filter is
Gaussian Nadaraya–Watson on the feature vectors (ξ/σ_d, f(ξ)/σ_r). The paper measures colour
similarity in CIE-Lab; here the range distance is taken over whatever channels are given.

`F.unfold` gathers every pixel's window in one tensor, so the whole image is filtered with one
softmax; window positions outside the image get a score of −∞. `naive_bilateral_filter` is the
paper's sum as a loop over pixels and neighbours.

Differences from the paper:
- Both kernels are Gaussians; the paper allows other closeness and similarity functions.
- The range distance is Euclidean over whatever channels are given; the paper measures colour
  similarity in CIE-Lab.
- The window is cut at radius r instead of the infinite sum of the definition, and positions outside
  the image are left out.

Shapes: images (N, C, H, W); the output has the same shape.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def bilateral_scores(image, radius: int, sigma_d: float, sigma_r: float):
    """Scores (N, (2r+1)², H·W) of every window offset for every pixel, and the window values
    (N, C, (2r+1)², H·W)."""
    N, C, H, W = image.shape
    k = 2 * radius + 1
    neighbours = F.unfold(image, k, padding=radius).reshape(N, C, k * k, H * W)     # f(ξ)
    centre = image.reshape(N, C, 1, H * W)                                        # f(x)
    offset = torch.arange(-radius, radius + 1, device=image.device, dtype=image.dtype)
    spatial = (offset[:, None] ** 2 + offset[None, :] ** 2).reshape(k * k, 1)      # ‖ξ − x‖²
    scores = -spatial / (2 * sigma_d ** 2) - (neighbours - centre).square().sum(1) / (2 * sigma_r ** 2)
    # Offsets that fall outside the image: unfold pads them with zeros, so mark them with −∞.
    inside = F.unfold(torch.ones(1, 1, H, W, device=image.device, dtype=image.dtype), k, padding=radius)
    return scores.masked_fill(inside.reshape(1, k * k, H * W) == 0, float("-inf")), neighbours


def bilateral_filter(image, radius: int = 3, sigma_d: float = 2.0, sigma_r: float = 0.1):
    """h(x) = Σ_ξ softmax_ξ(score) f(ξ) for every pixel x."""
    scores, neighbours = bilateral_scores(image, radius, sigma_d, sigma_r)
    weights = torch.softmax(scores, dim=1)                                        # over the window
    return (weights[:, None] * neighbours).sum(2).reshape(image.shape)


def naive_bilateral_filter(image, radius: int = 3, sigma_d: float = 2.0, sigma_r: float = 0.1):
    """The paper's normalised sum, one pixel and one neighbour at a time."""
    N, C, H, W = image.shape
    f, out = image.tolist(), torch.zeros_like(image)
    for n in range(N):
        for i in range(H):
            for j in range(W):
                total, norm = [0.0] * C, 0.0
                for a in range(max(0, i - radius), min(H, i + radius + 1)):
                    for b in range(max(0, j - radius), min(W, j + radius + 1)):
                        closeness = math.exp(-((a - i) ** 2 + (b - j) ** 2) / (2 * sigma_d ** 2))
                        similarity = math.exp(-sum((f[n][c][a][b] - f[n][c][i][j]) ** 2 for c in range(C)) / (2 * sigma_r ** 2))
                        total = [t + closeness * similarity * f[n][c][a][b] for c, t in enumerate(total)]
                        norm += closeness * similarity
                for c in range(C):
                    out[n, c, i, j] = total[c] / norm
    return out


def piecewise_constant_image(size: int = 32, noise: float = 0.1, seed: int = 0):
    """A clean test card (background, a square and a disc at three grey levels) and a noisy copy."""
    generator = torch.Generator().manual_seed(seed)
    y, x = torch.meshgrid(torch.arange(size), torch.arange(size), indexing="ij")
    clean = torch.full((size, size), 0.2, dtype=torch.float64)
    clean[(y >= size // 8) & (y < size // 2) & (x >= size // 8) & (x < 5 * size // 8)] = 0.8
    clean[(y - 5 * size // 8) ** 2 + (x - 5 * size // 8) ** 2 <= (size // 4) ** 2] = 0.5
    noisy = clean + noise * torch.randn(size, size, generator=generator, dtype=torch.float64)
    return clean[None, None], noisy[None, None]


def psnr(image, reference) -> float:
    """Peak signal-to-noise ratio in dB for images with values in [0, 1]."""
    return (10 * torch.log10(1 / (image - reference).square().mean())).item()


def demo(device: torch.device | str = "cpu", seed: int = 0) -> dict:
    clean, noisy = (t.to(device) for t in piecewise_constant_image(32, 0.1, seed))
    bilateral = bilateral_filter(noisy, radius=3, sigma_d=2.0, sigma_r=0.15)
    blur = bilateral_filter(noisy, radius=3, sigma_d=2.0, sigma_r=float("inf"))   # closeness only
    print("32×32 piecewise-constant image, Gaussian noise σ = 0.1; window 7×7, σ_d = 2")
    for name, image in [("noisy", noisy), ("Gaussian blur (σ_r = ∞)", blur), ("bilateral (σ_r = 0.15)", bilateral)]:
        print(f"  PSNR {name:<24} {psnr(image, clean):5.2f} dB")
    crop = noisy[..., 10:20, 12:22]                                    # the loop is slow: a 10×10 crop
    error = (bilateral_filter(crop, 3, 2.0, 0.15) - naive_bilateral_filter(crop, 3, 2.0, 0.15)).abs().max().item()
    print(f"softmax-over-window form vs per-pixel loop (10×10 crop): max error {error:.1e} (tolerance 1e-10, float64)")
    # One pixel's attention map, next to the square's lower edge: it looks along the edge, not across.
    scores, _ = bilateral_scores(noisy, 3, 2.0, 0.15)
    pixel = 15 * 32 + 10                                               # row 15, column 10, inside the square
    weights = torch.softmax(scores, dim=1)[0, :, pixel].reshape(7, 7)
    return {"clean": clean[0, 0].cpu(), "noisy": noisy[0, 0].cpu(), "blur": blur[0, 0].cpu(),
            "bilateral": bilateral[0, 0].cpu(), "psnr": {"noisy": psnr(noisy, clean), "blur": psnr(blur, clean),
            "bilateral": psnr(bilateral, clean)}, "max_error": error, "pixel_weights": weights.cpu()}


if __name__ == "__main__":
    from runnable._cli import device_from_args

    demo(device_from_args(__doc__.splitlines()[0]))
