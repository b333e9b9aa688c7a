"""Cross-attention and the decoder layer against torch.nn.MultiheadAttention and
torch.nn.TransformerDecoderLayer with copied weights, against a loop over heads and positions,
and the masking properties: padded memory gets zero weight and cannot change the output, and
no position sees the future."""
from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from runnable.cross_attention import DecoderLayer, causal_self_attention, cross_attention, demo
from runnable.multi_head_attention import MultiHeadAttention, load_from_torch

F64 = dict(atol=1e-12, rtol=1e-12)   # float64 on both sides; different but equally exact summation orders
D, H = 12, 3


def batch(device, L_q=5, L_k=7, seed=0):
    """Decoder states (3, L_q, D), memory (3, L_k, D), and padding: example 1 has 4 real source
    tokens and 3 real target tokens, example 2 one real source token."""
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(3, L_q, D, generator=generator, dtype=torch.float64).to(device)
    memory = torch.randn(3, L_k, D, generator=generator, dtype=torch.float64).to(device)
    memory_pad = torch.zeros(3, L_k, dtype=torch.bool, device=device)
    memory_pad[1, 4:], memory_pad[2, 1:] = True, True
    target_pad = torch.zeros(3, L_q, dtype=torch.bool, device=device)
    target_pad[1, 3:] = True
    return x, memory, memory_pad, target_pad


@pytest.mark.parametrize("L_q, L_k", [(5, 7), (9, 2), (1, 6)])
def test_cross_attention_matches_torch_multihead_attention(device, L_q, L_k):
    torch.manual_seed(1)
    reference = nn.MultiheadAttention(D, H, batch_first=True).to(device).double()
    attention = MultiHeadAttention(D, H).to(device).double()
    load_from_torch(attention, reference)
    x, memory, memory_pad, _ = batch(device, L_q, L_k, seed=L_q)
    out, weights = cross_attention(x, memory, attention, memory_pad)
    expected, expected_weights = reference(x, memory, memory, key_padding_mask=memory_pad)
    assert out.shape == (3, L_q, D) and weights.shape == (3, H, L_q, L_k)
    torch.testing.assert_close(out, expected, **F64)
    torch.testing.assert_close(weights.mean(1), expected_weights, **F64)   # torch averages over heads
    per_head = reference(x, memory, memory, key_padding_mask=memory_pad, average_attn_weights=False)[1]
    torch.testing.assert_close(weights, per_head, **F64)


def test_matches_a_loop_over_heads_and_positions(device):
    """softmax(q·k / √d_k) over the real source positions, head by head, then W^O."""
    torch.manual_seed(2)
    attention = MultiHeadAttention(D, H).to(device).double()
    x, memory, memory_pad, _ = batch(device, seed=2)
    out, _ = cross_attention(x, memory, attention, memory_pad)
    d_k = D // H
    q, k, v = attention.q_proj(x), attention.k_proj(memory), attention.v_proj(memory)
    for b in range(3):
        for t in range(x.shape[1]):
            heads = []
            for h in range(H):
                part = slice(h * d_k, (h + 1) * d_k)
                real = [s for s in range(memory.shape[1]) if not memory_pad[b, s]]
                scores = torch.stack([q[b, t, part] @ k[b, s, part] / math.sqrt(d_k) for s in real])
                a = torch.exp(scores - scores.max()) / torch.exp(scores - scores.max()).sum()
                heads.append(sum(a[n] * v[b, s, part] for n, s in enumerate(real)))
            torch.testing.assert_close(out[b, t], attention.out_proj(torch.cat(heads)), **F64)


def test_decoder_layer_matches_torch_transformer_decoder_layer(device):
    torch.manual_seed(3)
    reference = nn.TransformerDecoderLayer(D, H, dim_feedforward=20, dropout=0.0, batch_first=True).to(device).double()
    layer = DecoderLayer(D, H, 20).to(device).double().load_torch(reference)
    x, memory, memory_pad, target_pad = batch(device, seed=3)
    causal = torch.ones(5, 5, dtype=torch.bool, device=device).triu(1)
    expected = reference(x, memory, tgt_mask=causal, tgt_key_padding_mask=target_pad,
                         memory_key_padding_mask=memory_pad)
    out, (self_weights, cross_weights) = layer(x, memory, target_pad, memory_pad)
    torch.testing.assert_close(out, expected, **F64)
    # the sub-layers' weights agree with torch's attention modules too
    torch.testing.assert_close(self_weights.mean(1), reference.self_attn(x, x, x, attn_mask=causal,
                                                                         key_padding_mask=target_pad)[1], **F64)
    reference.eval()  # in eval mode without gradients torch may take its fused inference path: same numbers
    with torch.no_grad():
        expected = reference(x, memory, tgt_mask=causal, tgt_key_padding_mask=target_pad,
                             memory_key_padding_mask=memory_pad)
    torch.testing.assert_close(layer(x, memory, target_pad, memory_pad)[0], expected, **F64)


def test_padded_memory_gets_zero_weight_and_cannot_change_the_output(device):
    torch.manual_seed(4)
    layer = DecoderLayer(D, H, 20).to(device).double()
    x, memory, memory_pad, target_pad = batch(device, seed=4)
    out, (_, weights) = layer(x, memory, target_pad, memory_pad)
    assert torch.all(weights.masked_select(memory_pad[:, None, None, :].expand_as(weights)) == 0)
    torch.testing.assert_close(weights.sum(-1), torch.ones_like(weights.sum(-1)), **F64)
    changed = memory.clone()
    changed[memory_pad] = 1e3 * torch.randn_like(changed[memory_pad])
    torch.testing.assert_close(layer(x, changed, target_pad, memory_pad)[0], out, **F64)
    # and padding really is doing the work: without the mask those rows do change the output
    assert not torch.allclose(layer(x, changed, target_pad)[0], layer(x, memory, target_pad)[0])


def test_no_position_depends_on_future_target_tokens(device):
    """Changing target positions t+1.. leaves outputs 0..t unchanged, in the self-attention and
    in the whole layer (cross-attention and FFN act per position)."""
    torch.manual_seed(5)
    layer = DecoderLayer(D, H, 20).to(device).double()
    x, memory, memory_pad, _ = batch(device, L_q=6, seed=5)
    out = layer(x, memory, memory_padding_mask=memory_pad)[0]
    for t in range(5):
        changed = x.clone()
        changed[:, t + 1:] = torch.randn_like(changed[:, t + 1:])
        new = layer(changed, memory, memory_padding_mask=memory_pad)[0]
        torch.testing.assert_close(new[:, :t + 1], out[:, :t + 1], **F64)
        assert not torch.allclose(new[:, t + 1:], out[:, t + 1:])
    _, weights = causal_self_attention(x, layer.self_attention)
    assert torch.all(weights.masked_select(torch.ones(6, 6, dtype=torch.bool, device=device).triu(1)) == 0)
    torch.testing.assert_close(weights[..., 0, 0], torch.ones_like(weights[..., 0, 0]))  # the first sees only itself


def test_target_padding_hides_padded_target_tokens_from_later_positions(device):
    torch.manual_seed(6)
    attention = MultiHeadAttention(D, H).to(device).double()
    x, _, _, target_pad = batch(device, seed=6)
    out, weights = causal_self_attention(x, attention, target_pad)
    assert torch.all(weights[1, :, :, 3:] == 0)
    changed = x.clone()
    changed[1, 3:] = 50.0
    torch.testing.assert_close(causal_self_attention(changed, attention, target_pad)[0][1, :3], out[1, :3], **F64)


def test_gradients_reach_every_parameter_and_only_real_memory(device):
    torch.manual_seed(7)
    layer = DecoderLayer(D, H, 20).to(device).double()
    x, memory, memory_pad, target_pad = batch(device, seed=7)
    memory.requires_grad_(True)
    layer(x, memory, target_pad, memory_pad)[0].square().sum().backward()
    for name, parameter in layer.named_parameters():
        assert parameter.grad is not None and torch.isfinite(parameter.grad).all(), name
        assert parameter.grad.abs().sum() > 0, name
    assert torch.all(memory.grad[memory_pad] == 0) and memory.grad[~memory_pad].abs().sum() > 0


def test_demo_runs_and_agrees(device):
    result = demo(device)
    assert result["found"] == result["target"]   # with W^Q ∝ W^K ∝ I each word finds itself in the source
    assert result["padded_weight"] == 0          # even though the padding rows copy a target word
    assert result["attention_gap"] < 1e-5 and result["layer_gap"] < 1e-5
    torch.testing.assert_close(result["weights"].sum(-1), torch.ones(5))
