"""Forward–backward marginals against enumerating every assignment, the independent (sigmoid)
closed form, the identity ∂ log Z / ∂θ = marginals, gradients, padding and the demo's claims."""
from __future__ import annotations

import pytest
import torch

from runnable.structured_attention import (SegmentationAttention, brute_force_marginals, crf_marginals, demo,
                                           log_partition)

EXACT = dict(atol=1e-10, rtol=1e-10)   # float64; both sides sum at most 2^10 positive terms
FLOAT32 = dict(atol=1e-5, rtol=1e-5)   # float32 log-space recursions over at most 12 steps


def potentials(shape, n, device, seed, per_edge, scale=2.0):
    generator = torch.Generator().manual_seed(seed)
    unary = scale * torch.randn(*shape, n, 2, generator=generator, dtype=torch.float64)
    pairwise = scale * torch.randn(*shape, *((n - 1,) if per_edge else ()), 2, 2, generator=generator,
                                   dtype=torch.float64)
    return unary.to(device), pairwise.to(device)


@pytest.mark.parametrize("per_edge", [False, True], ids=["shared", "per-edge"])
@pytest.mark.parametrize("n", [1, 2, 3, 5, 10])
def test_forward_backward_matches_brute_force(device, n, per_edge):
    unary, pairwise = potentials((3, 2), n, device, seed=n, per_edge=per_edge and n > 1)
    marginals = crf_marginals(unary, pairwise)
    torch.testing.assert_close(marginals, brute_force_marginals(unary, pairwise), **EXACT)
    assert marginals.shape == (3, 2, n, 2)
    assert torch.all((marginals >= 0) & (marginals <= 1))
    torch.testing.assert_close(marginals.sum(-1), torch.ones(3, 2, n, dtype=torch.float64, device=device), **EXACT)


def test_one_table_for_every_batch_element(device):
    """A (2, 2) pairwise table broadcasts over the batch: same as repeating it per example."""
    unary, pairwise = potentials((4,), 6, device, seed=11, per_edge=False)
    torch.testing.assert_close(crf_marginals(unary, pairwise[0]), crf_marginals(unary, pairwise[:1].expand(4, 2, 2)),
                               **EXACT)


def test_zero_pairwise_gives_independent_sigmoids(device):
    """θ_{i,i+1} = 0 factorises p(z), so p(z_i = 1) = sigmoid(θ_i(1) - θ_i(0))."""
    unary, _ = potentials((5,), 7, device, seed=12, per_edge=False)
    marginals = crf_marginals(unary, torch.zeros(2, 2, dtype=unary.dtype, device=device))
    torch.testing.assert_close(marginals[..., 1], torch.sigmoid(unary[..., 1] - unary[..., 0]), **EXACT)


def test_log_space_survives_huge_scores_in_float32(device):
    """Scores near 10³ would overflow exp in float32; in log space the marginals stay finite. α and β
    sum up to ~7·10³, where a float32 ulp is 5·10⁻⁴, so the exponent α + β - log Z and with it
    the marginals carry errors of ~10⁻³; the tolerance allows that."""
    unary, _ = potentials((5,), 7, device, seed=12, per_edge=False, scale=500.0)
    marginals = crf_marginals(unary.float(), torch.zeros(2, 2, device=device))
    assert torch.isfinite(marginals).all()
    torch.testing.assert_close(marginals[..., 1].double(), torch.sigmoid(unary[..., 1] - unary[..., 0]),
                               atol=2e-3, rtol=0)


def test_marginals_are_the_gradient_of_log_partition(device):
    """∂ log Z / ∂θ_i(k) = p(z_i = k): an identity of exponential families, computed here through
    the forward recursion alone."""
    unary, pairwise = potentials((3,), 8, device, seed=13, per_edge=True)
    unary.requires_grad_(True)
    (gradient,) = torch.autograd.grad(log_partition(unary, pairwise).sum(), unary)
    torch.testing.assert_close(gradient, crf_marginals(unary, pairwise), **EXACT)


def test_log_partition_matches_brute_force(device):
    unary, pairwise = potentials((2,), 9, device, seed=14, per_edge=False)
    z = torch.tensor([[(a >> (8 - i)) & 1 for i in range(9)] for a in range(512)], device=device)
    score = unary[:, torch.arange(9), z].sum(-1) + pairwise[:, z[:, :-1], z[:, 1:]].sum(-1)
    torch.testing.assert_close(log_partition(unary, pairwise), torch.logsumexp(score, -1), **EXACT)


@pytest.mark.parametrize("per_edge", [False, True], ids=["shared", "per-edge"])
def test_gradients_match_brute_force_and_finite_differences(device, per_edge):
    unary, pairwise = potentials((2,), 6, device, seed=15, per_edge=per_edge)
    unary.requires_grad_(True)
    pairwise.requires_grad_(True)
    weights = torch.randn(2, 6, 2, dtype=torch.float64, device=device)
    grads = torch.autograd.grad((crf_marginals(unary, pairwise) * weights).sum(), (unary, pairwise))
    expected = torch.autograd.grad((brute_force_marginals(unary, pairwise) * weights).sum(), (unary, pairwise))
    for got, want in zip(grads, expected):
        torch.testing.assert_close(got, want, **EXACT)
    assert torch.autograd.gradcheck(crf_marginals, (unary, pairwise), eps=1e-6, atol=1e-7)


def test_strong_agreement_ties_the_chain_together(device):
    """With θ(z, z') = c·[z = z'] and c → ∞ only the two constant assignments survive, so every
    marginal p(z_i = 1) equals sigmoid(Σ_i θ_i(1) - Σ_i θ_i(0))."""
    unary, _ = potentials((3,), 5, device, seed=16, per_edge=False, scale=0.5)
    pairwise = torch.tensor([[40.0, 0.0], [0.0, 40.0]], dtype=torch.float64, device=device)
    marginals = crf_marginals(unary, pairwise)[..., 1]
    together = torch.sigmoid(unary[..., 1].sum(-1) - unary[..., 0].sum(-1))
    torch.testing.assert_close(marginals, together[:, None].expand(3, 5), atol=1e-12, rtol=0)  # off by ~e⁻⁴⁰


def test_padding_is_never_selected_and_changes_nothing(device):
    torch.manual_seed(17)
    attention = SegmentationAttention(query_size=4, key_size=5).to(device).double()
    torch.nn.init.normal_(attention.pairwise)
    query = torch.randn(2, 4, dtype=torch.float64, device=device)
    keys = torch.randn(2, 7, 5, dtype=torch.float64, device=device)
    values = torch.randn(2, 7, 3, dtype=torch.float64, device=device)
    padding = torch.zeros(2, 7, dtype=torch.bool, device=device)
    padding[1, 4:] = True
    context, weights = attention(query, keys, values, padding)
    assert torch.all(weights[padding] == 0)
    short_context, short_weights = attention(query[1:], keys[1:, :4], values[1:, :4])
    torch.testing.assert_close(weights[1, :4], short_weights[0], **EXACT)
    torch.testing.assert_close(context[1], short_context[0], **EXACT)
    garbage = keys.clone()
    garbage[1, 4:] = 100.0
    torch.testing.assert_close(attention(query, garbage, values, padding)[0], context, **EXACT)


def test_module_scores_context_and_gradients(device):
    """θ_i(1) = x_iᵀ W q, c = Σ_i p(z_i = 1) v_i; gradients reach W, the pairwise table and the keys."""
    torch.manual_seed(18)
    attention = SegmentationAttention(query_size=3, key_size=4).to(device).double()
    torch.nn.init.normal_(attention.pairwise)
    query = torch.randn(2, 3, dtype=torch.float64, device=device)
    keys = torch.randn(2, 5, 4, dtype=torch.float64, device=device, requires_grad=True)
    context, weights = attention(query, keys)
    score = torch.stack([torch.stack([keys[b, i] @ attention.W.weight @ query[b] for i in range(5)]) for b in range(2)])
    unary = torch.stack([torch.zeros_like(score), score], -1)
    expected = brute_force_marginals(unary, attention.pairwise)[..., 1]
    torch.testing.assert_close(weights, expected, **EXACT)
    torch.testing.assert_close(context, torch.einsum("bn,bnd->bd", expected, keys), **EXACT)
    context.square().sum().backward()
    for name, tensor in [*attention.named_parameters(), ("keys", keys)]:
        assert tensor.grad is not None and torch.isfinite(tensor.grad).all() and tensor.grad.abs().sum() > 0, name


def test_demo_runs_and_agrees(device):
    result = demo(device)
    assert result["max_error"] < 1e-5 and result["sigmoid_error"] < 1e-5
    softmax, sigmoid, crf = result["weights"]
    torch.testing.assert_close(softmax.sum(), torch.tensor(1.0))
    assert crf[3:8].min() > 0.6 and crf[[0, 1, 2, 8, 9, 11]].max() < 0.2  # the segment 4..8 is selected
    assert crf[5] > sigmoid[5] + 0.3       # the weak position inside the segment is pulled up
    assert crf[10] < sigmoid[10] - 0.5     # the isolated spike outside it is pulled down
    assert softmax[5] < 0.05               # softmax alone leaves the gap
