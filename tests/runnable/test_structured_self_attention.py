"""Structured self-attention against its equations written as a loop and torch's SDPA, masking, the
penalty's closed forms, and one gradient step on the penalty."""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from runnable.structured_self_attention import (StructuredSelfAttention, demo, naive_structured_self_attention,
                                                redundancy_penalty)

TOLERANCE = dict(atol=1e-5, rtol=1e-5)  # float32, sums over at most a dozen words
EXACT = dict(atol=1e-12, rtol=1e-12)    # float64 closed forms of a few products


def padded_states(device, n=7, size=6, seed=0):
    generator = torch.Generator().manual_seed(seed)
    H = torch.randn(3, n, size, generator=generator)
    mask = torch.ones(3, n, dtype=torch.bool)
    mask[1, 4:] = False
    mask[2, 1:] = False                                       # a one-word sentence
    return H.to(device), mask.to(device)


def test_matches_the_loop_with_padding(device):
    torch.manual_seed(1)
    model = StructuredSelfAttention(6, 5, hops=3).to(device)
    H, mask = padded_states(device)
    M, A = model(H, mask)
    ref_M, ref_A = naive_structured_self_attention(model, H, mask)
    assert M.shape == (3, 3, 6) and A.shape == (3, 3, 7)
    torch.testing.assert_close(A, ref_A, **TOLERANCE)
    torch.testing.assert_close(M, ref_M, **TOLERANCE)


def test_rows_are_distributions_over_real_words(device):
    torch.manual_seed(2)
    model = StructuredSelfAttention(6, 5, hops=4).to(device)
    H, mask = padded_states(device, seed=3)
    _, A = model(H, mask)
    torch.testing.assert_close(A.sum(-1), torch.ones(3, 4, device=device), **TOLERANCE)
    assert torch.all(A.permute(0, 2, 1)[~mask] == 0)          # padded words: weight exactly 0
    assert torch.all(A[2, :, 0] == 1)                         # the one-word sentence
    # padding content is irrelevant
    noisy = torch.where(mask[..., None], H, 50 * torch.randn_like(H))
    torch.testing.assert_close(model(noisy, mask)[0], model(H, mask)[0], **TOLERANCE)


def test_embedding_is_attention_with_learned_queries(device):
    """Independent: row k of M is torch's SDPA with query w_s2,k (scale 1), keys tanh(W_s1 h_t) and
    values h_t: the 'queries' are parameters, not words."""
    torch.manual_seed(4)
    model = StructuredSelfAttention(6, 5, hops=3).to(device)
    H, mask = padded_states(device, seed=5)
    M, _ = model(H, mask)
    queries = model.W_s2.weight.expand(3, -1, -1)             # (B, r, d_a)
    expected = F.scaled_dot_product_attention(queries, torch.tanh(model.W_s1(H)), H,
                                              attn_mask=mask[:, None, :], scale=1.0)
    torch.testing.assert_close(M, expected, **TOLERANCE)


@pytest.mark.parametrize("r,n", [(3, 5), (4, 4), (2, 9)])
def test_penalty_closed_forms(device, r, n):
    """One-hot rows on distinct words: A Aᵀ = I, P = 0. All rows the same one-hot: A Aᵀ = all ones,
    P = r(r − 1). All rows uniform: A Aᵀ = J/n, P = r(1 − 1/n)² + r(r − 1)/n²."""
    kw = dict(dtype=torch.float64, device=device)
    distinct = torch.eye(n, **kw)[torch.randperm(n, generator=torch.Generator().manual_seed(r))[:r]]
    same = torch.zeros(r, n, **kw)
    same[:, 1] = 1
    uniform = torch.full((r, n), 1 / n, **kw)
    torch.testing.assert_close(redundancy_penalty(distinct), torch.tensor(0.0, **kw), **EXACT)
    torch.testing.assert_close(redundancy_penalty(same), torch.tensor(float(r * (r - 1)), **kw), **EXACT)
    torch.testing.assert_close(redundancy_penalty(uniform),
                               torch.tensor(r * (1 - 1 / n) ** 2 + r * (r - 1) / n ** 2, **kw), **EXACT)
    batch = torch.stack([distinct, same, uniform])            # one value per example
    assert redundancy_penalty(batch).shape == (3,)


def test_penalty_is_a_sum_over_row_pairs(device):
    """The expanded form Σ_k (1 − ‖a_k‖²)² + Σ_{k≠l} (a_k · a_l)², summed by loops, in float64."""
    A = torch.softmax(torch.randn(4, 6, dtype=torch.float64, device=device), -1)
    expected = sum((1 - A[k] @ A[k]) ** 2 for k in range(4)) + sum((A[k] @ A[l]) ** 2 for k in range(4)
                                                                   for l in range(4) if k != l)
    torch.testing.assert_close(redundancy_penalty(A), expected, **EXACT)


def test_one_gradient_step_lowers_the_penalty(device):
    """A small enough step against the gradient of P, taken on W_s1 and W_s2, lowers P."""
    torch.manual_seed(6)
    model = StructuredSelfAttention(6, 5, hops=3).to(device)
    H, mask = padded_states(device, seed=7)
    penalty = redundancy_penalty(model(H, mask)[1]).mean()
    penalty.backward()
    with torch.no_grad():
        for parameter in model.parameters():
            parameter -= 0.01 * parameter.grad
        assert redundancy_penalty(model(H, mask)[1]).mean() < penalty


def test_the_gradient_pushes_rows_that_share_a_word_apart(device):
    """Rows all peaked on the same word (scores 3 there, small noise elsewhere): P is dominated by the
    overlaps a_k · a_l, and one gradient step on the scores lowers both P and every overlap."""
    generator = torch.Generator().manual_seed(8)
    scores = 0.3 * torch.randn(4, 6, generator=generator, dtype=torch.float64)
    scores[:, 2] += 3.0
    scores = scores.to(device).requires_grad_(True)
    A = torch.softmax(scores, -1)
    overlap = (A @ A.T)[~torch.eye(4, dtype=torch.bool, device=device)]
    penalty = redundancy_penalty(A)
    penalty.backward()
    with torch.no_grad():
        new_A = torch.softmax(scores - 0.5 * scores.grad, -1)
    assert redundancy_penalty(new_A) < penalty
    assert torch.all((new_A @ new_A.T)[~torch.eye(4, dtype=torch.bool, device=device)] < overlap)
    assert torch.all(new_A[:, 2] < A[:, 2])                  # each row moved weight off the shared word


def test_demo_runs_and_agrees(device):
    result = demo(device)
    assert result["max_error"] < 1e-5
    # the page's claims: P starts near the uniform value and Adam on P alone drives it near 0,
    # with every row peaked on its own word
    assert 3.0 < result["penalty"][0] < 3.6 and result["penalty"][-1] < 1e-2
    peaks = result["A_after"].argmax(-1)
    assert len(set(peaks.tolist())) == 4 and torch.all(result["A_after"].max(-1).values > 0.95)
