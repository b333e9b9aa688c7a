"""A saliency map scanned by winner-take-all with inhibition of return (Koch & Ullman, bib: koch1985shifts;
Itti, Koch & Niebur, bib: itti1998model), small enough to read.

From an RGB image (r, g, b): intensity I = (r + g + b)/3; hue, where I > max I / 10, as
r, g, b divided by I; broadly tuned colours R = r − (g + b)/2, G = g − (r + b)/2,
B = b − (r + g)/2, Y = (r + g)/2 − |r − g|/2 − b (negatives set to 0), and the opponent pairs
RG = R − G, BY = B − Y; orientation O_θ = |I * gabor_θ| for θ ∈ {0°, 45°, 90°, 135°}. Each
channel is put through a Gaussian pyramid P(0) = x, P(σ + 1) = blur(P(σ)) with the blur's taps 2^σ
pixels apart, so P(σ) sees the image at a resolution 2^σ coarser but keeps its size, and
centre–surround differences compare a fine level c with a coarse level s = c + δ:

    F(c, s) = | P(c) − P(s) |,  averaged over 4 × 4 blocks      c ∈ {2, 3}, δ ∈ {1, 2}

The normalisation N(·) scales a map to [0, 1], finds the mean m̄ of its local maxima other than
the global one, and multiplies by (1 − m̄)²: one strong peak is kept, many equal peaks cancel.
Maps are summed (⊕) into conspicuity maps, which are averaged:

    Ī = ⊕ N(I(c, s)),  C̄ = ⊕ [N(RG(c, s)) + N(BY(c, s))],  Ō = Σ_θ N(⊕ N(O_θ(c, s)))
    S = (N(Ī) + N(C̄) + N(Ō)) / 3

Winner-take-all attends to x̂ = argmax S, and inhibition of return sets S to 0 on a disc around x̂;
repeating gives a scanpath. (The paper uses nine subsampled pyramid levels, c ∈ {2, 3, 4} and
δ ∈ {3, 4}, Gabor filters on every pyramid level, a network of integrate-and-fire neurons for the
winner-take-all, and inhibition that wears off. Here the levels are fewer and not subsampled, the
orientation energy at full resolution goes through the pyramid, the winner is an argmax, and the
inhibition is permanent.)

Differences from the paper:
- Fewer pyramid levels, not subsampled, orientation energy at full resolution, an argmax for the
  winner and permanent inhibition of return; the paper uses nine subsampled levels, centre and
  surround scales c ∈ {2, 3, 4}, δ ∈ {3, 4}, Gabor filters per level, integrate-and-fire neurons and
  inhibition that wears off.
- The image is synthetic; the parameters are illustrative.

Shapes: images (3, H, W) with H, W divisible by 4; maps (h, w) = (H/4, W/4).
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F

LEVEL, CENTRES, DELTAS = 2, (2, 3), (1, 2)  # the maps' common level, centre levels, surround offsets


def blur(x, dilation: int = 1):
    """Separable 5-tap binomial blur [1, 4, 6, 4, 1]/16 of maps (N, H, W), taps `dilation` pixels apart,
    replicating the border so that a constant map stays constant."""
    kernel = torch.tensor([1.0, 4.0, 6.0, 4.0, 1.0], dtype=x.dtype, device=x.device) / 16
    p = 2 * dilation
    x = F.pad(x[:, None], (p, p, p, p), mode="replicate")
    x = F.conv2d(x, kernel.view(1, 1, 1, 5), dilation=dilation)
    return F.conv2d(x, kernel.view(1, 1, 5, 1), dilation=dilation)[:, 0]


def pyramid(x, levels: int = 6):
    """[P(0), …, P(levels − 1)]: P(σ + 1) is P(σ) blurred with taps 2^σ apart, so P(σ) is x seen at a
    resolution 2^σ coarser. The levels are not subsampled (an undecimated pyramid): every map keeps
    the image's size, which makes centre–surround a plain difference."""
    out = [x]
    for level in range(levels - 1):
        out.append(blur(out[-1], 2 ** level))
    return out


def centre_surround(levels):
    """|P(c) − P(c + δ)| for every (c, δ), averaged over 2^LEVEL × 2^LEVEL blocks: a list of (N, h, w)."""
    return [F.avg_pool2d((levels[c] - levels[c + d]).abs(), 2 ** LEVEL) for c in CENTRES for d in DELTAS]


def normalise(m, floor: float = 0.05, empty: float = 1e-9):
    """N(m) for maps (N, h, w): scale to [0, 1], multiply by (1 − m̄)², m̄ the mean of the local maxima
    (3 × 3 neighbourhood, above `floor`) other than the global maximum. A map whose maximum is below
    `empty` has no contrast and becomes zero, so that rounding noise is not scaled up to 1. Values
    within `empty` of the neighbourhood's maximum count as maxima, so that rounding cannot decide
    which cell of a flat top is the peak (on a symmetric image, many tops are flat)."""
    top = m.flatten(1).amax(-1)[:, None, None]
    m = torch.where(top > empty, m / top.clamp_min(empty), torch.zeros_like(m))
    peaks = (m >= F.max_pool2d(m[:, None], 3, stride=1, padding=1)[:, 0] - empty) & (m > floor)
    total, count = (m * peaks).flatten(1).sum(-1), peaks.flatten(1).sum(-1)
    others = (total - 1) / (count - 1).clamp_min(1)     # drop the global maximum (value 1) from the mean
    others = torch.where(count > 1, others, torch.zeros_like(others))
    return m * ((1 - others) ** 2)[:, None, None]


def gabor_bank(dtype, device, size: int = 9, wavelength: float = 6.0, sigma: float = 2.0):
    """Zero-mean even Gabor kernels (4, 1, size, size) for θ = 0°, 45°, 90°, 135° (the direction across
    the stripes); zero mean, so a constant image gives no response."""
    r = torch.arange(size, dtype=dtype, device=device) - size // 2
    y, x = torch.meshgrid(r, r, indexing="ij")
    kernels = []
    for theta in (0.0, math.pi / 4, math.pi / 2, 3 * math.pi / 4):
        across = x * math.cos(theta) + y * math.sin(theta)
        k = torch.exp(-(x ** 2 + y ** 2) / (2 * sigma ** 2)) * torch.cos(2 * math.pi * across / wavelength)
        kernels.append(k - k.mean())
    return torch.stack(kernels)[:, None]


def channels(image):
    """Intensity (1, H, W), colour opponency RG and BY (2, H, W), orientation energy (4, H, W)."""
    r, g, b = image
    intensity = (r + g + b) / 3
    lit = intensity > intensity.max() / 10
    r, g, b = (torch.where(lit, c / intensity.clamp_min(1e-12), torch.zeros_like(c)) for c in (r, g, b))
    R, G = (r - (g + b) / 2).clamp_min(0), (g - (r + b) / 2).clamp_min(0)
    B, Y = (b - (r + g) / 2).clamp_min(0), ((r + g) / 2 - (r - g).abs() / 2 - b).clamp_min(0)
    padded = F.pad(intensity[None, None], (4, 4, 4, 4), mode="replicate")
    orientation = F.conv2d(padded, gabor_bank(image.dtype, image.device))[0].abs()
    return intensity[None], torch.stack([R - G, B - Y]), orientation


def saliency(image, norm=normalise):
    """S (h, w) and the conspicuity maps (3, h, w): intensity, colour, orientation. `norm` is N(·)."""
    intensity, colour, orientation = channels(image)
    feature = [torch.stack(centre_surround(pyramid(x))) for x in (intensity, colour, orientation)]  # (6, N, h, w)
    i_bar = norm(feature[0][:, 0]).sum(0)
    c_bar = norm(feature[1].flatten(0, 1)).sum(0)
    o_bar = norm(norm(feature[2].transpose(0, 1).flatten(0, 1)).unflatten(0, (4, -1)).sum(1)).sum(0)
    conspicuity = norm(torch.stack([i_bar, c_bar, o_bar]))
    return conspicuity.mean(0), conspicuity


def scanpath(salience, fixations: int = 5, radius: float = 3.0):
    """Winner-take-all with inhibition of return: [(row, column)] on the map, stopping early if nothing
    salient is left. Each winner's disc of `radius` cells is set to zero."""
    s, path = salience.clone(), []
    rows = torch.arange(s.shape[0], device=s.device, dtype=s.dtype)[:, None]
    cols = torch.arange(s.shape[1], device=s.device, dtype=s.dtype)[None, :]
    for _ in range(fixations):
        if s.max() <= 0:
            break
        row, col = divmod(int(s.argmax()), s.shape[1])   # the winner
        path.append((row, col))
        s = torch.where((rows - row) ** 2 + (cols - col) ** 2 <= radius ** 2, torch.zeros_like(s), s)
    return path


def bars(size: int = 96, grid: int = 6, red=(1, 4), tilted=(4, 1), dtype=torch.float32, device="cpu"):
    """A grid of green vertical bars with one red bar and one bar tilted by 45°. Returns the image
    (3, H, W) and the bars' centres in pixels {(grid row, grid column): (y, x)}."""
    y, x = torch.meshgrid(*(torch.arange(size, dtype=dtype, device=device),) * 2, indexing="ij")
    image, spacing, centres = torch.zeros(3, size, size, dtype=dtype, device=device), size / grid, {}
    for i in range(grid):
        for j in range(grid):
            cy, cx = (i + 0.5) * spacing - 0.5, (j + 0.5) * spacing - 0.5
            angle = math.pi / 4 if (i, j) == tilted else 0.0
            along = (y - cy) * math.cos(angle) + (x - cx) * math.sin(angle)
            across = -(y - cy) * math.sin(angle) + (x - cx) * math.cos(angle)
            bar = (along.abs() <= 5) & (across.abs() <= 1.5)
            image[0 if (i, j) == red else 1][bar] = 1.0
            centres[i, j] = (cy, cx)
    return image, centres


def to_pixels(cell, scale: int = 2 ** LEVEL):
    """Centre of a map cell in image pixels."""
    return cell[0] * scale + (scale - 1) / 2, cell[1] * scale + (scale - 1) / 2


def demo(device: torch.device | str = "cpu", seed: int = 0) -> dict:
    """Saliency of a field of green vertical bars with one red bar and one tilted bar; five fixations."""
    torch.manual_seed(seed)
    image, centres = bars(device=device)
    salience, conspicuity = saliency(image)
    path = scanpath(salience)
    print(f"image {tuple(image.shape)}, saliency map {tuple(salience.shape)} (one cell = 4 × 4 pixels)")
    print("conspicuity maps' peaks after N(·): " + ", ".join(
        f"{name} {v:.2f}" for name, v in zip(["intensity", "colour", "orientation"], conspicuity.flatten(1).amax(-1).tolist())))
    labels = {(1, 4): "the red bar", (4, 1): "the tilted bar"}
    landed = []
    for k, cell in enumerate(path):
        y, x = to_pixels(cell)
        item, (cy, cx) = min(centres.items(), key=lambda kv: (kv[1][0] - y) ** 2 + (kv[1][1] - x) ** 2)
        landed.append(item)
        print(f"fixation {k + 1}: map cell {cell}, pixel ({y:.1f}, {x:.1f}), S = {salience[cell].item():.3f}, "
              f"nearest bar {item} at {math.hypot(cy - y, cx - x):.1f} px: {labels.get(item, 'a plain green bar')}")
    constant = saliency(torch.full((3, 96, 96), 0.5, dtype=torch.float64, device=device))[0]
    print(f"saliency of a uniform grey image: max {constant.abs().max().item():.1e} (tolerance 1e-12)")
    return {"image": image.cpu(), "saliency": salience.cpu(), "conspicuity": conspicuity.cpu(), "scanpath": path,
            "landed": landed, "centres": centres, "odd": list(labels), "constant_max": constant.abs().max().item()}


if __name__ == "__main__":
    from runnable._cli import device_from_args

    demo(device_from_args(__doc__.splitlines()[0]))
