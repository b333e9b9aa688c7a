"""Multi-head latent attention: the equations' form against a loop written from DeepSeek-V2's
equations and against torch's SDPA; the absorbed latent-space path and token-by-token decoding
from a cache of [c^KV; k^R] against the equations' form; the cache sizes against the modules' own
shapes."""
from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from runnable.grouped_query_attention import GroupedQueryAttention
from runnable.multi_head_latent_attention import (MultiHeadLatentAttention, cache_elements_per_token, decode, demo)
from runnable.rotary_embeddings import apply_rotary

EXACT = dict(atol=1e-12, rtol=1e-12)   # float64: the same sums in another order (absorption reassociates products)
FLOAT32 = dict(atol=1e-5, rtol=1e-5)   # float32, sizes ≤ 32


def layer(device, dtype=torch.float64, seed=0, **sizes):
    torch.manual_seed(seed)
    sizes = {"d_model": 24, "num_heads": 3, "d_head": 8, "q_rank": 10, **sizes}
    return MultiHeadLatentAttention(**sizes).to(device, dtype)


def tokens(device, B=2, L=7, d_model=24, dtype=torch.float64, seed=1):
    generator = torch.Generator().manual_seed(seed)
    return torch.randn(B, L, d_model, generator=generator, dtype=dtype).to(device)


def loop_reference(model: MultiHeadLatentAttention, x, causal=True):
    """DeepSeek-V2's equations, one token and one head at a time, from the weight matrices."""
    B, L, _ = x.shape
    H, d_h, d_R = model.num_heads, model.d_head, model.rope_dim
    W_DKV, W_UK, W_UV = model.kv_down.weight, model.k_up.weight, model.v_up.weight
    W_DQ, W_UQ, W_QR, W_KR, W_O = (model.q_down.weight, model.q_up.weight, model.q_rope.weight,
                                   model.k_rope.weight, model.out_proj.weight)
    output = torch.zeros_like(x)
    for b in range(B):
        c_kv = [W_DKV @ x[b, j] for j in range(L)]
        k_r = [apply_rotary((W_KR @ x[b, j])[None], torch.tensor([j])).squeeze(0) for j in range(L)]
        for t in range(L):
            c_q = W_DQ @ x[b, t]
            heads = []
            for i in range(H):
                rows, rope_rows = slice(i * d_h, (i + 1) * d_h), slice(i * d_R, (i + 1) * d_R)
                q = torch.cat([W_UQ[rows] @ c_q, apply_rotary((W_QR[rope_rows] @ c_q)[None], torch.tensor([t]))[0]])
                visible = range(t + 1) if causal else range(L)
                scores = torch.stack([q @ torch.cat([W_UK[rows] @ c_kv[j], k_r[j]]) for j in visible])
                weights = torch.softmax(scores / math.sqrt(d_h + d_R), dim=0)
                heads.append(sum(w * (W_UV[rows] @ c_kv[j]) for w, j in zip(weights, visible)))
            output[b, t] = W_O @ torch.cat(heads)
    return output


@pytest.mark.parametrize("causal", [True, False], ids=["causal", "full"])
def test_equations_form_matches_a_loop_over_tokens_and_heads(device, causal):
    model, x = layer(device), tokens(device)
    with torch.no_grad():
        torch.testing.assert_close(model(x, causal=causal), loop_reference(model, x, causal), **EXACT)


def test_equations_form_matches_torch_sdpa_on_the_rebuilt_keys_and_values(device):
    model, x = layer(device), tokens(device)
    B, L, _ = x.shape
    positions = torch.arange(L, device=device)
    with torch.no_grad():
        c_kv, c_q = model.kv_down(x), model.q_down(x)
        heads = lambda t: t.view(B, L, model.num_heads, -1).transpose(1, 2)   # noqa: E731
        k_r = apply_rotary(model.k_rope(x), positions)[:, None].expand(B, model.num_heads, L, model.rope_dim)
        q = torch.cat([heads(model.q_up(c_q)), apply_rotary(heads(model.q_rope(c_q)), positions)], -1)
        k = torch.cat([heads(model.k_up(c_kv)), k_r], -1)
        reference = F.scaled_dot_product_attention(q, k, heads(model.v_up(c_kv)), is_causal=True)
        reference = model.out_proj(reference.transpose(1, 2).reshape(B, L, -1))
        torch.testing.assert_close(model(x), reference, **EXACT)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=str)
def test_absorbed_latent_attention_equals_the_equations_form(device, dtype):
    """W^UK folded into the query and W^UV into the output: the same numbers, attending over the
    cached latents alone."""
    model, x = layer(device, dtype), tokens(device, dtype=dtype)
    positions = torch.arange(x.shape[1], device=device)
    with torch.no_grad():
        absorbed = model.attend_latent(x, positions, model.compress(x, positions), positions)
        torch.testing.assert_close(absorbed, model(x), **(EXACT if dtype == torch.float64 else FLOAT32))


def test_absorbed_weights_are_the_products_of_the_per_head_matrices(device):
    model = layer(device)
    query_fold, output_fold = model.absorbed_weights()
    d_h = model.d_head
    for i in range(model.num_heads):
        rows = slice(i * d_h, (i + 1) * d_h)
        torch.testing.assert_close(query_fold[i], model.k_up.weight[rows].T @ model.q_up.weight[rows], **EXACT)
        torch.testing.assert_close(output_fold[i], model.out_proj.weight[:, rows] @ model.v_up.weight[rows], **EXACT)


def test_decoding_from_a_latent_cache_equals_the_equations_form(device):
    model, x = layer(device), tokens(device, L=9)
    positions = torch.arange(9, device=device)
    with torch.no_grad():
        decoded, cache = decode(model, x)
        torch.testing.assert_close(decoded, model(x), **EXACT)
        # the cache is exactly [c^KV; k^R] per token: d_c + d_R numbers, nothing per head
        assert cache.shape == (2, 9, model.kv_rank + model.rope_dim)
        torch.testing.assert_close(cache[..., :model.kv_rank], model.kv_down(x), **EXACT)
        torch.testing.assert_close(cache[..., model.kv_rank:], apply_rotary(model.k_rope(x), positions), **EXACT)


def test_only_relative_positions_matter(device):
    """RoPE on the decoupled parts: shifting every position by the same amount changes nothing."""
    model, x = layer(device), tokens(device)
    positions = torch.arange(x.shape[1], device=device)
    with torch.no_grad():
        outputs = [model.attend_latent(x, p, model.compress(x, p), p) for p in (positions, positions + 100)]
        torch.testing.assert_close(outputs[0], outputs[1], atol=1e-10, rtol=1e-10)   # angles of ~100 rad in float64
        moved = model.attend_latent(x, positions + 3, model.compress(x, positions), positions)  # negative control
        assert not torch.allclose(moved, outputs[0], atol=1e-6)


def test_rotating_the_rebuilt_keys_would_break_the_absorption(device):
    """Negative control for why RoPE is decoupled: rotate each head's k^C by its position (RoPE on the
    whole key) and the scores are no longer a position-free query against the latent."""
    model, x = layer(device), tokens(device)
    B, L, _ = x.shape
    positions = torch.arange(L, device=device)
    with torch.no_grad():
        query_fold, _ = model.absorbed_weights()
        c_q, c_kv = model.q_down(x), model.kv_down(x)
        heads = lambda t: t.view(B, L, model.num_heads, -1).transpose(1, 2)   # noqa: E731
        q_c, k_c = heads(model.q_up(c_q)), heads(model.k_up(c_kv))
        absorbed = torch.einsum("hcq,btq->bhtc", query_fold, c_q) @ c_kv[:, None].transpose(-2, -1)
        torch.testing.assert_close(q_c @ k_c.transpose(-2, -1), absorbed, **EXACT)    # without rotation: equal
        rotated = apply_rotary(q_c, positions) @ apply_rotary(k_c, positions).transpose(-2, -1)
        assert not torch.allclose(rotated, absorbed, atol=1e-3)


def test_defaults_and_cache_sizes_follow_the_modules(device):
    model = MultiHeadLatentAttention(d_model=64, num_heads=4, d_head=16).to(device)
    assert (model.kv_rank, model.rope_dim, model.q_rank) == (64, 8, 64)
    assert model.k_rope.out_features == model.rope_dim          # one RoPE key for all heads, not one per head
    x = torch.randn(1, 3, 64, device=device)
    sizes = cache_elements_per_token(4, 16, 2, model.kv_rank, model.rope_dim)
    assert sizes["MLA"] == model.compress(x, torch.arange(3, device=device)).shape[-1]
    for name, kv_heads in [("MHA", 4), ("GQA-2", 2), ("MQA", 1)]:
        gqa = GroupedQueryAttention(64, 4, kv_heads)
        assert sizes[name] == gqa.k_proj.out_features + gqa.v_proj.out_features, name


def test_demo_runs_and_agrees(device):
    result = demo(device)
    assert all(error < 1e-12 for error in result["errors"].values()) and len(result["errors"]) == 2
    assert result["cache_elements"] == {"MHA": 32768, "GQA-8": 2048, "MQA": 256, "MLA": 576}
    assert result["cache_shape"] == (2, 10, 36)
