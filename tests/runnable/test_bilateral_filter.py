"""The bilateral filter against the paper's sum written as a per-pixel loop, against torch's
scaled_dot_product_attention (a whole-image window is Nadaraya–Watson on position-and-value
features), against a Gaussian blur by convolution (σ_r = ∞), and on noiseless steps, which it
keeps."""
from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from runnable.bilateral_filter import bilateral_filter, bilateral_scores, demo, naive_bilateral_filter

FLOAT64 = dict(atol=1e-10, rtol=1e-10)  # float64, sums over at most a few hundred pixels


def image(device, N=2, C=2, H=6, W=7, seed=0):
    torch.manual_seed(seed)
    return torch.rand(N, C, H, W, dtype=torch.float64).to(device)


@pytest.mark.parametrize("radius, sigma_d, sigma_r", [(1, 1.0, 0.2), (2, 1.5, 0.3), (3, 0.7, 1.0)])
def test_matches_the_loop(device, radius, sigma_d, sigma_r):
    x = image(device)
    torch.testing.assert_close(bilateral_filter(x, radius, sigma_d, sigma_r),
                               naive_bilateral_filter(x, radius, sigma_d, sigma_r), **FLOAT64)


def test_whole_image_window_is_sdpa_on_position_and_value_features(device):
    """With every pixel in every window, the weights are softmax(−‖F_x − F_ξ‖²/2) with features
    F = (i/σ_d, j/σ_d, f/σ_r): scale 1 on F_x·F_ξ plus the per-key bias −‖F_ξ‖²/2."""
    x = image(device, N=1, C=3, H=5, W=6, seed=1)
    sigma_d, sigma_r = 1.3, 0.4
    i, j = torch.meshgrid(torch.arange(5.0), torch.arange(6.0), indexing="ij")
    position = torch.stack([i, j], -1).reshape(30, 2).to(device, torch.float64) / sigma_d
    features = torch.cat([position, x[0].reshape(3, 30).T / sigma_r], -1)          # (30, 5)
    bias = -features.square().sum(-1) / 2
    expected = F.scaled_dot_product_attention(features[None], features[None], x[0].reshape(3, 30).T[None],
                                              attn_mask=bias.expand(30, 30)[None], scale=1.0)
    got = bilateral_filter(x, radius=6, sigma_d=sigma_d, sigma_r=sigma_r)
    torch.testing.assert_close(got[0].reshape(3, 30).T, expected[0], **FLOAT64)


def test_infinite_range_sigma_is_a_gaussian_blur(device):
    """σ_r = ∞ leaves the closeness kernel: away from the border, a convolution with the normalised
    Gaussian (float64, so no TF32 in cuDNN)."""
    x = image(device, N=1, C=1, H=12, W=12, seed=2)
    r, sigma_d = 2, 1.2
    offset = torch.arange(-r, r + 1, dtype=torch.float64, device=device)
    kernel = torch.exp(-(offset[:, None] ** 2 + offset[None, :] ** 2) / (2 * sigma_d ** 2))
    blurred = F.conv2d(x, (kernel / kernel.sum())[None, None])                  # the interior only
    got = bilateral_filter(x, r, sigma_d, float("inf"))
    torch.testing.assert_close(got[..., r:-r, r:-r], blurred, **FLOAT64)


def test_noiseless_steps_survive_and_blur_does_not(device):
    """On a noiseless two-level image (jump 1) with σ_r = 0.1, pixels across the edge are weighted
    by exp(−1/(2·0.01)) = e^−50: the output equals the input to ~1e-20. A blur smears the edge."""
    x = torch.zeros(1, 1, 8, 8, dtype=torch.float64, device=device)
    x[..., :, 4:] = 1.0
    x[..., 5:, :] = 1 - x[..., 5:, :]                                              # two edges, a corner
    torch.testing.assert_close(bilateral_filter(x, 2, 2.0, 0.1), x, atol=1e-15, rtol=0)
    assert (bilateral_filter(x, 2, 2.0, float("inf")) - x).abs().max() > 0.3


def test_weights_sum_to_one_and_vanish_outside_the_image(device):
    x = image(device, seed=3)
    scores, _ = bilateral_scores(x, 2, 1.0, 0.5)
    weights = torch.softmax(scores, dim=1)                                        # (N, 25, H·W)
    torch.testing.assert_close(weights.sum(1), torch.ones(2, 42, dtype=torch.float64, device=device), **FLOAT64)
    # The corner pixel (0, 0) sees only the 3×3 quarter of its 5×5 window that lies in the image.
    assert (weights[:, :, 0] > 0).sum(1).tolist() == [9, 9]
    assert math.isinf(scores[0, 0, 0].item())


def test_constant_image_is_unchanged(device):
    x = torch.full((1, 3, 5, 5), 0.37, dtype=torch.float64, device=device)
    torch.testing.assert_close(bilateral_filter(x, 2, 1.0, 0.1), x, **FLOAT64)


def test_demo_runs_and_agrees(device):
    result = demo(device)
    assert result["max_error"] < 1e-10
    psnr = result["psnr"]
    # The page's claim: the range kernel is what helps here; the blur barely beats the noise.
    assert psnr["bilateral"] > psnr["noisy"] + 4 and psnr["bilateral"] > psnr["blur"] + 4
    # The pixel on the square's lower edge puts almost all its weight on its own row and the rows
    # above (the square), little on the three rows below (background), though they are as close.
    weights = result["pixel_weights"]
    torch.testing.assert_close(weights.sum(), torch.tensor(1.0, dtype=weights.dtype))
    assert weights[:4].sum() > 0.95 and weights[4:].sum() < 0.05
