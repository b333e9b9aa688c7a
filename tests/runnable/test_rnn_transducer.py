"""The transducer's forward algorithm against brute-force enumeration of every alignment, closed
forms for the edge cases, padded batches and gradients (finite differences and path counts)."""
from __future__ import annotations


import pytest
import torch

from runnable.rnn_transducer import BLANK, brute_force_log_likelihood, demo, log_likelihood, transducer_loss

TOLERANCE = dict(atol=1e-5, rtol=1e-5)  # float32 logsumexp over at most C(6, 3) = 20 paths


def random_problem(T, U, K, device, seed):
    generator = torch.Generator().manual_seed(seed)
    log_probs = torch.randn(T, U + 1, K + 1, generator=generator).log_softmax(-1).to(device)
    labels = torch.randint(1, K + 1, (U,), generator=generator).to(device)
    return log_probs, labels


@pytest.mark.parametrize("T", [1, 2, 3, 4])
@pytest.mark.parametrize("U", [0, 1, 2, 3])
def test_matches_every_alignment_enumerated(device, T, U):
    log_probs, labels = random_problem(T, U, K=3, device=device, seed=10 * T + U)
    ll = log_likelihood(log_probs[None], labels[None])
    expected = brute_force_log_likelihood(log_probs.cpu(), labels.cpu())
    torch.testing.assert_close(ll.cpu(), torch.tensor([expected], dtype=torch.float32), **TOLERANCE)


def test_repeated_labels_against_enumeration(device):
    log_probs, _ = random_problem(4, 3, K=2, device=device, seed=5)
    labels = torch.tensor([1, 1, 1], device=device)
    expected = brute_force_log_likelihood(log_probs.cpu(), labels.cpu())
    torch.testing.assert_close(log_likelihood(log_probs[None], labels[None]).item(), expected, **TOLERANCE)


def test_closed_forms_for_no_labels_and_one_step(device):
    """U = 0: the only path is T blanks. T = 1: all U labels at the first step, then the blank."""
    log_probs, labels = random_problem(5, 0, K=3, device=device, seed=6)
    torch.testing.assert_close(log_likelihood(log_probs[None], labels[None])[0], log_probs[:, 0, BLANK].sum(), **TOLERANCE)
    log_probs, labels = random_problem(1, 3, K=3, device=device, seed=7)
    expected = sum(log_probs[0, u, labels[u]] for u in range(3)) + log_probs[0, 3, BLANK]
    torch.testing.assert_close(log_likelihood(log_probs[None], labels[None])[0], expected, **TOLERANCE)


def test_padded_batch_with_different_lengths(device):
    lengths = [(4, 3), (2, 1), (3, 0), (1, 2)]
    T, U, K = 4, 3, 3
    generator = torch.Generator().manual_seed(8)
    log_probs = torch.randn(len(lengths), T, U + 1, K + 1, generator=generator).log_softmax(-1).to(device)
    labels = torch.randint(1, K + 1, (len(lengths), U), generator=generator).to(device)
    input_lengths = torch.tensor([t for t, _ in lengths], device=device)
    label_lengths = torch.tensor([u for _, u in lengths], device=device)
    ll = log_likelihood(log_probs, labels, input_lengths, label_lengths)
    for b, (t, u) in enumerate(lengths):
        alone = log_likelihood(log_probs[b:b + 1, :t, :u + 1], labels[b:b + 1, :u])
        torch.testing.assert_close(ll[b:b + 1], alone, **TOLERANCE)
        expected = brute_force_log_likelihood(log_probs[b, :t, :u + 1].cpu(), labels[b, :u].cpu())
        torch.testing.assert_close(ll[b].item(), expected, **TOLERANCE)


def test_gradients_match_finite_differences(device):
    generator = torch.Generator().manual_seed(9)
    logits = torch.randn(2, 3, 3, 4, generator=generator, dtype=torch.float64).to(device).requires_grad_()
    labels = torch.tensor([[1, 3], [2, 2]], device=device)
    assert torch.autograd.gradcheck(lambda x: transducer_loss(x.log_softmax(-1), labels), (logits,), eps=1e-6, atol=1e-6)


def test_gradient_counts_the_moves_on_every_path(device):
    """∂ ln Pr / ∂ ln p(t, u, k) is the posterior probability that a path takes that transition;
    every path takes exactly T blanks and U labels, and nothing else has any gradient."""
    T, U, K = 4, 3, 4
    log_probs, labels = random_problem(T, U, K, device=device, seed=11)
    log_probs.requires_grad_()
    log_likelihood(log_probs[None], labels[None]).sum().backward()
    grad = log_probs.grad
    label_grad = grad[:, :U].gather(-1, labels[None, :, None].expand(T, U, 1))
    torch.testing.assert_close(grad[..., BLANK].sum().item(), float(T), **TOLERANCE)
    torch.testing.assert_close(label_grad.sum().item(), float(U), **TOLERANCE)
    assert grad.sum().item() == pytest.approx(T + U, abs=1e-4)  # so every other class has zero gradient
    assert torch.all(grad >= -1e-7)


def test_loss_backpropagates_and_long_lattices_do_not_underflow(device):
    torch.manual_seed(12)
    T, U, K = 60, 20, 8
    logits = torch.randn(2, T, U + 1, K + 1, device=device, requires_grad=True)
    labels = torch.randint(1, K + 1, (2, U), device=device)
    loss = transducer_loss(logits.log_softmax(-1), labels)
    assert torch.isfinite(loss) and loss.item() > 100  # Pr < e^-100: probability space would underflow float32
    loss.backward()
    assert torch.isfinite(logits.grad).all() and logits.grad.abs().sum() > 0
    float64 = transducer_loss(logits.detach().double().log_softmax(-1), labels)
    torch.testing.assert_close(loss.double(), float64, atol=1e-3, rtol=1e-5)


def test_demo_runs_and_agrees(device):
    result = demo(device)
    assert result["max_error"] < 1e-5
    assert result["occupancy"][0, 0].item() == pytest.approx(1.0, abs=1e-5)  # every path starts at (1, 0)
    assert result["occupancy"][-1, -1].item() == pytest.approx(1.0, abs=1e-5)  # and leaves from (T, U)
