"""Additive attention against the equations written as a loop; RNNsearch against appendix A step by step,
padding invariance, and negative controls for two paper-level mistakes."""
from __future__ import annotations

import pytest
import torch

from runnable.bahdanau_attention import (AdditiveAttention, RNNsearch, demo, naive_additive_attention, source_lengths,
                                         step_by_step)

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



# RNNsearch against appendix A's equations, in float64 (cuDNN's float32 GRU uses TF32 products).
EXACT = dict(atol=1e-10, rtol=1e-10)


def small_rnnsearch(device, seed=4):
    torch.manual_seed(seed)
    return RNNsearch(source_vocab=11, target_vocab=13, embed=5, hidden=6, align=7, maxout=4).to(device, torch.float64)


def test_rnnsearch_matches_the_papers_equations_step_by_step(device):
    model = small_rnnsearch(device)
    source, target_in = torch.randint(1, 11, (3, 8), device=device), torch.randint(1, 13, (3, 5), device=device)
    lengths = torch.tensor([8, 5, 2], device=device)
    mask = torch.arange(8, device=device)[None] < lengths[:, None]
    logits, alignments = model(source, target_in, mask)
    ref_logits, ref_alignments = step_by_step(model, source, target_in, lengths)
    torch.testing.assert_close(logits, ref_logits, **EXACT)
    torch.testing.assert_close(alignments, ref_alignments, **EXACT)


def test_padding_changes_nothing(device):
    """The same 5-token source alone and padded to 8: equal logits and α on the real positions,
    exactly zero α on the padding (the backward GRU and s_0 read only the real sentence)."""
    model = small_rnnsearch(device)
    source, target_in = torch.randint(1, 11, (1, 5), device=device), torch.randint(1, 13, (1, 4), device=device)
    padded = torch.cat([source, torch.randint(1, 11, (1, 3), device=device)], 1)   # junk, not zeros: it must not matter
    mask = torch.tensor([[True] * 5 + [False] * 3], device=device)
    alone_logits, alone_alpha = model(source, target_in)
    padded_logits, padded_alpha = model(padded, target_in, mask)
    torch.testing.assert_close(padded_logits, alone_logits, **EXACT)
    torch.testing.assert_close(padded_alpha[..., :5], alone_alpha, **EXACT)
    assert torch.all(padded_alpha[..., 5:] == 0)


def test_a_mask_that_is_not_right_padding_is_refused():
    model = RNNsearch(11, 13, embed=4, hidden=4, align=4)
    with pytest.raises(ValueError, match="right padding"):
        model(torch.ones(1, 4, dtype=torch.long), torch.ones(1, 2, dtype=torch.long),
              torch.tensor([[False, True, True, True]]))


class StartsFromTheForwardState(RNNsearch):
    """Mistake 1: s_0 = tanh(W_s →h_T), the forward encoder's last state, instead of ←h_1."""

    def encode(self, source, source_mask=None):
        annotations, _ = super().encode(source, source_mask)
        last = source_lengths(source, source_mask) - 1
        forward_last = annotations[torch.arange(source.shape[0]), last, :annotations.shape[-1] // 2]
        return annotations, torch.tanh(self.init_state(forward_last))


class ScoresWithTheNewState(RNNsearch):
    """Mistake 2: update the state first and score the annotations with s_i instead of s_{i-1}
    (the context that enters the update then comes from the previous step)."""

    def forward(self, source, target_in, source_mask=None):
        annotations, state = self.encode(source, source_mask)
        context = annotations.new_zeros(annotations.shape[0], annotations.shape[-1])
        logits, alignments = [], []
        for y_prev in self.target_embed(target_in).unbind(1):
            readout = self.readout(torch.cat([state, y_prev, context], -1))
            state = self.decoder(torch.cat([y_prev, context], -1), state)
            context, weights = self.attention(state, annotations, source_mask)
            logits.append(self.output(readout.unflatten(-1, (-1, 2)).amax(-1)))
            alignments.append(weights)
        return torch.stack(logits, 1), torch.stack(alignments, 1)


@pytest.mark.parametrize("mistake", [StartsFromTheForwardState, ScoresWithTheNewState])
def test_the_reference_catches_paper_level_mistakes(mistake):
    """Negative control: each mistake gives a model the step-by-step reference rejects."""
    torch.manual_seed(4)
    model = mistake(source_vocab=11, target_vocab=13, embed=5, hidden=6, align=7, maxout=4).double()
    source, target_in = torch.randint(1, 11, (2, 6)), torch.randint(1, 13, (2, 4))
    logits, alignments = model(source, target_in)
    ref_logits, ref_alignments = step_by_step(model, source, target_in)
    assert (logits - ref_logits).abs().max() > 1e-4 or (alignments - ref_alignments).abs().max() > 1e-4
