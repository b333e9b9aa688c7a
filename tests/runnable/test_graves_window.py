"""Graves's soft window against the equations written as a loop, a closed form for one
Gaussian, κ's monotonicity, masks, batching and gradients."""
from __future__ import annotations

import math

import torch

from runnable.graves_window import GravesWindow, demo, naive_window

TOLERANCE = dict(atol=1e-5, rtol=1e-5)  # float32 against float64 loops; κ stays below ~20 here


def one_hot_text(B, U, C, device, seed=0):
    generator = torch.Generator().manual_seed(seed)
    return torch.eye(C)[torch.randint(0, C, (B, U), generator=generator)].to(device)


def test_matches_the_loop_with_padding(device):
    torch.manual_seed(1)
    window = GravesWindow(hidden_size=5, components=3).to(device)
    hiddens, chars = torch.randn(3, 7, 5, device=device), one_hot_text(3, 6, 4, device)
    mask = torch.tensor([[1] * 6, [1] * 4 + [0] * 2, [1] + [0] * 5], dtype=torch.bool, device=device)
    windows, phi, kappa = window(hiddens, chars, mask)
    ref_windows, ref_phi, ref_kappa = naive_window(window, hiddens.cpu(), chars.cpu(), mask.cpu())
    torch.testing.assert_close(kappa.double().cpu(), ref_kappa, **TOLERANCE)
    torch.testing.assert_close(phi.double().cpu(), ref_phi, **TOLERANCE)
    torch.testing.assert_close(windows.double().cpu(), ref_windows, **TOLERANCE)
    assert torch.all(phi[~mask[:, None, :].expand_as(phi)] == 0)


def test_one_gaussian_has_the_closed_form(device):
    """K = 1 with W = 0: α = e^a, β = e^b, κ_t = t e^c, so φ(t, u) = α exp(-β (t e^c - u)^2), and
    with distinct one-hot characters the window is φ itself."""
    a, b, c = 0.3, math.log(0.7), math.log(0.45)
    window = GravesWindow(hidden_size=4, components=1).to(device)
    with torch.no_grad():
        window.params.weight.zero_()
        window.params.bias.copy_(torch.tensor([a, b, c]))
    T, U = 9, 5
    windows, phi, kappa = window(torch.randn(1, T, 4, device=device), torch.eye(U, device=device)[None])
    t = torch.arange(1, T + 1, dtype=torch.float64)[:, None]
    u = torch.arange(1, U + 1, dtype=torch.float64)[None, :]
    expected = math.exp(a) * torch.exp(-math.exp(b) * (t * math.exp(c) - u) ** 2)
    torch.testing.assert_close(kappa[0, :, 0].double().cpu(), t[:, 0] * math.exp(c), **TOLERANCE)
    torch.testing.assert_close(phi[0].double().cpu(), expected, **TOLERANCE)
    torch.testing.assert_close(windows[0].double().cpu(), expected, **TOLERANCE)


def test_kappa_never_moves_backwards(device):
    torch.manual_seed(2)
    window = GravesWindow(hidden_size=6, components=4).to(device)
    hiddens = 3 * torch.randn(2, 30, 6, device=device)  # large swings in κ̂, still only forward
    _, _, kappa = window(hiddens, one_hot_text(2, 8, 5, device))
    steps = torch.diff(torch.cat([torch.zeros_like(kappa[:, :1]), kappa], 1), dim=1)
    assert torch.all(steps > 0)


def test_padding_and_batching_do_not_change_an_example(device):
    torch.manual_seed(3)
    window = GravesWindow(hidden_size=5, components=2).to(device)
    hiddens, chars = torch.randn(2, 6, 5, device=device), one_hot_text(2, 7, 4, device, seed=3)
    mask = torch.ones(2, 7, dtype=torch.bool, device=device)
    mask[1, 4:] = False
    windows, phi, kappa = window(hiddens, chars, mask)
    alone_windows, alone_phi, alone_kappa = window(hiddens[1:], chars[1:, :4])  # no padding at all
    torch.testing.assert_close(windows[1:], alone_windows, **TOLERANCE)
    torch.testing.assert_close(phi[1:, :, :4], alone_phi, **TOLERANCE)
    torch.testing.assert_close(kappa[1:], alone_kappa, **TOLERANCE)
    first_windows, _, _ = window(hiddens[:1], chars[:1])
    torch.testing.assert_close(windows[:1], first_windows, **TOLERANCE)


def test_gradients_match_finite_differences(device):
    torch.manual_seed(4)
    window = GravesWindow(hidden_size=3, components=2).to(device).double()
    chars = one_hot_text(1, 4, 3, device, seed=4).double()
    hiddens = torch.randn(1, 3, 3, device=device, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda h: window(h, chars)[0], (hiddens,), eps=1e-6, atol=1e-6)
    window(hiddens, chars)[0].sum().backward()
    for name, parameter in window.named_parameters():
        assert parameter.grad is not None and torch.isfinite(parameter.grad).all() and parameter.grad.abs().sum() > 0, name


def test_demo_runs_and_agrees(device):
    result = demo(device)
    assert result["max_error"] < 1e-5
    assert result["monotone"]
    peaks = result["phi"].argmax(-1)
    assert peaks[0] < peaks[-1]  # the window has moved along the text
