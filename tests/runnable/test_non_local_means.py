"""Non-local means against its definition written as a per-pixel loop and against torch's
scaled_dot_product_attention on patch features; the non-local block against torch's
scaled_dot_product_attention; closed forms for the limits of h and for the search window."""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from runnable.non_local_means import (NonLocalBlock, demo, naive_non_local_means, non_local_means,
                                      non_local_means_weights, patch_features)

FLOAT64 = dict(atol=1e-10, rtol=1e-10)  # float64 sums over at most a few hundred pixels
FLOAT32 = dict(atol=1e-5, rtol=1e-4)    # float32 (CUDA may use its fused attention kernels)


def noisy_image(device, H=7, W=8, seed=0):
    generator = torch.Generator().manual_seed(seed)
    return torch.rand(1, 1, H, W, generator=generator, dtype=torch.float64).to(device)


@pytest.mark.parametrize("h, patch_radius, a", [(0.3, 1, 1.0), (0.5, 2, 1.5), (0.2, 1, 0.5)])
def test_matches_the_loop(device, h, patch_radius, a):
    image = noisy_image(device)
    torch.testing.assert_close(non_local_means(image, h, patch_radius, a),
                               naive_non_local_means(image, h, patch_radius, a), **FLOAT64)


def test_is_sdpa_over_patch_features(device):
    """−‖P_i − P_j‖²/h² = (2/h²) P_i·P_j − ‖P_j‖²/h² − ‖P_i‖²/h²; the last term cancels, so the
    weights are SDPA's with scale 2/h² and a per-key bias −‖P_j‖²/h²."""
    image, h = noisy_image(device, seed=1), 0.4
    P = patch_features(image, 1, 1.0)
    bias = (-P.square().sum(-1) / h ** 2)[:, None, :].expand(1, 56, 56)
    expected = F.scaled_dot_product_attention(P, P, image.reshape(1, 56, 1), attn_mask=bias, scale=2 / h ** 2)
    torch.testing.assert_close(non_local_means(image, h, 1, 1.0).reshape(1, 56, 1), expected, **FLOAT64)


def test_search_window_is_the_global_softmax_restricted_and_renormalised(device):
    image = noisy_image(device, 9, 9, seed=2)
    everywhere = non_local_means_weights(image, 0.5, 1, 1.0)
    windowed = non_local_means_weights(image, 0.5, 1, 1.0, search_radius=2)
    row, col = torch.arange(81, device=device) // 9, torch.arange(81, device=device) % 9
    inside = ((row[:, None] - row[None, :]).abs() <= 2) & ((col[:, None] - col[None, :]).abs() <= 2)
    restricted = everywhere * inside
    torch.testing.assert_close(windowed, restricted / restricted.sum(-1, keepdim=True), **FLOAT64)
    assert torch.all(windowed[:, ~inside] == 0)
    torch.testing.assert_close(non_local_means_weights(image, 0.5, 1, 1.0, search_radius=8), everywhere, **FLOAT64)


def test_limits_of_h(device):
    """h → ∞: every pixel becomes the image mean. h → 0: each pixel keeps its own value, since
    only its own patch is at distance 0 (noise makes every other patch different)."""
    image = noisy_image(device, seed=3)
    torch.testing.assert_close(non_local_means(image, 1e6), image.mean().expand_as(image), **FLOAT64)
    torch.testing.assert_close(non_local_means(image, 1e-4), image, **FLOAT64)


def test_repeated_structure_far_away_is_used(device):
    """Two identical, distant copies of a random 4×4 tile on a flat background: with a small h each
    pixel of one copy gives its twin in the other copy the same weight as itself."""
    image = torch.zeros(1, 1, 12, 12, dtype=torch.float64, device=device)
    tile = noisy_image(device, 4, 4, seed=4)[0, 0]
    image[0, 0, 1:5, 1:5], image[0, 0, 7:11, 7:11] = tile, tile
    w = non_local_means_weights(image, 0.05, 1, 1.0)[0]
    i, twin = 2 * 12 + 2, 8 * 12 + 8                                               # (2, 2) and (8, 8)
    torch.testing.assert_close(w[i, twin], w[i, i], **FLOAT64)
    assert w[i, i] + w[i, twin] > 0.99


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_non_local_block_is_sdpa_plus_residual(device, dtype):
    """Embedded Gaussian non-local block on a video-shaped input (N, C, T, H, W): torch's SDPA with
    scale 1 on θ(x), φ(x), g(x), then W_z and the residual."""
    torch.manual_seed(5)
    block = NonLocalBlock(6, inner=4).to(device, dtype)
    x = torch.randn(2, 6, 2, 3, 4, dtype=dtype).to(device)
    tokens = x.flatten(2).transpose(1, 2)                                          # (2, 24, 6)
    with torch.no_grad():
        y = F.scaled_dot_product_attention(block.theta(tokens), block.phi(tokens), block.g(tokens), scale=1.0)
        expected = (y @ block.W_z.weight.T).transpose(1, 2).reshape(x.shape) + x
        torch.testing.assert_close(block(x), expected, **(FLOAT64 if dtype == torch.float64 else FLOAT32))


def test_non_local_block_with_zero_output_map_is_the_identity(device):
    """The residual form lets the block start as the identity (W_z = 0), to be inserted in a trained net."""
    block = NonLocalBlock(4).to(device, torch.float64)
    torch.nn.init.zeros_(block.W_z.weight)
    x = torch.randn(1, 4, 5, 5, dtype=torch.float64).to(device)
    torch.testing.assert_close(block(x), x, atol=0, rtol=0)


def test_a_larger_search_window_helps_on_the_demo_image(device):
    """The page's search-window table: on the test card, PSNR grows with the window."""
    from runnable.bilateral_filter import piecewise_constant_image, psnr

    clean, noisy = (t.to(device) for t in piecewise_constant_image(32, 0.1, 0))
    scores = [psnr(non_local_means(noisy, 0.1, 2, 1.5, search_radius=r), clean) for r in (2, 5, 10, None)]
    assert scores == sorted(scores)


def test_demo_runs_and_agrees(device):
    result = demo(device)
    assert result["loop_error"] < 1e-10 and result["sdpa_error"] < 1e-10
    assert result["psnr"]["denoised"] > result["psnr"]["noisy"] + 6
    # The page's claims about pixel (8, 8): its weight stays in the bright square, but spreads over
    # the whole square rather than its neighbourhood.
    weights, clean = result["pixel_weights"], result["clean"]
    assert weights[clean == 0.8].sum() > 0.99 and weights.argmax().item() == 8 * 32 + 8  # its own is the largest
    i, j = torch.meshgrid(torch.arange(32), torch.arange(32), indexing="ij")
    assert weights[((i - 8).abs() > 5) | ((j - 8).abs() > 5)].sum() > 0.2
