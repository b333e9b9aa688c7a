"""Nadaraya–Watson regression against a loop over the kernel, against torch's
scaled_dot_product_attention (two ways of writing the Gaussian scores), and against the closed
forms of its two limits: the mean (h → ∞) and the nearest neighbour (h → 0)."""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from runnable.nadaraya_watson import demo, kernel_weights, nadaraya_watson, naive_nadaraya_watson

FLOAT64 = dict(atol=1e-10, rtol=1e-10)   # float64 sums of at most a few dozen terms
FLOAT32 = dict(atol=1e-5, rtol=1e-4)     # float32, scores of order 10 before the softmax


def data(device, dtype=torch.float64, batch=(2,), L_q=5, L_k=11, d=3, d_v=4, seed=0):
    torch.manual_seed(seed)
    return (torch.randn(*batch, L_q, d, device=device, dtype=dtype), torch.randn(*batch, L_k, d, device=device, dtype=dtype),
            torch.randn(*batch, L_k, d_v, device=device, dtype=dtype))


@pytest.mark.parametrize("kernel", ["gaussian", "epanechnikov", "box"])
def test_matches_the_loop(device, kernel):
    q, k, v = data(device, batch=())
    h = 3.0  # wide enough that every query has a key inside the compact kernels' support
    torch.testing.assert_close(nadaraya_watson(q, k, v, h, kernel), naive_nadaraya_watson(q, k, v, h, kernel), **FLOAT64)


@pytest.mark.parametrize("h", [0.3, 1.0, 4.0])
def test_gaussian_is_sdpa_with_distance_scores(device, h):
    """Softmax over −‖q − k‖²/(2h²), written for torch as an additive float mask with zero queries
    (so the q·k part of SDPA's scores vanishes)."""
    q, k, v = data(device, batch=(2, 3))
    scores = -(q[..., :, None, :] - k[..., None, :, :]).square().sum(-1) / (2 * h ** 2)
    expected = F.scaled_dot_product_attention(torch.zeros_like(q), k, v, attn_mask=scores)
    torch.testing.assert_close(nadaraya_watson(q, k, v, h), expected, **FLOAT64)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_gaussian_is_sdpa_with_scale_and_key_bias(device, dtype):
    """Expanding the square: scale 1/h² on q·k plus a per-key bias −‖k‖²/(2h²); −‖q‖²/(2h²) cancels."""
    q, k, v = data(device, dtype, batch=(2, 3), seed=1)
    h = 1.5
    bias = (-k.square().sum(-1) / (2 * h ** 2))[..., None, :].expand(2, 3, 5, 11)
    expected = F.scaled_dot_product_attention(q, k, v, attn_mask=bias, scale=1 / h ** 2)
    torch.testing.assert_close(nadaraya_watson(q, k, v, h), expected, **(FLOAT64 if dtype == torch.float64 else FLOAT32))


@pytest.mark.parametrize("kernel", ["gaussian", "epanechnikov", "box"])
def test_weights_are_a_distribution(device, kernel):
    q, k, _ = data(device, seed=2)
    w = kernel_weights(q, k, 3.0, kernel)
    assert torch.all(w >= 0)
    torch.testing.assert_close(w.sum(-1), torch.ones(w.shape[:-1], device=device, dtype=w.dtype), **FLOAT64)


def test_huge_bandwidth_is_the_mean(device):
    """h → ∞ flattens every kernel to a constant: uniform attention, the mean of the values."""
    q, k, v = data(device, seed=3)
    for kernel in ["gaussian", "epanechnikov", "box"]:
        out = nadaraya_watson(q, k, v, 1e7, kernel)
        torch.testing.assert_close(out, v.mean(-2, keepdim=True).expand_as(out), atol=1e-9, rtol=1e-9)


def test_tiny_bandwidth_is_the_nearest_neighbour(device):
    """h → 0 makes the Gaussian weights one-hot on the closest key (hard attention); the softmax
    keeps this finite where a raw exp(−r/2) would underflow to 0/0."""
    q, k, v = data(device, seed=4)
    nearest = torch.cdist(q, k).argmin(-1)                                  # (2, 5)
    expected = torch.gather(v, 1, nearest[..., None].expand(-1, -1, v.shape[-1]))
    torch.testing.assert_close(nadaraya_watson(q, k, v, 1e-3), expected, **FLOAT64)


def test_compact_kernel_ignores_far_keys(device):
    """Keys farther than h get exactly zero weight under the box and Epanechnikov kernels, and a
    query with no key within h gets 0/0 = NaN, as the module says."""
    q, k, _ = data(device, seed=5)
    q = torch.cat([q, torch.full_like(q[:, :1], 10.0)], 1)                # a query far from every key
    far = torch.cdist(q, k) > 1.5
    reached = (~far).any(-1)
    assert far[reached].any() and reached.sum() >= 5 and not reached[:, -1].any()
    for kernel in ["epanechnikov", "box"]:
        w = kernel_weights(q, k, 1.5, kernel)
        assert torch.all(w[reached][far[reached]] == 0)
        assert torch.isnan(w[~reached]).all()


def test_demo_runs_and_agrees(device):
    result = demo(device)
    assert result["sdpa_error"] < 1e-10 and result["loop_error"] < 1e-10
    rmse = result["rmse"]
    # Too small a bandwidth chases the noise, too large a one flattens the function.
    assert rmse[0.03] < rmse[0.003] and rmse[0.03] < rmse[0.3]
    assert min(rmse, key=rmse.get) == 0.03
