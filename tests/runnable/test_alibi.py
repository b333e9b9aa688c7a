"""ALiBi against a loop written from the paper's equation (softmax(q_i Kᵀ/√d + m·[−i, …, −1, 0]) V)
and against torch's F.scaled_dot_product_attention with the bias passed as a float attn_mask; the
slopes against the paper's values and the authors' rule for other head counts."""
from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from runnable.alibi import TinyLanguageModel, alibi_attention, alibi_bias, alibi_slopes, demo, train_short_test_long

EXACT = dict(atol=1e-12, rtol=1e-12)   # float64: the same sums, possibly in another order
FLOAT32 = dict(atol=1e-5, rtol=1e-5)   # float32, head size ≤ 16


def qkv(device, B=2, H=4, L_q=7, L_k=7, d=6, dtype=torch.float64, seed=0):
    generator = torch.Generator().manual_seed(seed)
    return [torch.randn(B, H, L, d, generator=generator, dtype=dtype).to(device) for L in (L_q, L_k, L_k)]


def loop_reference(q, k, v, slopes):
    """Query by query, head by head: the row m·[−i, …, −1, 0] over the keys 0 … i (position i of L_k)."""
    B, H, L_q, d = q.shape
    L_k = k.shape[2]
    output = torch.zeros(B, H, L_q, v.shape[-1], dtype=q.dtype, device=q.device)
    for h in range(H):
        for r in range(L_q):
            i = L_k - L_q + r                                     # the query's position
            scores = torch.einsum("bd,bjd->bj", q[:, h, r], k[:, h, :i + 1]) / math.sqrt(d)   # (B, i+1)
            scores = scores + slopes[h] * torch.arange(-i, 1, dtype=q.dtype, device=q.device)
            output[:, h, r] = torch.einsum("bj,bjd->bd", torch.softmax(scores, -1), v[:, h, :i + 1])
    return output


@pytest.mark.parametrize("H", [4, 6, 8])
@pytest.mark.parametrize("L_q, L_k", [(7, 7), (1, 9), (3, 8)], ids=["square", "decode", "chunk"])
def test_matches_the_loop_from_the_paper(device, H, L_q, L_k):
    q, k, v = qkv(device, H=H, L_q=L_q, L_k=L_k)
    slopes = torch.tensor(alibi_slopes(H), dtype=torch.float64, device=device)
    torch.testing.assert_close(alibi_attention(q, k, v, slopes), loop_reference(q, k, v, slopes), **EXACT)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=str)
def test_matches_torch_sdpa_with_the_bias_as_attn_mask(device, dtype):
    q, k, v = qkv(device, H=8, L_q=10, L_k=10, dtype=dtype, seed=1)
    slopes = torch.tensor(alibi_slopes(8), dtype=dtype, device=device)
    expected = F.scaled_dot_product_attention(q, k, v, attn_mask=alibi_bias(slopes, 10, 10))
    torch.testing.assert_close(alibi_attention(q, k, v, slopes), expected, **(EXACT if dtype == torch.float64 else FLOAT32))


def test_zero_slopes_are_plain_causal_attention(device):
    """Negative control and the sinusoidal model's attention: with m = 0 only the causal mask is left."""
    q, k, v = qkv(device, seed=2)
    zero = torch.zeros(4, dtype=torch.float64, device=device)
    torch.testing.assert_close(alibi_attention(q, k, v, zero), F.scaled_dot_product_attention(q, k, v, is_causal=True), **EXACT)
    slopes = torch.tensor(alibi_slopes(4), dtype=torch.float64, device=device)
    assert not torch.allclose(alibi_attention(q, k, v, slopes), alibi_attention(q, k, v, zero))


def test_bias_is_the_paper_row_and_depends_only_on_distance(device):
    slopes = torch.tensor([0.5, 0.25], device=device)
    bias = alibi_bias(slopes, 4, 4)
    assert bias[0, 3].tolist() == [-1.5, -1.0, -0.5, 0.0]                 # m·[−(i−1), …, −1, 0], i = 4 (1-based)
    assert torch.isinf(bias[:, 0, 1:]).all() and (bias[:, 0, 1:] < 0).all()   # causal: the future is −∞
    # the last query of a longer sequence sees the same row shifted: a bias of j − i only
    torch.testing.assert_close(alibi_bias(slopes, 1, 7)[:, 0, 3:], bias[:, 3])
    torch.testing.assert_close(alibi_bias(slopes, 3, 7), alibi_bias(slopes, 7, 7)[:, 4:])


def test_slopes_follow_the_geometric_rule_and_the_authors_rule_for_other_counts():
    for n in (1, 2, 4, 16, 32):
        assert alibi_slopes(n) == pytest.approx([2 ** (-8 / n) * (2 ** (-8 / n)) ** h for h in range(n)], rel=1e-12)
    # n = 12: the 8 slopes for 8 heads, then slopes 1, 3, 5, 7 (counting from 1) of the 16-head sequence
    sixteen = [2 ** (-0.5 * h) for h in range(1, 17)]
    assert alibi_slopes(12) == pytest.approx([2 ** -h for h in range(1, 9)] + sixteen[0:8:2], rel=1e-12)
    assert alibi_slopes(6) == pytest.approx([2 ** -2, 2 ** -4, 2 ** -6, 2 ** -8, 2 ** -1, 2 ** -3], rel=1e-12)
    assert len(set(alibi_slopes(12))) == 12


def test_model_runs_at_lengths_it_was_not_built_for(device):
    torch.manual_seed(3)
    model = TinyLanguageModel(8, d_model=16, num_heads=4, layers=1).to(device)
    tokens = torch.randint(8, (2, 50), device=device)
    logits = model(tokens)
    assert logits.shape == (2, 50, 8) and torch.isfinite(logits).all()
    torch.testing.assert_close(model(tokens[:, :10]), logits[:, :10], **FLOAT32)   # causal: a prefix sees only itself


def test_train_short_test_long_extrapolates_better_than_sinusoids():
    """Trained on 24 tokens, measured on 192: the sinusoidal model's loss more than doubles; the
    ALiBi model stays well below it (the margins are far from what the seeded run gives)."""
    losses = train_short_test_long(steps=150)
    assert losses["sinusoidal"][-1] > 2 * losses["sinusoidal"][0]
    assert losses["alibi"][-1] < 0.6 * losses["sinusoidal"][-1]
    assert losses["alibi"][0] < 0.8                                       # it learned the rule (uniform: log 8 ≈ 2.08)


def test_demo_runs_and_agrees(device):
    result = demo(device)
    assert result["error"] < 1e-5 and result["slopes"][0] == 0.5
