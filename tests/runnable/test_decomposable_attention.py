"""Decomposable attention against torch's scaled_dot_product_attention (scale 1 on F-projected words),
against the three steps written as a loop, and for its blindness to word order and to padding."""
from __future__ import annotations

import torch
import torch.nn.functional as F

from runnable.decomposable_attention import (DecomposableAttention, demo, naive_decomposable_attention,
                                             set_F_to_sign_split)

TOLERANCE = dict(atol=1e-5, rtol=1e-5)  # float32, sums over at most a dozen words of two small networks


def padded_pair(device, La=6, Lb=5, D=4, seed=0):
    """Three sentence pairs with trailing padding of different lengths on both sides."""
    generator = torch.Generator().manual_seed(seed)
    a, b = torch.randn(3, La, D, generator=generator), torch.randn(3, Lb, D, generator=generator)
    mask_a, mask_b = torch.ones(3, La, dtype=torch.bool), torch.ones(3, Lb, dtype=torch.bool)
    mask_a[1, 4:], mask_b[1, 2:] = False, False
    mask_a[2, 1:], mask_b[2, 4:] = False, False                # a one-word premise
    return a.to(device), b.to(device), mask_a.to(device), mask_b.to(device)


def test_alignment_matches_torch_sdpa(device):
    """β_i is attention with queries F(a_i), keys F(b_j), values b_j and scale 1; α_j the same with
    the sentences' roles swapped. Compared on real words (padding rows are set to 0 by the module)."""
    torch.manual_seed(1)
    model = DecomposableAttention(4, 8).to(device)
    a, b, mask_a, mask_b = padded_pair(device)
    beta, alpha, to_b, to_a = model.attend(a, b, mask_a, mask_b)
    Fa, Fb = model.F(a), model.F(b)
    expected_beta = F.scaled_dot_product_attention(Fa, Fb, b, attn_mask=mask_b[:, None, :], scale=1.0)
    expected_alpha = F.scaled_dot_product_attention(Fb, Fa, a, attn_mask=mask_a[:, None, :], scale=1.0)
    torch.testing.assert_close(beta[mask_a], expected_beta[mask_a], **TOLERANCE)
    torch.testing.assert_close(alpha[mask_b], expected_alpha[mask_b], **TOLERANCE)
    assert torch.all(beta[~mask_a] == 0) and torch.all(alpha[~mask_b] == 0)
    pair = mask_a[:, :, None] & mask_b[:, None, :]
    assert torch.all(to_b[~pair] == 0) and torch.all(to_a[~pair] == 0)
    torch.testing.assert_close(to_b.sum(2)[mask_a], torch.ones(int(mask_a.sum()), device=device), **TOLERANCE)
    torch.testing.assert_close(to_a.sum(1)[mask_b], torch.ones(int(mask_b.sum()), device=device), **TOLERANCE)


def test_matches_the_loop(device):
    torch.manual_seed(2)
    model = DecomposableAttention(4, 8, classes=3).to(device)
    a, b, mask_a, mask_b = padded_pair(device, seed=3)
    scores, _, _ = model(a, b, mask_a, mask_b)
    beta, alpha, _, _ = model.attend(a, b, mask_a, mask_b)
    ref_scores, ref_beta, ref_alpha = naive_decomposable_attention(model, a, b, mask_a, mask_b)
    assert scores.shape == (3, 3)
    torch.testing.assert_close(scores, ref_scores, **TOLERANCE)
    torch.testing.assert_close(beta, ref_beta, **TOLERANCE)
    torch.testing.assert_close(alpha, ref_alpha, **TOLERANCE)


def test_word_order_does_not_matter(device):
    """Permuting the words of either sentence permutes e_ij's rows or columns, the β_i and α_j with
    them, and leaves the sums, so the class scores, unchanged."""
    torch.manual_seed(4)
    model = DecomposableAttention(4, 8).to(device)
    a, b, _, _ = padded_pair(device, seed=5)
    scores = model(a, b)[0]
    generator = torch.Generator().manual_seed(6)
    pa, pb = torch.randperm(6, generator=generator).to(device), torch.randperm(5, generator=generator).to(device)
    shuffled, to_b, _ = model(a[:, pa], b[:, pb])
    torch.testing.assert_close(shuffled, scores, **TOLERANCE)
    torch.testing.assert_close(to_b, model(a, b)[1][:, pa][:, :, pb], **TOLERANCE)


def test_padding_does_not_change_the_output(device):
    """The padded batch gives each pair the scores it gets alone at its true length, whatever the
    padding vectors hold."""
    torch.manual_seed(7)
    model = DecomposableAttention(4, 8).to(device)
    a, b, mask_a, mask_b = padded_pair(device, seed=8)
    scores = model(a, b, mask_a, mask_b)[0]
    noisy_a = torch.where(mask_a[..., None], a, 100 * torch.randn_like(a))
    noisy_b = torch.where(mask_b[..., None], b, 100 * torch.randn_like(b))
    torch.testing.assert_close(model(noisy_a, noisy_b, mask_a, mask_b)[0], scores, **TOLERANCE)
    for n in range(3):
        alone = model(a[n:n + 1, mask_a[n]], b[n:n + 1, mask_b[n]])[0]
        torch.testing.assert_close(alone, scores[n:n + 1], **TOLERANCE)


def test_sign_split_F_scores_same_sign_products(device):
    """Closed form of the demo's hand-set F: e_ij = Σ_d [max(a,0)max(b,0) + max(-a,0)max(-b,0)]_d, and
    an identical pair scores ‖x‖²."""
    model = DecomposableAttention(4, 8).to(device)
    set_F_to_sign_split(model)
    a, b, _, _ = padded_pair(device, seed=9)
    e = model.F(a) @ model.F(b).transpose(1, 2)
    expected = a.clamp(min=0) @ b.clamp(min=0).transpose(1, 2) + a.clamp(max=0) @ b.clamp(max=0).transpose(1, 2)
    torch.testing.assert_close(e, expected, **TOLERANCE)
    torch.testing.assert_close(model.F(a).square().sum(-1), a.square().sum(-1), **TOLERANCE)


def test_gradients_reach_every_parameter(device):
    torch.manual_seed(10)
    model = DecomposableAttention(4, 8).to(device)
    a, b, mask_a, mask_b = padded_pair(device, seed=11)
    model(a, b, mask_a, mask_b)[0].square().sum().backward()
    for name, parameter in model.named_parameters():
        assert torch.isfinite(parameter.grad).all() and parameter.grad.abs().sum() > 0, name


def test_demo_runs_and_agrees(device):
    result = demo(device)
    assert result["max_error"] < 1e-5
    # the page's claim: every premise word with an identical or near-synonym partner peaks on it
    assert result["hits"] == ["a", "man", "plays", "a", "guitar"]
    assert all(result["alignment"][i, j] > 0.9 for i, j in result["matched"])
    torch.testing.assert_close(result["alignment"].sum(-1), torch.ones(7), **TOLERANCE)
