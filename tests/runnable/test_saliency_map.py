"""The saliency map: the blur against a loop, centre–surround of a constant image (zero), the
normalisation against its closed form on hand-made maps, winner-take-all with inhibition of return
against a loop, and the behaviour (the odd items are fixated first, nothing is revisited).
Exactness tests run in float64, which also keeps cuDNN's TF32 convolutions out of them on CUDA."""
from __future__ import annotations

import math

import pytest
import torch

from runnable.saliency_map import (bars, blur, centre_surround, channels, demo, gabor_bank, normalise, pyramid,
                                   saliency, scanpath, to_pixels)

EXACT = dict(atol=1e-12, rtol=1e-12)  # float64, sums of at most 25 products per output
DEVICE_AGREEMENT = dict(atol=1e-10, rtol=1e-10)  # float64 on another device: summation order may differ


def naive_blur(x, dilation):
    """The 5 × 5 outer-product kernel, one output pixel at a time, with replicated borders."""
    taps = [1 / 16, 4 / 16, 6 / 16, 4 / 16, 1 / 16]
    N, H, W = x.shape
    out = torch.zeros_like(x)
    for n in range(N):
        for i in range(H):
            for j in range(W):
                out[n, i, j] = sum(taps[a] * taps[b]
                                   * x[n, min(max(i + (a - 2) * dilation, 0), H - 1), min(max(j + (b - 2) * dilation, 0), W - 1)]
                                   for a in range(5) for b in range(5))
    return out


@pytest.mark.parametrize("dilation", [1, 2, 4])
def test_blur_matches_the_loop(device, dilation):
    x = torch.rand(2, 9, 11, dtype=torch.float64, generator=torch.Generator().manual_seed(dilation))
    torch.testing.assert_close(blur(x.to(device), dilation).cpu(), naive_blur(x, dilation), **EXACT)


def test_constant_image_has_zero_centre_surround_and_zero_saliency(device):
    image = torch.full((3, 32, 32), 0.7, dtype=torch.float64, device=device)
    image[2] = 0.2                                          # a uniform colour, not only grey
    for channel in channels(image):
        levels = pyramid(channel)
        assert all(level.shape == channel.shape for level in levels)
        for level in levels:
            torch.testing.assert_close(level, levels[0], **EXACT)   # blurring a constant changes nothing
        for difference in centre_surround(levels):
            assert difference.abs().max() <= 1e-12
    salience, _ = saliency(image)
    assert salience.abs().max() <= 1e-12
    assert scanpath(torch.zeros(8, 8, dtype=torch.float64, device=device)) == []


def test_gabor_bank_is_zero_mean_and_tuned(device):
    kernels = gabor_bank(torch.float64, device)
    torch.testing.assert_close(kernels.sum((1, 2, 3)), torch.zeros(4, dtype=torch.float64, device=device), **EXACT)
    image, _ = bars(size=32, grid=2, red=None, tilted=None, dtype=torch.float64, device=device)
    energy = channels(image)[2].sum((1, 2))
    assert energy.argmax() == 0                             # vertical bars: the filter with vertical stripes


def test_normalise_closed_forms(device):
    """One peak: m / max (m̄ = 0). Two equal peaks: 0 (m̄ = 1). A peak of 4 and three of 2: m/4 · (1 − 1/2)²."""
    m = torch.zeros(3, 12, 12, dtype=torch.float64, device=device)
    m[0, 3, 3] = 5.0
    m[0, 2:5, 2:5] += 0.5 * (m[0, 2:5, 2:5] == 0)           # a shoulder, not a second peak
    m[1, 2, 2], m[1, 9, 9] = 3.0, 3.0
    m[2, 1, 1], m[2, 1, 8], m[2, 8, 1], m[2, 8, 8] = 4.0, 2.0, 2.0, 2.0
    out = normalise(m)
    torch.testing.assert_close(out[0], m[0] / 5, **EXACT)
    torch.testing.assert_close(out[1], torch.zeros_like(m[1]), **EXACT)
    torch.testing.assert_close(out[2], m[2] / 4 * 0.25, **EXACT)
    torch.testing.assert_close(normalise(torch.zeros_like(m)), torch.zeros_like(m), **EXACT)


def naive_scanpath(salience, fixations, radius):
    s, path = salience.tolist(), []
    for _ in range(fixations):
        best = max((v, -i, -j) for i, row in enumerate(s) for j, v in enumerate(row))  # first cell on ties
        if best[0] <= 0:
            break
        i, j = -best[1], -best[2]
        path.append((i, j))
        s = [[0.0 if (a - i) ** 2 + (b - j) ** 2 <= radius ** 2 else v for b, v in enumerate(row)]
             for a, row in enumerate(s)]
    return path


def test_scanpath_matches_the_loop_and_never_revisits(device):
    salience = torch.rand(16, 16, dtype=torch.float64, generator=torch.Generator().manual_seed(3))
    path = scanpath(salience.to(device), fixations=12, radius=2.5)
    assert path == naive_scanpath(salience, 12, 2.5)
    assert path[0] == divmod(int(salience.argmax()), 16)    # winner-take-all: the maximum
    for k, (a, b) in enumerate(path):
        for c, d in path[:k]:
            assert math.hypot(a - c, b - d) > 2.5             # inhibited discs are never fixated again


@pytest.mark.parametrize("odd", ["red", "tilted"])
def test_a_single_odd_item_is_fixated_first(device, odd):
    kwargs = {"red": (2, 3), "tilted": None} if odd == "red" else {"red": None, "tilted": (3, 1)}
    image, centres = bars(dtype=torch.float64, device=device, **kwargs)
    path = scanpath(saliency(image)[0])
    y, x = to_pixels(path[0])
    cy, cx = centres[kwargs[odd]]
    assert math.hypot(y - cy, x - cx) < 6                   # within the bar (11 × 3 px)


def test_float32_on_the_device_agrees_with_float64_on_the_cpu(device):
    """On CUDA, float32 convolutions may use TF32 (about 3 decimal digits), so only the scanpath's first
    two fixations, whose saliencies differ by far more, are compared; float64 must agree tightly."""
    reference, _ = saliency(bars(dtype=torch.float64)[0])
    torch.testing.assert_close(saliency(bars(dtype=torch.float64, device=device)[0])[0].cpu(), reference,
                               **DEVICE_AGREEMENT)
    assert scanpath(saliency(bars(device=device)[0])[0])[:2] == scanpath(reference)[:2]


def test_demo_runs_and_agrees(device):
    result = demo(device)
    landed = result["landed"]
    assert landed[0] in result["odd"]                       # the first fixation is on an odd-one-out
    assert set(landed[:2]) == set(result["odd"])            # inhibition of return moves it to the other
    assert len(set(landed)) == len(landed) == 5             # no item is fixated twice
    assert result["constant_max"] <= 1e-12


def test_without_the_normalisation_the_field_wins(device):
    """The page's claim: with plain scaling to [0, 1] instead of N(·), the field's many responses
    outweigh the singletons, so the scan starts elsewhere and misses the tilted bar."""
    image, centres = bars(dtype=torch.float64, device=device)
    plain = lambda m: m / m.flatten(1).amax(-1)[:, None, None].clamp_min(1e-9)  # noqa: E731
    path = scanpath(saliency(image, norm=plain)[0])
    nearest = [min(centres, key=lambda k: math.dist(centres[k], to_pixels(cell))) for cell in path]
    assert nearest[0] not in [(1, 4), (4, 1)] and (4, 1) not in nearest
