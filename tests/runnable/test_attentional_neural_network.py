"""Feedback gating against the equations written as loops and as closed forms; the mask is a gate in
[0, 1], the output never exceeds the input, and (trained in the demo) the hypothesis picks its pattern."""
from __future__ import annotations

import pytest
import torch

from runnable.attentional_neural_network import FeedbackGating, demo, glyphs, naive_feedback_gating, overlays

EXACT = dict(atol=1e-10, rtol=1e-10)  # float64, sums of at most 12 terms inside sigmoids


def model_and_input(device, seed=0, scale=1.0):
    torch.manual_seed(seed)
    model = FeedbackGating(10, 7, 4).to(device, torch.float64)
    with torch.no_grad():
        for p in model.parameters():
            p.mul_(scale)
    x = torch.rand(3, 10, device=device, dtype=torch.float64)
    bias = torch.eye(4, device=device, dtype=torch.float64)[torch.tensor([0, 2, 3], device=device)]
    return model, x, bias


@pytest.mark.parametrize("iterations", [1, 3])
def test_matches_the_loop(device, iterations):
    model, x, bias = model_and_input(device)
    out, masks = model(x, bias, iterations)
    ref_out, ref_masks = naive_feedback_gating(model, x, bias, iterations)
    torch.testing.assert_close(out, ref_out, **EXACT)
    torch.testing.assert_close(masks, ref_masks, **EXACT)
    assert masks.shape == (3, iterations, 10)


@pytest.mark.parametrize("scale", [1.0, 50.0])
def test_mask_is_a_gate_in_the_unit_interval_and_output_never_exceeds_input(device, scale):
    """Even with weights large enough to saturate the sigmoids (scale 50), z ∈ [0, 1], so for
    x ≥ 0 the gated input lies between 0 and x: the loop cannot add ink the input lacks."""
    model, x, bias = model_and_input(device, seed=1, scale=scale)
    out, masks = model(x, bias, iterations=4)
    assert torch.all((masks >= 0) & (masks <= 1))
    assert torch.all((out >= 0) & (out <= x))
    if scale > 1:
        assert (masks < 1e-6).any() and (masks > 1 - 1e-6).any()   # the saturated case was exercised


def test_every_iteration_gates_the_raw_input(device):
    """Closed form for T = 2: x_2 = x ⊙ z(x ⊙ z(x, b), b), not x_1 ⊙ z_1 (no compounding)."""
    model, x, bias = model_and_input(device, seed=2)
    out, masks = model(x, bias, iterations=2)
    z1 = model.mask(x, bias)
    torch.testing.assert_close(out, x * model.mask(x * z1, bias), **EXACT)
    torch.testing.assert_close(masks[:, 0], z1, **EXACT)


def test_mask_closed_form_and_the_role_of_the_bias(device):
    """z = σ(W'(σ(Wx + c) ⊙ σ(Ub)) + d) by matrix products; with U = 0 the gate is ½ everywhere
    and the bias no longer matters."""
    model, x, bias = model_and_input(device, seed=3)
    W, c, U = model.encoder.weight, model.encoder.bias, model.top_down.weight
    V, d = model.decoder.weight, model.decoder.bias
    expected = torch.sigmoid((torch.sigmoid(x @ W.T + c) * torch.sigmoid(bias @ U.T)) @ V.T + d)
    torch.testing.assert_close(model.mask(x, bias), expected, **EXACT)
    assert (model.mask(x, bias) - model.mask(x, bias.flip(0))).abs().max() > 1e-3
    with torch.no_grad():
        U.zero_()
    torch.testing.assert_close(model.mask(x, bias), torch.sigmoid(0.5 * torch.sigmoid(x @ W.T + c) @ V.T + d), **EXACT)
    torch.testing.assert_close(model.mask(x, bias), model.mask(x, bias.flip(0)), **EXACT)


def test_overlays_are_unions_of_two_different_glyphs(device):
    torch.manual_seed(4)
    x, A, B, a, b = overlays(device, 200)
    assert torch.all(a != b)
    torch.testing.assert_close(x, torch.maximum(A, B))
    G = glyphs(device)
    torch.testing.assert_close(A.sum(1), G[a].sum(1))                 # a shift moves ink, never crops it


def check_survival(result):
    first, last = result["survival"][1], result["survival"][3]
    assert last["only A"] > 0.9 and last["only B"] < 0.1 and last["shared"] > 0.9
    assert last["only B"] < first["only B"]                            # iterating helps
    assert result["swapped"]["only A"] > 0.9 and result["swapped"]["only B"] < 0.1


@pytest.mark.parametrize("seed", [1, 2])
def test_the_claims_hold_for_other_seeds(seed):
    """Not one lucky seed: with seeds 0-4, after three passes 0.959-0.966 of A's ink and 0.017-0.021
    of B's survived (0.104-0.109 of B's after one pass) on the CPU; seeds 1 and 2 are checked here."""
    check_survival(demo("cpu", seed=seed))


def test_demo_runs_and_agrees(device):
    """The page's claims: gating toward A keeps A's ink and removes most of B's, more so with more
    iterations; asking for B does the opposite; the output never exceeds the input."""
    result = demo(device)
    assert result["max_error"] < 1e-5
    check_survival(result)
    for name in ("toward A", "toward B", "not there"):
        assert torch.all(result["examples"][name] <= result["examples"]["input"])
