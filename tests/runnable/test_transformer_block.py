"""The Transformer block against torch's nn.TransformerEncoderLayer with the same weights, cached
decoding against a full causal pass, and the sinusoidal positions against their closed form."""
from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from runnable.scaled_dot_product_attention import causal_mask, padding_mask
from runnable.transformer_block import KVCache, TransformerBlock, decode_step, demo, load_from_torch, sinusoidal_positions

EXACT = dict(atol=1e-10, rtol=1e-10)   # float64 through two layer norms and three matmul stages
FLOAT32 = dict(atol=1e-5, rtol=1e-5)   # float32, d_model 32


def pair(device, norm_first, d_model=16, H=4, d_ff=24, seed=0):
    torch.manual_seed(seed)
    layer = nn.TransformerEncoderLayer(d_model, H, d_ff, dropout=0.0, activation="relu",
                                       batch_first=True, norm_first=norm_first).to(device, torch.float64)
    for norm in (layer.norm1, layer.norm2):      # torch starts them at 1 and 0; random ones test the copy
        nn.init.normal_(norm.weight)
        nn.init.normal_(norm.bias)
    nn.init.normal_(layer.self_attn.in_proj_bias)
    block = TransformerBlock(d_model, H, d_ff, norm_first=norm_first).to(device, torch.float64)
    load_from_torch(block, layer)
    return block, layer


def sequence(device, B=3, L=7, d_model=16, seed=1):
    generator = torch.Generator().manual_seed(seed)
    return torch.randn(B, L, d_model, generator=generator, dtype=torch.float64).to(device)


@pytest.mark.parametrize("norm_first", [False, True], ids=["post-norm", "pre-norm"])
@pytest.mark.parametrize("case", ["plain", "causal", "padding", "causal+padding"])
def test_matches_torch_encoder_layer(device, norm_first, case):
    """The layer stays in training mode (dropout is 0): torch's eval-mode fast path is a
    different kernel with its own treatment of padded positions."""
    block, layer = pair(device, norm_first)
    x = sequence(device)
    mask, kwargs = None, {}
    if "padding" in case:
        mask = padding_mask(torch.tensor([7, 4, 1], device=device), 7)
        kwargs["src_key_padding_mask"] = ~mask[:, 0, 0]                  # torch: True = padding
    if "causal" in case:
        kwargs["src_mask"] = ~causal_mask(7, 7, device)                   # torch: True = blocked
    torch.testing.assert_close(block(x, mask=mask, causal="causal" in case), layer(x, **kwargs), **EXACT)


@pytest.mark.parametrize("norm_first", [False, True], ids=["post-norm", "pre-norm"])
def test_cached_decoding_equals_the_full_causal_pass(device, norm_first):
    block, _ = pair(device, norm_first, seed=2)
    x = sequence(device, L=9, seed=3)
    full = block(x, causal=True)
    cache, steps = KVCache(), []
    for t in range(9):
        steps.append(decode_step(block, x[:, t:t + 1], cache))
        assert len(cache) == t + 1 and cache.keys.shape == (3, 4, t + 1, 4)
    assert cache.nbytes() == 2 * 3 * 4 * 9 * 4 * 8                       # k and v, B, h, t, d_head, float64
    torch.testing.assert_close(torch.cat(steps, dim=1), full, **EXACT)


def test_causal_outputs_do_not_see_the_future(device):
    block, _ = pair(device, False, seed=4)
    x = sequence(device, seed=5)
    changed = x.clone()
    changed[:, 4:] = torch.randn_like(changed[:, 4:])
    before, after = block(x, causal=True), block(changed, causal=True)
    torch.testing.assert_close(before[:, :4], after[:, :4], **EXACT)
    assert (before[:, 4:] - after[:, 4:]).abs().max() > 0.1


@pytest.mark.parametrize("norm_first", [False, True], ids=["post-norm", "pre-norm"])
def test_without_positions_the_block_is_permutation_equivariant(device, norm_first):
    """The page's "attention treats its input as a set": permuting positions permutes the output."""
    block, _ = pair(device, norm_first, seed=9)
    x = sequence(device, seed=10)
    permutation = torch.tensor([3, 0, 6, 1, 5, 2, 4], device=device)
    torch.testing.assert_close(block(x[:, permutation]), block(x)[:, permutation], **EXACT)
    with_positions = x + sinusoidal_positions(7, 16, device=device, dtype=torch.float64)
    shuffled = x[:, permutation] + sinusoidal_positions(7, 16, device=device, dtype=torch.float64)
    assert (block(shuffled) - block(with_positions)[:, permutation]).abs().max() > 0.01   # positions break it


def test_eval_mode_fast_path_float32(device):
    """torch's eval/no-grad fast path (a fused kernel) agrees too, in float32."""
    torch.manual_seed(6)
    layer = nn.TransformerEncoderLayer(32, 4, 64, dropout=0.0, batch_first=True).to(device).eval()
    block = TransformerBlock(32, 4, 64).to(device).eval()
    load_from_torch(block, layer)
    x = torch.randn(2, 10, 32, device=device)
    with torch.no_grad():
        torch.testing.assert_close(block(x), layer(x), **FLOAT32)


def test_dropout_is_off_in_eval_mode(device):
    block, _ = pair(device, True, seed=7)
    noisy = TransformerBlock(16, 4, 24, norm_first=True, dropout=0.5).to(device, torch.float64)
    noisy.load_state_dict(block.state_dict())
    x = sequence(device, seed=8)
    torch.testing.assert_close(noisy.eval()(x), block(x), **EXACT)
    assert (noisy.train()(x) - block(x)).abs().max() > 0.01


def test_sinusoidal_closed_form(device):
    """Against the formula term by term, with Python's math.sin/math.cos."""
    pe = sinusoidal_positions(20, 10, device=device, dtype=torch.float64).cpu()
    for pos in range(20):
        for i in range(5):
            angle = pos / 10000 ** (2 * i / 10)
            assert math.isclose(pe[pos, 2 * i], math.sin(angle), abs_tol=1e-12)
            assert math.isclose(pe[pos, 2 * i + 1], math.cos(angle), abs_tol=1e-12)


@pytest.mark.parametrize("k", [1, 5, 37])
def test_shifting_by_k_is_a_fixed_rotation_per_frequency_pair(device, k):
    """(sin((p+k)ω), cos((p+k)ω)) = [[cos kω, sin kω], [-sin kω, cos kω]] (sin pω, cos pω) for every p:
    one block-diagonal matrix M_k maps PE(p) to PE(p + k), whatever p is."""
    d = 16
    pe = sinusoidal_positions(100, d, device=device, dtype=torch.float64)
    omega = [10000 ** (-2 * i / d) for i in range(d // 2)]
    blocks = [torch.tensor([[math.cos(k * w), math.sin(k * w)], [-math.sin(k * w), math.cos(k * w)]],
                           dtype=torch.float64) for w in omega]
    M = torch.block_diag(*blocks).to(device, torch.float64)
    torch.testing.assert_close(pe[k:], pe[:-k] @ M.T, atol=1e-10, rtol=0)  # angles ≤ 100 rad: float64 sin is exact to ~1e-14
    torch.testing.assert_close(M @ M.T, torch.eye(d, dtype=torch.float64, device=device), atol=1e-12, rtol=0)


def test_demo_runs_and_agrees(device):
    result = demo(device)
    assert result["error_torch"] < 1e-5 and result["error_cache"] < 1e-5
    assert result["cache_bytes"] == [2 * 2 * 4 * (t + 1) * 8 * 4 for t in range(12)]   # grows linearly
    pe = result["positions"]
    assert pe.shape == (64, 32) and torch.all(pe.abs() <= 1)
    torch.testing.assert_close(pe[0], torch.tensor([0.0, 1.0] * 16))
