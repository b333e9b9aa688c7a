"""Soft attention against a loop, hard attention against the soft expectation (Monte Carlo, fixed
seed), and the glimpse against manual slicing and a closed form at the image's corner."""
from __future__ import annotations


import torch

from runnable.visual_attention import (SoftAttention, demo, doubly_stochastic_penalty, glimpse, hard_context, naive_glimpse,
                                      naive_soft_attention)

TOLERANCE = dict(atol=1e-5, rtol=1e-5)  # float32, sums over at most 16 terms


def test_soft_matches_the_loop_with_a_mask(device):
    torch.manual_seed(1)
    attention = SoftAttention(annotation_size=5, state_size=4, align_size=6).to(device)
    annotations, state = torch.randn(3, 16, 5, device=device), torch.randn(3, 4, device=device)
    mask = torch.ones(3, 16, dtype=torch.bool, device=device)
    mask[1, 10:], mask[2, :15] = False, False
    context, alpha = attention(annotations, state, mask)
    ref_context, ref_alpha = naive_soft_attention(attention, annotations, state, mask)
    torch.testing.assert_close(alpha, ref_alpha, **TOLERANCE)
    torch.testing.assert_close(context, ref_context, **TOLERANCE)
    assert torch.all(alpha[~mask] == 0) and torch.all(alpha[2, 15] == 1)
    beta = torch.sigmoid(attention.f_beta(state[2]))                 # gated by default: β_t a_15
    torch.testing.assert_close(context[2], beta * annotations[2, 15])
    torch.testing.assert_close(alpha.sum(-1), torch.ones(3, device=device))


def test_masked_cells_stay_out_even_when_every_score_is_very_negative(device):
    """A finite fill such as -1e4 would win against real scores below it; -inf never does."""
    attention = SoftAttention(2, 2, 2, gated=False).to(device)
    with torch.no_grad():
        attention.W_a.weight.zero_(), attention.W_h.weight.zero_(), attention.W_h.bias.fill_(10.0)
        attention.w.weight.fill_(-1e6)                               # every e_ti ≈ -2e6
    annotations = torch.randn(1, 4, 2, device=device)
    mask = torch.tensor([[False, False, True, False]], device=device)
    context, alpha = attention(annotations, torch.randn(1, 2, device=device), mask)
    assert alpha.tolist() == [[0.0, 0.0, 1.0, 0.0]]
    torch.testing.assert_close(context, annotations[:, 2])


def test_equal_scores_give_the_mean_cell(device):
    """Closed form: with w = 0 every e_ti is 0, so α is uniform and ẑ is the mean annotation."""
    attention = SoftAttention(5, 4, 6, gated=False).to(device)
    torch.nn.init.zeros_(attention.w.weight)
    annotations = torch.randn(2, 9, 5, device=device)
    context, alpha = attention(annotations, torch.randn(2, 4, device=device))
    torch.testing.assert_close(alpha, torch.full((2, 9), 1 / 9, device=device))
    torch.testing.assert_close(context, annotations.mean(1), **TOLERANCE)


def test_batching_does_not_mix_examples(device):
    torch.manual_seed(2)
    attention = SoftAttention(5, 4, 6).to(device)
    annotations, state = torch.randn(4, 9, 5, device=device), torch.randn(4, 4, device=device)
    batched, _ = attention(annotations, state)
    single = torch.cat([attention(annotations[i:i + 1], state[i:i + 1])[0] for i in range(4)])
    torch.testing.assert_close(batched, single, **TOLERANCE)


def test_hard_contexts_are_the_sampled_cells_and_average_to_the_soft_context(device):
    torch.manual_seed(3)                                             # drawn on the CPU: same numbers on every device
    attention = SoftAttention(5, 4, 6, gated=False).to(device)
    annotations, state = torch.randn(2, 12, 5).to(device), torch.randn(2, 4).to(device)
    context, alpha = attention(annotations, state)
    generator = torch.Generator(device=device).manual_seed(0)
    samples = 50_000
    hard, locations = hard_context(annotations, alpha, samples=samples, generator=generator)
    assert hard.shape == (2, samples, 5) and locations.shape == (2, samples)
    for b in range(2):
        for s in (0, 1, samples - 1):                                # ẑ_t = a_{s_t}, by plain indexing
            assert torch.equal(hard[b, s], annotations[b, locations[b, s]])
    # Here the hard contexts' largest per-coordinate standard deviation is 1.34, so the standard error
    # of a 50 000-sample mean is 0.006; atol 0.03 is about five of them, and the fixed seed makes the
    # test repeatable.
    sd = (torch.einsum("bl,bld->bd", alpha, annotations ** 2) - context ** 2).sqrt().max()
    assert sd / samples ** 0.5 < 0.0065                              # the error the tolerance assumes
    torch.testing.assert_close(hard.mean(1), context, atol=0.03, rtol=0)
    frequencies = torch.stack([torch.bincount(row, minlength=12) for row in locations]).float() / samples
    torch.testing.assert_close(frequencies, alpha, atol=0.01, rtol=0)  # sd of a frequency ≤ 0.0023


def test_hard_context_never_samples_a_masked_cell(device):
    alpha = torch.tensor([[0.0, 0.5, 0.0, 0.5]], device=device)
    generator = torch.Generator(device=device).manual_seed(1)
    _, locations = hard_context(torch.randn(1, 4, 3, device=device), alpha, samples=1000, generator=generator)
    assert set(locations.flatten().tolist()) == {1, 3}


def test_gradients(device):
    """Soft: every parameter gets a finite gradient. Hard: the gradient reaches the annotations only,
    each cell's as many times as it was sampled, and none reaches α."""
    torch.manual_seed(4)
    attention = SoftAttention(5, 4, 6).to(device)
    annotations = torch.randn(2, 9, 5, device=device, requires_grad=True)
    context, alpha = attention(annotations, torch.randn(2, 4, device=device))
    context.sum().backward()
    for name, parameter in attention.named_parameters():
        assert parameter.grad is not None and torch.isfinite(parameter.grad).all(), name
    annotations.grad = None
    alpha = alpha.detach().requires_grad_()
    hard, locations = hard_context(annotations, alpha, samples=7)
    hard.sum().backward()
    counts = torch.stack([torch.bincount(row, minlength=9) for row in locations]).float()
    torch.testing.assert_close(annotations.grad, counts[..., None].expand(-1, -1, 5))
    assert alpha.grad is None


def test_glimpse_matches_manual_slicing_inside_the_image(device):
    torch.manual_seed(5)
    images = torch.randn(2, 3, 40, 40, device=device)
    centres = torch.tensor([[20, 18], [17, 23]], device=device)
    retina = glimpse(images, centres, size=4, scales=3)
    assert retina.shape == (2, 3, 3, 4, 4)
    for b, (r, c) in enumerate(centres.tolist()):
        torch.testing.assert_close(retina[b, 0], images[b, :, r - 2:r + 2, c - 2:c + 2])
        pooled = images[b, :, r - 4:r + 4, c - 4:c + 4].reshape(3, 4, 2, 4, 2).mean((2, 4))
        torch.testing.assert_close(retina[b, 1], pooled, atol=1e-6, rtol=1e-5)
        pooled = images[b, :, r - 8:r + 8, c - 8:c + 8].reshape(3, 4, 4, 4, 4).mean((2, 4))
        torch.testing.assert_close(retina[b, 2], pooled, atol=1e-6, rtol=1e-5)


def test_glimpse_off_the_edge_reads_zeros(device):
    """Closed form on an all-ones image at the corner (0, 0): the patch's upper-left half on each axis
    is off the image, so scale 0 is [[0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 1, 1], [0, 0, 1, 1]] (as a
    2-D pattern), and every coarser scale is the same pattern after pooling."""
    images = torch.ones(1, 2, 16, 16, device=device)
    retina = glimpse(images, torch.tensor([[0, 0]], device=device), size=4, scales=3)
    inside = torch.tensor([0.0, 0.0, 1.0, 1.0], device=device)
    expected = (inside[:, None] * inside[None, :]).expand(3, 2, 4, 4)
    torch.testing.assert_close(retina[0], expected)


def test_glimpse_matches_the_slicing_reference_anywhere(device):
    torch.manual_seed(6)
    images = torch.randn(3, 2, 24, 30, device=device)
    centres = torch.tensor([[0, 29], [23, 0], [12, 15]], device=device)
    torch.testing.assert_close(glimpse(images, centres, size=2, scales=4),
                               naive_glimpse(images, centres, size=2, scales=4), atol=1e-6, rtol=1e-5)


def test_demo_runs_and_agrees(device):
    result = demo(device)
    assert result["max_error"] < 1e-5 and result["mc_error"] < 0.02 and result["glimpse_error"] < 1e-6
    red, blue = result["weights"]
    assert red[1:3, 5:7].sum() > 0.99 and blue[5:7, 1:3].sum() > 0.99


def test_the_gate_scales_the_context_and_leaves_alpha_alone(device):
    """β_t = σ(f_β(h_{t-1})): with f_β = 0, β = 1/2 exactly; a large bias opens the gate (β → 1),
    a large negative one closes it; α is the same with or without the gate."""
    torch.manual_seed(6)
    gated = SoftAttention(5, 4, 6).to(device)
    plain = SoftAttention(5, 4, 6, gated=False).to(device)
    plain.load_state_dict({k: v for k, v in gated.state_dict().items() if not k.startswith("f_beta")})
    annotations, state = torch.randn(3, 9, 5, device=device), torch.randn(3, 4, device=device)
    expectation, alpha = plain(annotations, state)
    with torch.no_grad():
        gated.f_beta.weight.zero_()
        for bias, beta in [(0.0, 0.5), (30.0, 1.0), (-30.0, 0.0)]:
            gated.f_beta.bias.fill_(bias)
            context, gated_alpha = gated(annotations, state)
            torch.testing.assert_close(gated_alpha, alpha)
            torch.testing.assert_close(context, beta * expectation, **TOLERANCE)
        torch.nn.init.normal_(gated.f_beta.weight)                   # β depends on h_{t-1}: one per example
        context, _ = gated(annotations, state)
        beta = torch.sigmoid(state @ gated.f_beta.weight[0] + gated.f_beta.bias)
        torch.testing.assert_close(context, beta[:, None] * expectation, **TOLERANCE)


def test_doubly_stochastic_penalty_against_a_loop_and_closed_forms(device):
    torch.manual_seed(7)
    alphas = torch.softmax(torch.randn(2, 5, 6, device=device), -1)   # 2 captions, 5 words, 6 cells
    step_mask = torch.tensor([[True] * 5, [True] * 3 + [False] * 2], device=device)
    expected = [sum((1 - sum(alphas[b, t, i] for t in range(5) if step_mask[b, t])) ** 2 for i in range(6))
                for b in range(2)]
    torch.testing.assert_close(doubly_stochastic_penalty(alphas, 0.7, step_mask), 0.7 * torch.stack(expected))
    # C = L words each attending uniformly: every cell gets total weight 1, penalty 0.
    uniform = torch.full((1, 6, 6), 1 / 6, device=device)
    torch.testing.assert_close(doubly_stochastic_penalty(uniform), torch.zeros(1, device=device))
    # All C = 4 words on one cell of 6: (1 − 4)² + 5 · (1 − 0)² = 14.
    one_cell = torch.zeros(1, 4, 6, device=device)
    one_cell[..., 2] = 1
    torch.testing.assert_close(doubly_stochastic_penalty(one_cell), torch.tensor([14.0], device=device))


def test_lambda_is_the_authors_value():
    """The paper states no λ; the authors' released evaluate_coco.py trains with alpha_c = 1."""
    import inspect

    assert inspect.signature(doubly_stochastic_penalty).parameters["lam"].default == 1.0
