"""Criss-cross attention against a per-pixel loop and against full attention (torch's
scaled_dot_product_attention) under a row-or-column mask; one pass reaches the cross, two reach
everything, by gradients, by an impulse and by the reachability closed form."""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from runnable.criss_cross_attention import (CrissCrossAttention, criss_cross_attention, cross_map, demo,
                                            naive_criss_cross, reachability)

EXACT = dict(atol=1e-10, rtol=1e-10)  # float64 (no TF32 in the 1×1 convolutions), sums over ≤ 13 terms
F64 = dict(dtype=torch.float64)


def maps(device, H=5, W=7, seed=0):
    torch.manual_seed(seed)
    return (torch.randn(2, 3, H, W, device=device, **F64), torch.randn(2, 3, H, W, device=device, **F64),
            torch.randn(2, 4, H, W, device=device, **F64))


def cross_mask(H, W, device):
    """(HW, HW): query pixel u may see key pixel p when they share a row or a column (u itself once)."""
    rows, cols = torch.arange(H, device=device).repeat_interleave(W), torch.arange(W, device=device).repeat(H)
    return (rows[:, None] == rows[None]) | (cols[:, None] == cols[None])


@pytest.mark.parametrize("shape", [(5, 7), (4, 4), (1, 6)])
def test_matches_the_per_pixel_loop(device, shape):
    q, k, v = maps(device, *shape)
    torch.testing.assert_close(criss_cross_attention(q, k, v)[0], naive_criss_cross(q, k, v), **EXACT)


def test_matches_masked_full_attention(device):
    """Independent: SDPA over all N = HW pixels with the criss-cross boolean mask and scale 1."""
    q, k, v = maps(device, seed=1)
    flat = lambda t: t.flatten(2).transpose(1, 2)                         # (B, N, C)  # noqa: E731
    expected = F.scaled_dot_product_attention(flat(q), flat(k), flat(v), attn_mask=cross_mask(5, 7, device), scale=1.0)
    out, weights = criss_cross_attention(q, k, v)
    torch.testing.assert_close(flat(out), expected, **EXACT)
    # and the weights, spread back onto the map, are SDPA's rows
    scores = flat(q) @ flat(k).transpose(1, 2)
    full = torch.softmax(scores.masked_fill(~cross_mask(5, 7, device), float("-inf")), -1)
    for i, j in [(0, 0), (2, 3), (4, 6)]:
        torch.testing.assert_close(cross_map(weights[1], i, j).flatten(), full[1, i * 7 + j], **EXACT)


def test_self_counted_once_and_weights_sum_to_one(device):
    """H + W - 1 positive weights per pixel (the masked column entry is exactly 0), summing to 1.
    With all scores equal every position on the path gets 1/(H + W - 1), the pixel itself included."""
    q, k, v = maps(device, seed=2)
    _, weights = criss_cross_attention(q, k, v)
    assert torch.all((weights > 0).sum(-1) == 5 + 7 - 1)
    torch.testing.assert_close(weights.sum(-1), torch.ones(2, 5, 7, device=device, **F64), **EXACT)
    _, uniform = criss_cross_attention(torch.zeros_like(q), k, v)
    torch.testing.assert_close(cross_map(uniform[0], 2, 3),
                               cross_mask(5, 7, device)[2 * 7 + 3].view(5, 7).to(torch.float64) / 11, **EXACT)


def test_module_residual_and_gamma(device):
    """out = γ · criss_cross_attention(Q, K, V) + x; γ starts at 0, so a fresh block is the identity."""
    torch.manual_seed(3)
    block = CrissCrossAttention(8, reduction=4).to(device, **F64)
    x = torch.randn(2, 8, 4, 6, device=device, **F64)
    torch.testing.assert_close(block(x), x, **EXACT)
    with torch.no_grad():
        block.gamma.fill_(0.7)
    context, _ = criss_cross_attention(block.query(x), block.key(x), block.value(x))
    torch.testing.assert_close(block(x), 0.7 * context + x, **EXACT)
    once = block(x)
    torch.testing.assert_close(block(x, recurrence=2), block(once), **EXACT)   # shared weights


def test_reachability_closed_form():
    """One pass: H + W - 1 pixels each; two passes: every pixel (H, W ≥ 1)."""
    for H, W in [(3, 4), (5, 5), (1, 7)]:
        assert torch.all(reachability(H, W, 1).sum(1) == H + W - 1)
        assert torch.all(reachability(H, W, 2))
        assert torch.equal(reachability(H, W, 1), cross_mask(H, W, "cpu"))


@pytest.mark.parametrize("recurrence", [1, 2])
def test_impulse_reaches_the_cross_then_everything(device, recurrence):
    """Change one input pixel: after one pass only the outputs on its row and column change, after
    two every output does, as reachability() predicts."""
    torch.manual_seed(4)
    H, W, (i, j) = 5, 6, (1, 4)
    block = CrissCrossAttention(8, reduction=4).to(device, **F64)
    with torch.no_grad():
        block.gamma.fill_(1.0)
        x = torch.randn(1, 8, H, W, device=device, **F64)
        nudged = x.clone()
        nudged[0, :, i, j] += torch.randn(8, device=device, **F64)
        changed = (block(nudged, recurrence) - block(x, recurrence)).abs().amax(1)[0] > 0
    assert torch.equal(changed.cpu(), reachability(H, W, recurrence)[i * W + j].view(H, W))


def test_demo_runs_and_agrees(device):
    result = demo(device)
    assert result["max_error"] < 1e-5
    assert result["reached"] == {1: 9 + 11 - 1, 2: 9 * 11}
    i, j = result["pixel"]
    assert torch.equal(result["weights"] > 0, reachability(9, 11, 1)[i * 11 + j].view(9, 11))
    torch.testing.assert_close(result["weights"].sum(), torch.tensor(1.0), atol=1e-5, rtol=0)
