"""DNC memory access against loops (allocation over the free list, the link matrix entry by
entry), closed forms (free memory, full rows, one-hot writes in order), the range of usage,
freeing, read modes, and gradients."""
from __future__ import annotations

import pytest
import torch

from runnable.dnc_memory import (DNCMemory, allocation, content_weighting, demo, naive_allocation, naive_link,
                                 precedence, read_weighting, retention, update_link, usage, write_memory,
                                 write_weighting)

EXACT = dict(atol=1e-12, rtol=1e-12)   # float64 against float64 loops over at most 9 rows
FLOAT32 = dict(atol=1e-6, rtol=1e-5)   # float32 products of at most 9 factors in [0, 1]


def simplex(*shape, generator, device, dtype=torch.float64, total=1.0):
    """Non-negative weights summing to `total` ≤ 1 over the last dim, like a soft weighting."""
    return (total * torch.softmax(3 * torch.randn(*shape, generator=generator, dtype=dtype), -1)).to(device)


@pytest.mark.parametrize("dtype, tolerance", [(torch.float64, EXACT), (torch.float32, FLOAT32)], ids=["f64", "f32"])
def test_allocation_matches_the_loop(device, dtype, tolerance):
    generator = torch.Generator().manual_seed(1)
    u = torch.rand(6, 9, generator=generator, dtype=dtype)
    u[0] = torch.tensor([0.5, 0.2, 0.5, 0.9, 0.2, 0.0, 1.0, 0.5, 0.2], dtype=dtype)   # ties keep index order
    a = allocation(u.to(device))
    torch.testing.assert_close(a.cpu().double(), naive_allocation(u), **tolerance)
    assert torch.all(a >= 0) and torch.all(a.sum(-1) <= 1 + 1e-6)


def test_allocation_closed_forms(device):
    """All free: the first row gets everything. A fully used row gets nothing. One row in use at
    u and the rest full: that row gets 1 - u. Σ_j a[φ[j]] = 1 - Π_j u[j] (a telescoping sum)."""
    free = allocation(torch.zeros(2, 5, device=device))
    torch.testing.assert_close(free, torch.eye(5, device=device)[[0, 0]])
    used = torch.tensor([[1.0, 0.3, 1.0, 0.6, 1.0]], device=device)
    a = allocation(used)
    assert torch.all(a[0, [0, 2, 4]] == 0)
    torch.testing.assert_close(a, torch.tensor([[0.0, 0.7, 0.0, 0.4 * 0.3, 0.0]], device=device))
    one = allocation(torch.tensor([[1.0, 1.0, 0.25, 1.0]], device=device))
    torch.testing.assert_close(one, torch.tensor([[0.0, 0.0, 0.75, 0.0]], device=device))
    u = torch.rand(4, 7, device=device, dtype=torch.float64)
    torch.testing.assert_close(allocation(u).sum(-1), 1 - u.prod(-1), **EXACT)


def test_link_matrix_matches_the_loop(device):
    generator = torch.Generator().manual_seed(2)
    link = torch.rand(3, 7, 7, generator=generator, dtype=torch.float64) / 7
    p = simplex(3, 7, generator=generator, device="cpu", total=0.8)
    w = simplex(3, 7, generator=generator, device="cpu", total=0.9)
    got = update_link(link.to(device), p.to(device), w.to(device))
    torch.testing.assert_close(got.cpu(), naive_link(link, p, w), **EXACT)
    assert torch.all(torch.diagonal(got, dim1=-2, dim2=-1) == 0)


def test_usage_retention_and_precedence_closed_forms(device):
    generator = torch.Generator().manual_seed(3)
    u_prev = torch.rand(2, 6, generator=generator, dtype=torch.float64).to(device)
    w_prev = simplex(2, 6, generator=generator, device=device)
    w_r = simplex(2, 3, 6, generator=generator, device=device)
    f = torch.rand(2, 3, generator=generator, dtype=torch.float64).to(device)
    psi = retention(f, w_r)
    expected_psi = (1 - f[:, 0, None] * w_r[:, 0]) * (1 - f[:, 1, None] * w_r[:, 1]) * (1 - f[:, 2, None] * w_r[:, 2])
    torch.testing.assert_close(psi, expected_psi, **EXACT)
    # u + w - u w = 1 - (1 - u)(1 - w): a row is free only if the old usage and the write both left it free
    torch.testing.assert_close(usage(u_prev, w_prev, psi), (1 - (1 - u_prev) * (1 - w_prev)) * psi, **EXACT)
    p_prev = simplex(2, 6, generator=generator, device=device, total=0.7)
    torch.testing.assert_close(precedence(p_prev, w_prev), w_prev, **EXACT)  # Σ w = 1 replaces p entirely
    torch.testing.assert_close(precedence(p_prev, 0 * w_prev), p_prev, **EXACT)  # no write, no change


def test_usage_stays_in_the_unit_interval_over_random_steps(device):
    """Random soft writes, reads and free gates for 30 steps: u ∈ [0, 1], p and every weighting a
    sub-distribution (Σ ≤ 1), L ∈ [0, 1] with zero diagonal."""
    torch.manual_seed(4)
    B, N, W, R = 3, 6, 4, 2
    dnc = DNCMemory(B, N, W, R, device=device, dtype=torch.float64)
    rand = lambda *shape: torch.rand(*shape, device=device, dtype=torch.float64)
    for _ in range(30):
        w = dnc.write(torch.randn(B, W, device=device, dtype=torch.float64), 5 * rand(B), rand(B, W),
                      torch.randn(B, W, device=device, dtype=torch.float64), rand(B), rand(B), free_gates=rand(B, R))
        _, w_r = dnc.read(torch.randn(B, R, W, device=device, dtype=torch.float64), 5 * rand(B, R),
                          torch.softmax(torch.randn(B, R, 3, device=device, dtype=torch.float64), -1))
        assert torch.all((dnc.usage >= 0) & (dnc.usage <= 1))
        for weights in (w, w_r, dnc.precedence):
            assert torch.all(weights >= 0) and torch.all(weights.sum(-1) <= 1 + 1e-12)
        assert torch.all((dnc.link >= 0) & (dnc.link <= 1))
        assert torch.all(torch.diagonal(dnc.link, dim1=-2, dim2=-1) == 0)


def test_links_follow_the_order_of_one_hot_writes(device):
    """Writing rows a, b, c in turn sets L[b, a] = L[c, b] = 1 and nothing else: forwards from a
    reads b, backwards from c reads b; forwards from c and backwards from a read nothing."""
    N, (a, b, c) = 6, (4, 1, 3)
    link, p = torch.zeros(1, N, N, device=device), torch.zeros(1, N, device=device)
    for row in (a, b, c):
        w = torch.zeros(1, N, device=device)
        w[0, row] = 1
        link, p = update_link(link, p, w), precedence(p, w)
    expected = torch.zeros(N, N, device=device)
    expected[b, a] = expected[c, b] = 1
    torch.testing.assert_close(link[0], expected)
    one_hot = torch.eye(N, device=device)
    content = torch.zeros(1, 1, N, device=device)
    forward = torch.tensor([[[0.0, 0.0, 1.0]]], device=device)
    backward = torch.tensor([[[1.0, 0.0, 0.0]]], device=device)
    torch.testing.assert_close(read_weighting(link, one_hot[a][None, None], content, forward)[0, 0], one_hot[b])
    torch.testing.assert_close(read_weighting(link, one_hot[c][None, None], content, backward)[0, 0], one_hot[b])
    assert read_weighting(link, one_hot[c][None, None], content, forward).sum() == 0
    assert read_weighting(link, one_hot[a][None, None], content, backward).sum() == 0


def test_read_modes_mix_linearly_and_content_matches_a_loop(device):
    generator = torch.Generator().manual_seed(5)
    memory = torch.randn(2, 5, 3, generator=generator, dtype=torch.float64).to(device)
    keys = torch.randn(2, 2, 3, generator=generator, dtype=torch.float64).to(device)
    beta = 4 * torch.rand(2, 2, generator=generator, dtype=torch.float64).to(device)
    c = content_weighting(memory, keys, beta)
    for b_ in range(2):
        for h in range(2):
            k, m = keys[b_, h], memory[b_]
            cos = torch.stack([k @ m[i] / (k.norm() * m[i].norm()) for i in range(5)])
            torch.testing.assert_close(c[b_, h], torch.softmax(beta[b_, h] * cos, -1), **EXACT)
    link = torch.rand(2, 5, 5, generator=generator, dtype=torch.float64).to(device) / 5
    prev = simplex(2, 2, 5, generator=generator, device=device)
    modes = simplex(2, 2, 3, generator=generator, device=device)
    mixed = read_weighting(link, prev, c, modes)
    expected = (modes[..., 0:1] * torch.einsum("bij,bri->brj", link, prev) + modes[..., 1:2] * c
                + modes[..., 2:3] * torch.einsum("bij,brj->bri", link, prev))
    torch.testing.assert_close(mixed, expected, **EXACT)


def test_write_weighting_and_memory_update(device):
    generator = torch.Generator().manual_seed(6)
    memory = torch.randn(2, 4, 3, generator=generator, dtype=torch.float64).to(device)
    a, c = simplex(2, 4, generator=generator, device=device), simplex(2, 4, generator=generator, device=device)
    g_a = torch.tensor([0.0, 1.0], dtype=torch.float64, device=device)
    g_w = torch.full((2,), 0.5, dtype=torch.float64, device=device)
    w = write_weighting(a, c, g_a, g_w)
    torch.testing.assert_close(w, torch.stack([0.5 * c[0], 0.5 * a[1]]), **EXACT)  # g^a picks the source
    erase = torch.rand(2, 3, dtype=torch.float64, device=device)
    value = torch.randn(2, 3, dtype=torch.float64, device=device)
    new = write_memory(memory, w, erase, value)
    for b in range(2):
        for i in range(4):
            torch.testing.assert_close(new[b, i], memory[b, i] * (1 - w[b, i] * erase[b]) + w[b, i] * value[b], **EXACT)


def test_free_gate_releases_a_row_for_the_next_allocation(device):
    """Fill three of three rows, read row 1 by content, then free it: the next allocation writes
    there. Without the free gate a full memory has nothing left to allocate."""
    values = torch.tensor([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]], device=device)  # distinct directions for cosine
    one, ones = torch.ones(1, device=device), torch.ones(1, 2, device=device)
    content = torch.tensor([[[0.0, 1.0, 0.0]]], device=device)
    for free in (True, False):
        dnc = DNCMemory(1, 3, 2, reads=1, device=device)
        for t in range(3):
            dnc.write(ones, one, ones, values[t:t + 1], one, one)
        dnc.read(values[None, 1:2], torch.full((1, 1), 100.0, device=device), content)
        assert dnc.read_weights[0, 0].argmax() == 1
        w = dnc.write(ones, one, ones, ones, one, one, free_gates=(one if free else 0 * one)[:, None])
        if free:
            assert w[0].argmax() == 1 and w[0, 1] > 0.99
        else:
            assert w.sum() < 1e-6


def test_gradients_flow_through_a_step(device):
    """Gradients reach the value, gates, keys, strengths and modes (the sort's order has none)."""
    torch.manual_seed(7)
    leaf = lambda *shape: torch.rand(*shape, device=device, dtype=torch.float64, requires_grad=True)
    value, gate, key, strength, modes = leaf(1, 3), leaf(1), leaf(1, 1, 3), leaf(1, 1), leaf(1, 1, 3)
    dnc = DNCMemory(1, 4, 3, reads=1, device=device, dtype=torch.float64)
    dnc.usage = torch.tensor([[0.9, 0.2, 0.6, 0.4]], device=device, dtype=torch.float64)
    for t in range(3):
        dnc.write(value[0].roll(t)[None], 3 * gate, torch.full((1, 3), 0.5, device=device, dtype=torch.float64),
                  value * (t + 1), gate, gate)
        r, _ = dnc.read(key, 3 * strength, torch.softmax(modes, -1))
    r.square().sum().backward()
    for name, tensor in dict(value=value, gate=gate, key=key, strength=strength, modes=modes).items():
        assert tensor.grad is not None and torch.isfinite(tensor.grad).all() and tensor.grad.abs().sum() > 0, name


def test_demo_runs_and_agrees(device):
    result = demo(device)
    assert result["written_rows"] == [0, 2, 3, 6, 7]     # rows 1, 4, 5 were in use and are skipped
    assert result["forward_rows"] == result["written_rows"]
    assert result["backward_rows"] == result["written_rows"][::-1]
    assert result["forward_items"] == [0, 1, 2, 3, 4] and result["backward_items"] == [4, 3, 2, 1, 0]
    assert result["read_error"] < 1e-2                  # soft content lookup with a noisy key, β = 30
    assert result["allocation_error"] < 1e-6 and result["link_error"] < 1e-6


def test_the_state_follows_the_inputs_dtype(device):
    """float64 keys on a memory built without a dtype: no dtype error, a float64 state, and the
    same result as a memory built in float64."""
    generator = torch.Generator().manual_seed(8)
    key, value = (torch.randn(1, 3, generator=generator, dtype=torch.float64).to(device) for _ in range(2))
    one = torch.ones(1, dtype=torch.float64, device=device)
    results = []
    for dtype in (None, torch.float64):
        dnc = DNCMemory(1, 4, 3, reads=1, device=device, dtype=dtype)
        dnc.write(key, one, 0.5 * torch.ones_like(key), value, one, one)
        r, w = dnc.read(key[None], torch.full((1, 1), 5.0, dtype=torch.float64, device=device),
                        torch.tensor([[[0.2, 0.6, 0.2]]], dtype=torch.float64, device=device))
        assert r.dtype == w.dtype == dnc.memory.dtype == dnc.link.dtype == torch.float64
        results.append(r)
    torch.testing.assert_close(results[0], results[1], **EXACT)
