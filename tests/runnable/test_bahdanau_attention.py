"""Additive attention against the equations written as a loop, and RNNsearch's shapes, masks and gradients."""
from __future__ import annotations

import torch

from runnable.bahdanau_attention import AdditiveAttention, RNNsearch, demo, naive_additive_attention

TOLERANCE = dict(atol=1e-5, rtol=1e-5)  # float32, sums over at most 7 terms


def test_matches_the_loop_with_padding(device):
    torch.manual_seed(1)
    attention = AdditiveAttention(5, 7, 9).to(device)
    state, annotations = torch.randn(3, 5, device=device), torch.randn(3, 6, 7, device=device)
    mask = torch.tensor([[1] * 6, [1] * 3 + [0] * 3, [1] + [0] * 5], dtype=torch.bool, device=device)
    context, weights = attention(state, annotations, mask)
    ref_context, ref_weights = naive_additive_attention(attention, state, annotations, mask)
    torch.testing.assert_close(weights, ref_weights, **TOLERANCE)
    torch.testing.assert_close(context, ref_context, **TOLERANCE)
    assert torch.all(weights[~mask] == 0)
    torch.testing.assert_close(weights.sum(-1), torch.ones(3, device=device))


def test_one_real_position_takes_all_the_weight(device):
    attention = AdditiveAttention(4, 4, 4).to(device)
    annotations = torch.randn(1, 3, 4, device=device)
    mask = torch.tensor([[False, True, False]], device=device)
    context, weights = attention(torch.randn(1, 4, device=device), annotations, mask)
    assert weights.tolist() == [[0.0, 1.0, 0.0]]
    torch.testing.assert_close(context, annotations[:, 1])


def test_equal_scores_give_the_mean(device):
    """Closed form: with v_a = 0 every score is 0, so α is uniform and c is the mean annotation."""
    attention = AdditiveAttention(4, 6, 5).to(device)
    torch.nn.init.zeros_(attention.v.weight)
    annotations = torch.randn(2, 5, 6, device=device)
    context, weights = attention(torch.randn(2, 4, device=device), annotations)
    torch.testing.assert_close(weights, torch.full((2, 5), 0.2, device=device))
    torch.testing.assert_close(context, annotations.mean(1), **TOLERANCE)


def test_batching_does_not_mix_examples(device):
    torch.manual_seed(2)
    attention = AdditiveAttention(4, 6, 5).to(device)
    state, annotations = torch.randn(4, 4, device=device), torch.randn(4, 5, 6, device=device)
    batched, _ = attention(state, annotations)
    single = torch.cat([attention(state[i:i + 1], annotations[i:i + 1])[0] for i in range(4)])
    torch.testing.assert_close(batched, single, **TOLERANCE)


def test_rnnsearch_shapes_masks_and_gradients(device):
    torch.manual_seed(3)
    model = RNNsearch(source_vocab=11, target_vocab=13, embed=8, hidden=12, align=10).to(device)
    source = torch.randint(1, 11, (2, 7), device=device)
    mask = torch.ones(2, 7, dtype=torch.bool, device=device)
    mask[1, 5:] = False
    logits, alignments = model(source, torch.randint(1, 13, (2, 4), device=device), mask)
    assert logits.shape == (2, 4, 13) and alignments.shape == (2, 4, 7)
    assert torch.all(alignments[1, :, 5:] == 0)
    logits.sum().backward()
    for name, parameter in model.named_parameters():
        assert parameter.grad is not None and torch.isfinite(parameter.grad).all(), name


def test_demo_runs_and_agrees(device):
    result = demo(device)
    assert result["max_error"] < 1e-5

