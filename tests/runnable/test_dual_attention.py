"""DANet's position attention against torch's scaled_dot_product_attention (scale 1) and a loop;
channel attention against a loop, SDPA over channels, and the released code's max-minus form."""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from runnable.dual_attention import (DualAttention, channel_attention, demo, naive_channel_attention,
                                     naive_position_attention, position_attention)

EXACT = dict(atol=1e-10, rtol=1e-10)  # float64 (no TF32 in the 1×1 convolutions)
F64 = dict(dtype=torch.float64)


def feature_map(device, C=6, H=4, W=5, seed=0, scale=0.3):
    torch.manual_seed(seed)
    return scale * torch.randn(2, C, H, W, device=device, **F64)


def tokens(t):
    return t.flatten(2).transpose(1, 2)                       # (B, N, C): positions as tokens


def test_position_attention_matches_sdpa_and_the_loop(device):
    q, k, v = feature_map(device, C=3, seed=1, scale=1.0), feature_map(device, C=3, seed=2, scale=1.0), feature_map(device)
    out, weights = position_attention(q, k, v)
    expected = F.scaled_dot_product_attention(tokens(q), tokens(k), tokens(v), scale=1.0)
    torch.testing.assert_close(tokens(out), expected, **EXACT)
    torch.testing.assert_close(out, naive_position_attention(q, k, v), **EXACT)
    assert weights.shape == (2, 20, 20)
    torch.testing.assert_close(weights.sum(-1), torch.ones(2, 20, device=device, **F64), **EXACT)


@pytest.mark.parametrize("scale", [0.3, 1.0])
def test_channel_attention_matches_the_loop_and_sdpa_over_channels(device, scale):
    """Channels as tokens, each a vector of N numbers: SDPA(A, A, A) with scale 1."""
    a = feature_map(device, seed=3, scale=scale)
    out, weights = channel_attention(a)
    torch.testing.assert_close(out, naive_channel_attention(a), **EXACT)
    flat = a.flatten(2)
    torch.testing.assert_close(out.flatten(2), F.scaled_dot_product_attention(flat, flat, flat, scale=1.0), **EXACT)
    assert weights.shape == (2, 6, 6)


def test_released_code_form_is_softmax_of_minus_the_similarity(device):
    """softmax(max_i e_ji - e_ji) = softmax(-e_ji): the per-row constant cancels. With channels of
    equal norm, A_j · A_j is row j's largest inner product (Cauchy-Schwarz), so the paper's form gives
    a channel its largest weight on itself and the released form its smallest."""
    a = feature_map(device, seed=4)
    flat = a.flatten(2)
    energy = flat @ flat.transpose(1, 2)
    _, released = channel_attention(a, released_code=True)
    torch.testing.assert_close(released, torch.softmax(-energy, -1), **EXACT)
    _, paper = channel_attention(a)
    torch.testing.assert_close(paper, torch.softmax(energy, -1), **EXACT)
    unit = a / flat.norm(dim=-1)[..., None, None]              # equal norms: A_j · A_j is the row's maximum
    _, paper_unit = channel_attention(unit)
    _, released_unit = channel_attention(unit, released_code=True)
    assert torch.all(paper_unit.diagonal(dim1=1, dim2=2) == paper_unit.amax(-1))
    assert torch.all(released_unit.diagonal(dim1=1, dim2=2) == released_unit.amin(-1))


def test_module_is_identity_at_init_and_sums_the_two_branches(device):
    """α = β = 0 at the start: E = A + A. With α, β set: E = (α·PAM + A) + (β·CAM + A)."""
    torch.manual_seed(5)
    module = DualAttention(16, reduction=8).to(device, **F64)
    a = feature_map(device, C=16, seed=6)
    torch.testing.assert_close(module(a), 2 * a, **EXACT)
    with torch.no_grad():
        module.alpha.fill_(0.5)
        module.beta.fill_(-2.0)
    by_position, _ = position_attention(module.query(a), module.key(a), module.value(a))
    by_channel, _ = channel_attention(a)
    torch.testing.assert_close(module(a), 0.5 * by_position + a + (-2.0) * by_channel + a, **EXACT)
    assert module.position_weights.shape == (2, 20, 20) and module.channel_weights.shape == (2, 16, 16)


def test_gradients_reach_every_parameter(device):
    module = DualAttention(16).to(device, **F64)
    with torch.no_grad():
        module.alpha.fill_(1.0)
        module.beta.fill_(1.0)
    module(feature_map(device, C=16, seed=7)).square().sum().backward()
    for name, parameter in module.named_parameters():
        assert parameter.grad is not None and parameter.grad.abs().sum() > 0, name


def test_demo_runs_and_agrees(device):
    """The page's claims: a class-1 pixel puts most of its weight on class 1 (15 % of the map), part
    of it on the far square; the paper's channel softmax puts much weight on a channel itself, the
    released form almost none. (Thresholds hold with margin over seeds 0-5 on the CPU.)"""
    result = demo(device)
    assert result["max_error"] < 1e-4
    assert result["share"][1] > 0.85 and result["far"] > 0.1
    assert result["channel"].diagonal().mean() > 0.25 and result["channel_released"].diagonal().max() < 1e-3
    torch.testing.assert_close(result["position"].sum(), torch.tensor(1.0), atol=1e-5, rtol=0)
