"""Native sparse attention: each branch against dense attention under the mask it stands for (the
compressed branch: the blocks that ended at or before the query; the selected branch: the chosen
blocks; the sliding branch: a band), the block scores and the choice against loops, and the whole
layer against a loop over batch, heads and queries written from the paper's equations."""
from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from runnable.native_sparse_attention import (NativeSparseAttention, block_starts, compress, compressed_attention, demo,
                                              select_blocks, selected_attention, selection_scores,
                                              sliding_window_attention)

EXACT = dict(atol=1e-12, rtol=1e-12)   # float64: the same sums in another order
FLOAT32 = dict(atol=1e-5, rtol=1e-5)   # float32, head size 8
SMALL = dict(block=4, stride=2, select_block=8, num_selected=4, window=5)   # 5 blocks at 35 tokens: 3 forced, 1 by score


def qkv(device, B=2, H=4, H_kv=2, L=21, D=8, dtype=torch.float64, seed=0):
    generator = torch.Generator().manual_seed(seed)
    return [torch.randn(B, n, L, D, generator=generator, dtype=dtype).to(device) for n in (H, H_kv, H_kv)]


def dense(q, k, v, allowed):
    """torch's SDPA with keys and values repeated per query head; rows with no allowed key are 0."""
    G = q.shape[1] // k.shape[1]
    allowed = allowed.expand(q.shape[0], k.shape[1], *allowed.shape[-2:]).repeat_interleave(G, 1)
    k, v = k.repeat_interleave(G, 1), v.repeat_interleave(G, 1)
    output = F.scaled_dot_product_attention(q, k, v, attn_mask=allowed | ~allowed.any(-1, keepdim=True))
    return output.masked_fill(~allowed.any(-1, keepdim=True), 0.0)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=str)
def test_compressed_branch_is_dense_attention_over_finished_blocks(device, dtype):
    q, k, v = qkv(device, dtype=dtype)
    block, stride = 4, 2
    k_cmp, v_cmp = k.unfold(2, block, stride).mean(-1), v.unfold(2, block, stride).mean(-1)   # any block summary
    output, p = compressed_attention(q, k_cmp, v_cmp, block, stride)
    C = k_cmp.shape[2]
    assert C == (21 - block) // stride + 1
    allowed = torch.tensor([[i * stride + block - 1 <= t for i in range(C)] for t in range(21)], device=device)
    tolerance = EXACT if dtype == torch.float64 else FLOAT32
    torch.testing.assert_close(output, dense(q, k_cmp, v_cmp, allowed), **tolerance)
    assert (output[:, :, :block - 1] == 0).all()                            # nothing finished yet: zero output
    weights = torch.softmax((q @ k_cmp.repeat_interleave(2, 1).transpose(-2, -1) / math.sqrt(8))
                            .masked_fill(~allowed, float("-inf")), -1).nan_to_num()
    torch.testing.assert_close(p, weights.view(2, 2, 2, 21, C).sum(2), **tolerance)   # summed over each group


def test_compress_is_position_embedding_mean_and_projection(device):
    generator = torch.Generator().manual_seed(1)
    k = torch.randn(1, 2, 11, 4, generator=generator, dtype=torch.float64).to(device)
    position = torch.randn(4, 4, generator=generator, dtype=torch.float64).to(device)
    project = torch.nn.Linear(4, 4).to(device, torch.float64)
    out = compress(k, 4, 2, position, project)
    assert out.shape == (1, 2, 4, 4) and block_starts(11, 4, 2).tolist() == [0, 2, 4, 6]
    for i, s in enumerate([0, 2, 4, 6]):
        expected = project(sum(k[:, :, s + j] + position[j] for j in range(4)) / 4)
        torch.testing.assert_close(out[:, :, i], expected, **EXACT)


def test_selection_scores_count_each_block_once_per_shared_stride_chunk(device):
    generator = torch.Generator().manual_seed(2)
    L, block, stride, select_block = 22, 4, 2, 8
    C = len(block_starts(L, block, stride))
    p = torch.rand(1, 1, 3, C, generator=generator, dtype=torch.float64).to(device)
    scores = selection_scores(p, L, block, stride, select_block)
    assert scores.shape == (1, 1, 3, 3)                                      # blocks [0, 8), [8, 16), [16, 22)
    for j in range(3):
        expected = torch.zeros(3, dtype=torch.float64, device=device)
        for chunk in range(j * select_block // stride, (j + 1) * select_block // stride):   # the stride chunks of block j
            for i in range(C):
                if i * stride <= chunk * stride < i * stride + block:          # compression block i covers the chunk
                    expected += p[0, 0, :, i]
        torch.testing.assert_close(scores[0, 0, :, j], expected, **EXACT)


def test_choice_is_top_n_with_the_first_and_local_blocks_forced(device):
    generator = torch.Generator().manual_seed(3)
    L, select_block, n = 40, 4, 4
    scores = torch.rand(2, 3, L, L // select_block, generator=generator, dtype=torch.float64).to(device)
    indices, valid = select_blocks(scores, select_block, n)
    for b in range(2):
        for h in range(3):
            for t in range(L):
                current = t // select_block
                candidates = range(current + 1)
                forced = lambda j: j < 1 or current - 2 < j <= current          # noqa: E731
                ranked = sorted(candidates, key=lambda j: (forced(j), scores[b, h, t, j].item()), reverse=True)
                chosen = set(indices[b, h, t][valid[b, h, t]].tolist())
                assert chosen == set(ranked[:n]), (b, h, t)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=str)
def test_selected_branch_is_dense_attention_under_the_chosen_blocks(device, dtype):
    q, k, v = qkv(device, L=29, dtype=dtype)                                 # 29 tokens: a last, partial block
    generator = torch.Generator().manual_seed(4)
    scores = torch.rand(2, 2, 29, 4, generator=generator, dtype=dtype).to(device)
    indices, valid = select_blocks(scores, 8, 3)
    output = selected_attention(q, k, v, indices, valid, 8)
    allowed = torch.zeros(2, 2, 29, 29, dtype=torch.bool, device=device)
    for b, h, t in torch.cartesian_prod(torch.arange(2), torch.arange(2), torch.arange(29)).tolist():
        for i in indices[b, h, t][valid[b, h, t]].tolist():
            allowed[b, h, t, i * 8:min((i + 1) * 8, t + 1)] = True               # the block's keys at or before t
    torch.testing.assert_close(output, dense(q, k, v, allowed), **(EXACT if dtype == torch.float64 else FLOAT32))


def test_selected_branch_with_every_block_chosen_is_causal_attention(device):
    q, k, v = qkv(device, L=24)
    indices, valid = select_blocks(torch.zeros(2, 2, 24, 3, dtype=torch.float64, device=device), 8, 3)
    output = selected_attention(q, k, v, indices, valid, 8)
    torch.testing.assert_close(output, F.scaled_dot_product_attention(q, k, v, is_causal=True, enable_gqa=True), **EXACT)


@pytest.mark.parametrize("window", [1, 5, 30])
def test_sliding_branch_is_dense_attention_under_a_band(device, window):
    q, k, v = qkv(device)
    t, j = torch.arange(21, device=device)[:, None], torch.arange(21, device=device)[None, :]
    band = (j <= t) & (j > t - window)
    torch.testing.assert_close(sliding_window_attention(q, k, v, window), dense(q, k, v, band), **EXACT)


def loop_reference(model: NativeSparseAttention, x):
    """The layer one batch element, head and query at a time, from the paper's equations 5, 7–12."""
    B, L, _ = x.shape
    H, H_kv, D = model.num_heads, model.num_kv_heads, model.d_head
    G, l, d, l_sel, w = H // H_kv, model.block, model.stride, model.select_block, model.window
    q = (x @ model.q_proj.weight.T).view(B, L, H, D)
    kv = (x @ model.kv_proj.weight.T).view(B, L, 6, H_kv, D)
    gates = torch.sigmoid(model.gate(x)).view(B, L, 3, H)
    starts = list(range(0, L - l + 1, d))

    def attend(query, keys, values):
        if not keys:
            return torch.zeros(D, dtype=x.dtype, device=x.device)
        weights = torch.softmax(torch.stack([query @ key for key in keys]) / math.sqrt(D), 0)
        return sum(weight * value for weight, value in zip(weights, values))

    heads = torch.zeros(B, L, H, D, dtype=x.dtype, device=x.device)
    for b in range(B):
        for g in range(H_kv):
            k_cmp, v_cmp, k_slc, v_slc, k_win, v_win = (kv[b, :, c, g] for c in range(6))
            phi_k = [model.compress_k((k_cmp[s:s + l] + model.position_k).mean(0)) for s in starts]
            phi_v = [model.compress_v((v_cmp[s:s + l] + model.position_v).mean(0)) for s in starts]
            for t in range(L):
                seen = [i for i, s in enumerate(starts) if s + l - 1 <= t]                 # eq. 7
                importance = [0.0] * (-(-L // l_sel))
                for h in range(g * G, (g + 1) * G):                                        # eq. 10: the group's heads
                    if seen:
                        p = torch.softmax(torch.stack([q[b, t, h] @ phi_k[i] for i in seen]) / math.sqrt(D), 0)
                        for weight, i in zip(p.tolist(), seen):                             # eq. 9: per shared chunk
                            for chunk in range(starts[i] // d, (starts[i] + l) // d):
                                importance[chunk * d // l_sel] += weight
                current = t // l_sel
                forced = lambda j: j < 1 or current - 2 < j <= current                     # noqa: E731
                ranked = sorted(range(current + 1), key=lambda j: (forced(j), importance[j]), reverse=True)
                selected = [j for i in sorted(ranked[:model.num_selected]) for j in range(i * l_sel, (i + 1) * l_sel)
                            if j <= t]                                                     # eqs. 11, 12
                window = range(max(0, t - w + 1), t + 1)
                for h in range(g * G, (g + 1) * G):
                    outputs = [attend(q[b, t, h], [phi_k[i] for i in seen], [phi_v[i] for i in seen]),
                               attend(q[b, t, h], [k_slc[j] for j in selected], [v_slc[j] for j in selected]),
                               attend(q[b, t, h], [k_win[j] for j in window], [v_win[j] for j in window])]
                    heads[b, t, h] = sum(gates[b, t, c, h] * outputs[c] for c in range(3))   # eq. 5
    return model.out_proj(heads.reshape(B, L, H * D))


def test_whole_layer_matches_a_loop_from_the_equations(device):
    torch.manual_seed(5)
    model = NativeSparseAttention(d_model=16, num_heads=4, num_kv_heads=2, d_head=4, **SMALL).to(device, torch.float64)
    x = torch.randn(1, 35, 16, device=device, dtype=torch.float64)
    with torch.no_grad():
        torch.testing.assert_close(model(x), loop_reference(model, x), **EXACT)


def test_the_future_does_not_change_the_past(device):
    torch.manual_seed(6)
    model = NativeSparseAttention(d_model=16, num_heads=2, num_kv_heads=1, d_head=8, **SMALL).to(device, torch.float64)
    x = torch.randn(1, 24, 16, device=device, dtype=torch.float64)
    changed = x.clone()
    changed[:, 15:] = torch.randn(1, 9, 16, device=device, dtype=torch.float64)
    with torch.no_grad():
        before, after = model(x), model(changed)
    torch.testing.assert_close(before[:, :15], after[:, :15], **EXACT)
    assert not torch.allclose(before[:, 15:], after[:, 15:])                 # negative control


def test_demo_runs_and_agrees(device):
    result = demo(device)
    assert result["error"] < 1e-12 and result["output_shape"] == (1, 96, 32)
    assert result["reads"][65536] == (65536 - 32) // 16 + 1 + 16 * 64 + 512
