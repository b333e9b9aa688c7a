"""DRAW's filterbank, read and write against loops over filters and pixels, closed forms
(identity crop, uniform filters, the parametrisation's centre and span), the adjoint identity
between read and write, and the module driven by a decoder state."""
from __future__ import annotations

import math

import pytest
import torch

from runnable.draw_attention import (DrawAttention, attention_parameters, demo, filter_centres, filterbank,
                                     naive_filterbank, naive_read, naive_write, read, write)

EXACT = dict(atol=1e-10, rtol=1e-10)     # float64 against float64 loops over at most 7 × 9 pixels
FLOAT32 = dict(atol=1e-5, rtol=1e-5)     # float32 sums of at most a few hundred terms of size ≤ 1


def random_raw(batch, device, seed, dtype=torch.float64):
    """The linear layer's outputs (g̃_X, g̃_Y, log σ², log δ̃), spread so grids move and zoom."""
    generator = torch.Generator().manual_seed(seed)
    raw = torch.rand(4, batch, generator=generator, dtype=dtype)
    scale = torch.tensor([1.6, 1.6, 3.0, 2.0], dtype=dtype)[:, None]
    shift = torch.tensor([-0.8, -0.8, -1.5, -1.5], dtype=dtype)[:, None]
    return list((raw * scale + shift).to(device))


@pytest.mark.parametrize("N, A, B", [(3, 7, 5), (4, 6, 9), (1, 5, 4), (5, 5, 5)])
def test_filterbank_matches_the_loop(device, N, A, B):
    raw = random_raw(3, device, seed=N + A + B)
    F_x, F_y = filterbank(*raw, N, A, B)
    assert F_x.shape == (3, N, A) and F_y.shape == (3, N, B)
    for n in range(3):
        expected_x, expected_y = naive_filterbank(*(r[n].item() for r in raw), N, A, B)
        torch.testing.assert_close(F_x[n].cpu(), expected_x, **EXACT)
        torch.testing.assert_close(F_y[n].cpu(), expected_y, **EXACT)


def test_read_and_write_match_the_loops(device):
    N, A, B = 3, 7, 5
    raw = random_raw(2, device, seed=1)
    F_x, F_y = filterbank(*raw, N, A, B)
    gamma = torch.tensor([0.7, 2.3], dtype=torch.float64, device=device)
    x = torch.randn(2, B, A, dtype=torch.float64, device=device)
    w = torch.randn(2, N, N, dtype=torch.float64, device=device)
    glimpse, canvas = read(x, F_x, F_y, gamma), write(w, F_x, F_y, gamma)
    assert glimpse.shape == (2, N, N) and canvas.shape == (2, B, A)
    for n in range(2):
        args = (F_x[n].cpu(), F_y[n].cpu(), gamma[n].item())
        torch.testing.assert_close(glimpse[n].cpu(), naive_read(x[n].cpu(), *args), **EXACT)
        torch.testing.assert_close(canvas[n].cpu(), naive_write(w[n].cpu(), *args), **EXACT)


def test_every_filter_row_sums_to_one_even_far_outside_the_image(device):
    """Z normalises each row; a narrow filter centred far off the image must not become 0/0."""
    raw = random_raw(5, device, seed=2, dtype=torch.float32)
    F_x, F_y = filterbank(*raw, 4, 8, 6)
    far = [torch.tensor(v, device=device) for v in (30.0, -30.0, math.log(1e-4), 0.0)]
    far_x, far_y = filterbank(*far, 4, 8, 6)
    for F in (F_x, F_y, far_x, far_y):
        assert torch.isfinite(F).all() and torch.all(F >= 0)
        torch.testing.assert_close(F.sum(-1), torch.ones(F.shape[:-1], device=device), **FLOAT32)
    assert torch.all(far_x[:, -1] > 0.999) and torch.all(far_y[:, 0] > 0.999)  # piled onto the nearest edge pixel


def identity_raw(N, A, B, first_x, first_y, device):
    """Raw outputs for δ = 1, σ = 0.01 and the grid's first filter at pixel (first_x, first_y)."""
    g_x, g_y = first_x + (N - 1) / 2, first_y + (N - 1) / 2     # μ^1 = g - (N - 1)/2 when δ = 1
    values = (2 * g_x / (A + 1) - 1, 2 * g_y / (B + 1) - 1, math.log(1e-4), math.log((N - 1) / (max(A, B) - 1)))
    return [torch.tensor(v, dtype=torch.float64, device=device) for v in values]


def test_unit_stride_and_tiny_variance_is_an_identity_crop(device):
    """N = A = B, δ = 1, centred: F_X = F_Y = I, so read(x) = x and write(w) = w (γ = 1); with
    N < A the same settings cut out an N × N crop starting at the grid's first filter."""
    x = torch.randn(6, 6, dtype=torch.float64, device=device)
    F_x, F_y = filterbank(*identity_raw(6, 6, 6, 1, 1, device), 6, 6, 6)
    eye = torch.eye(6, dtype=torch.float64, device=device)
    torch.testing.assert_close(F_x, eye, **EXACT)  # neighbours weigh exp(-1/(2·10⁻⁴)) = 0 in float64
    torch.testing.assert_close(read(x, F_x, F_y), x, **EXACT)
    torch.testing.assert_close(write(x, F_x, F_y), x, **EXACT)
    image = torch.randn(9, 11, dtype=torch.float64, device=device)   # B = 9 rows, A = 11 columns
    F_x, F_y = filterbank(*identity_raw(4, 11, 9, first_x=6, first_y=2, device=device), 4, 11, 9)
    torch.testing.assert_close(read(image, F_x, F_y), image[1:5, 5:9], **EXACT)  # rows 2..5, columns 6..9


def test_huge_variance_averages_the_whole_image(device):
    """σ → ∞ flattens every filter to 1/A (or 1/B): every glimpse pixel is γ · mean(x), and
    writing spreads the patch's mean evenly, (1/γ) · N² mean(w) / (A B) per canvas pixel."""
    x = torch.randn(2, 5, 7, dtype=torch.float64, device=device)
    w = torch.randn(2, 3, 3, dtype=torch.float64, device=device)
    raw = [torch.tensor(v, dtype=torch.float64, device=device) for v in (0.1, -0.2, math.log(1e12), 0.0)]
    F_x, F_y = filterbank(*raw, 3, 7, 5)
    glimpse, canvas = read(x, F_x, F_y, 2.0), write(w, F_x, F_y, 2.0)
    tolerance = dict(atol=1e-8, rtol=1e-8)  # the Gaussian is 1 - O(49/10¹²) across the image
    torch.testing.assert_close(glimpse, 2.0 * x.mean((-1, -2))[:, None, None].expand(2, 3, 3), **tolerance)
    torch.testing.assert_close(canvas, (9 * w.mean((-1, -2)) / (2.0 * 35))[:, None, None].expand(2, 5, 7), **tolerance)


def test_write_is_the_transpose_of_read(device):
    """⟨read(x), w⟩ = γ ⟨F_Y x F_Xᵀ, w⟩ = γ ⟨x, F_Yᵀ w F_X⟩ = γ² ⟨x, write(w)⟩, per example."""
    N, A, B = 4, 9, 6
    raw = random_raw(3, device, seed=3)
    F_x, F_y = filterbank(*raw, N, A, B)
    gamma = torch.tensor([0.5, 1.0, 3.0], dtype=torch.float64, device=device)
    x = torch.randn(3, B, A, dtype=torch.float64, device=device)
    w = torch.randn(3, N, N, dtype=torch.float64, device=device)
    left = (read(x, F_x, F_y, gamma) * w).sum((-1, -2))
    right = gamma ** 2 * (x * write(w, F_x, F_y, gamma)).sum((-1, -2))
    torch.testing.assert_close(left, right, **EXACT)
    # and as matrices: the read operator's matrix is the transpose of the write operator's
    read_matrix = torch.func.jacrev(lambda image: read(image, F_x[0], F_y[0]))(x[0]).reshape(N * N, B * A)
    write_matrix = torch.func.jacrev(lambda patch: write(patch, F_x[0], F_y[0]))(w[0]).reshape(B * A, N * N)
    torch.testing.assert_close(read_matrix, write_matrix.T, **EXACT)


def test_parametrisation_centres_the_grid_and_spans_the_image(device):
    """g̃ = 0 puts the grid at the image centre ((A+1)/2, (B+1)/2); δ̃ = 1 makes the grid run from
    pixel 1 to pixel max(A, B) along both axes; the grid is symmetric about its centre."""
    N, A, B = 5, 13, 9
    zero = torch.zeros((), dtype=torch.float64, device=device)
    g_x, g_y, delta, var = attention_parameters(zero, zero, zero, zero, N, A, B)
    assert (g_x.item(), g_y.item(), delta.item(), var.item()) == (7.0, 5.0, 3.0, 1.0)
    mu = filter_centres(g_x, delta, N)
    torch.testing.assert_close(mu, torch.tensor([1.0, 4.0, 7.0, 10.0, 13.0], dtype=torch.float64, device=device))
    torch.testing.assert_close(mu + mu.flip(0), torch.full_like(mu, 2 * g_x.item()))


def test_module_reads_both_channels_and_writes_its_own_patch(device):
    torch.manual_seed(4)
    head = DrawAttention(state_size=6, N=3, A=8, B=7).to(device)
    h = torch.randn(2, 6, device=device)
    x = torch.randn(2, 2, 7, 8, device=device)  # image and error image
    F_x, F_y, gamma = head(h)
    assert torch.all(gamma > 0)
    glimpses = head.read(h, x)
    assert glimpses.shape == (2, 2, 3, 3)
    for channel in range(2):
        torch.testing.assert_close(glimpses[:, channel], read(x[:, channel], F_x, F_y, gamma), **FLOAT32)
    patch = head.patch(h).reshape(2, 3, 3)
    torch.testing.assert_close(head.write(h), write(patch, F_x, F_y, gamma), **FLOAT32)


def test_gradients_reach_every_parameter_and_the_image(device):
    """Everything is smooth, so where to look is learned by backpropagation."""
    torch.manual_seed(5)
    head = DrawAttention(state_size=5, N=4, A=10, B=8).to(device).double()
    h = torch.randn(3, 5, dtype=torch.float64, device=device, requires_grad=True)
    x = torch.randn(3, 8, 10, dtype=torch.float64, device=device, requires_grad=True)
    (head.read(h, x).square().sum() + head.write(h).square().sum()).backward()
    for name, parameter in list(head.named_parameters()) + [("h", h), ("x", x)]:
        assert parameter.grad is not None and torch.isfinite(parameter.grad).all(), name
        assert parameter.grad.abs().sum() > 0, name
    assert torch.autograd.gradcheck(lambda state: head.read(state, x.detach()), (h.detach().requires_grad_(),))


def test_demo_runs_and_agrees(device):
    result = demo(device)
    assert result["max_error"] < 1e-5
    assert result["row_sum_error"] < 1e-5
    assert result["adjoint_gap"] < 1e-5
    assert [g.shape for g in result["glimpses"]] == [(12, 12)] * 3
    contrast = [result["contrast"][name] for name in result["names"]]
    assert contrast[0] < contrast[1] < contrast[2]  # the finer the grid, the better the stripes are resolved
    # δ = 1 is a crop (rows 12..23, columns 19..30) blurred by σ = 1/2: a pixel keeps 1/(1 + 2e⁻²) ≈ 0.79 of
    # its weight per axis and each neighbour gets 0.11, so where one neighbour per axis differs (stripe
    # corners) the glimpse is off by at most 1 - (0.79 + 0.11)² ≈ 0.2
    torch.testing.assert_close(result["glimpses"][2], result["image"][11:23, 18:30], atol=0.21, rtol=0)


def test_write_preserves_the_patch_total(device):
    """Σ_{b,a} (F_Yᵀ w F_X)[b, a] = Σ_{j,i} w[j, i] (Σ_b F_Y[j, b]) (Σ_a F_X[i, a]) = Σ w, as every
    filter row sums to one (γ = 1)."""
    raw = random_raw(3, device, seed=6)
    F_x, F_y = filterbank(*raw, 4, 9, 7)
    w = torch.randn(3, 4, 4, dtype=torch.float64, device=device)
    torch.testing.assert_close(write(w, F_x, F_y).sum((-1, -2)), w.sum((-1, -2)), **EXACT)
