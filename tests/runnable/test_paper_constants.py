"""The papers' constants, pinned: each test writes the paper's value as a literal and compares the
module's default behaviour with it, so changing a module's constant fails here even where the
module's own tests (whose references read the module's settings) would still pass.

Elsewhere: RNNsearch scoring with s_{i-1} and s_0 = tanh(W_s ←h_1) (test_bahdanau_attention's
step-by-step reference and its negative controls); Show, Attend and Tell's λ (test_visual_attention)."""
from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from runnable.graph_attention import GraphAttentionLayer
from runnable.linear_attention import elu_feature_map
from runnable.multi_head_attention import MultiHeadAttention
from runnable.ntm_addressing import NTMHead, address
from runnable.performer import favor_features
from runnable.reformer_lsh import lsh_hash
from runnable.rotary_embeddings import apply_rotary, rotary_angles
from runnable.scaled_dot_product_attention import scaled_dot_product_attention
from runnable.transformer_block import sinusoidal_positions

EXACT = dict(atol=1e-12, rtol=1e-12)


def test_gat_leaky_relu_slope_is_0_2():
    """Veličković et al. (2018), eq. 3: LeakyReLU with negative input slope α = 0.2."""
    torch.manual_seed(0)
    layer = GraphAttentionLayer(5, 3, heads=2).double()
    h = torch.randn(4, 5, dtype=torch.float64)
    adjacency = torch.ones(4, 4, dtype=torch.bool)
    _, alpha = layer(h, adjacency)
    for slope, should_match in [(0.2, True), (0.01, False)]:
        expected = torch.empty(2, 4, 4, dtype=torch.float64)
        for k in range(2):
            Wh = h @ layer.W[k]
            for i in range(4):
                e = torch.stack([layer.a[k] @ torch.cat([Wh[i], Wh[j]]) for j in range(4)])
                expected[k, i] = torch.softmax(torch.where(e > 0, e, slope * e), 0)
        assert torch.allclose(alpha, expected, **EXACT) == should_match, slope


def test_transformer_scale_is_one_over_root_d_k():
    """Vaswani et al. (2017), eq. 1: softmax(QKᵀ/√d_k) V, with d_k = d_model/h = 64 in the base model."""
    torch.manual_seed(1)
    q, k, v = torch.randn(3, 2, 5, 64, dtype=torch.float64)
    output, weights = scaled_dot_product_attention(q, k, v)
    torch.testing.assert_close(weights, torch.softmax(q @ k.transpose(-2, -1) / 8.0, -1), **EXACT)   # √64 = 8
    mha = MultiHeadAttention(512, 8).double()                                   # the base model: h = 8, d_k = 64
    x = torch.randn(1, 4, 512, dtype=torch.float64)
    heads = [(x @ W.weight.T + W.bias).view(1, 4, 8, 64).transpose(1, 2) for W in (mha.q_proj, mha.k_proj, mha.v_proj)]
    expected = torch.softmax(heads[0] @ heads[1].transpose(-2, -1) / 8.0, -1)
    torch.testing.assert_close(mha(x, x, x)[1], expected, **EXACT)


def test_sinusoidal_base_is_10000():
    """Vaswani et al. (2017), section 3.5: PE(pos, 2i) = sin(pos/10000^{2i/d}), PE(pos, 2i+1) = cos(…)."""
    d = 8
    expected = torch.tensor([[f(pos / 10000 ** (2 * (c // 2) / d)) for c, f in zip(range(d), [math.sin, math.cos] * 4)]
                             for pos in range(6)], dtype=torch.float64)
    torch.testing.assert_close(sinusoidal_positions(6, d, dtype=torch.float64), expected, **EXACT)


def test_rope_base_is_10000():
    """Su et al. (RoFormer), eq. 15: θ_i = 10000^{−2(i−1)/d}, pairs (x_{2i-1}, x_{2i}) rotated by m θ_i."""
    d, positions = 6, torch.arange(5)
    theta = [10000 ** (-2 * i / d) for i in range(d // 2)]
    expected = torch.tensor([[m * t for t in theta] for m in range(5)], dtype=torch.float64)
    torch.testing.assert_close(rotary_angles(positions, d, dtype=torch.float64), expected, **EXACT)
    x = torch.randn(5, d, dtype=torch.float64)
    rotated = torch.empty_like(x)
    for m in range(5):
        for i, t in enumerate(theta):
            c, s = math.cos(m * t), math.sin(m * t)
            rotated[m, 2 * i] = c * x[m, 2 * i] - s * x[m, 2 * i + 1]
            rotated[m, 2 * i + 1] = s * x[m, 2 * i] + c * x[m, 2 * i + 1]
    torch.testing.assert_close(apply_rotary(x, positions), rotated, **EXACT)


def test_performer_positive_features():
    """Choromanski et al. (2021), FAVOR+: φ(x) = exp(−‖x‖²/2)/√m · (exp(w_1ᵀx), …, exp(w_mᵀx))."""
    torch.manual_seed(2)
    x, W = torch.randn(3, 4, dtype=torch.float64), torch.randn(7, 4, dtype=torch.float64)
    expected = torch.tensor([[math.exp(-(row @ row).item() / 2) / math.sqrt(7) * math.exp((w @ row).item()) for w in W]
                             for row in x], dtype=torch.float64)
    torch.testing.assert_close(favor_features(x, W), expected, **EXACT)


def test_linear_attention_feature_map_is_elu_plus_one():
    """Katharopoulos et al. (2020), eq. 7: φ(x) = elu(x) + 1."""
    x = torch.linspace(-3, 3, 13, dtype=torch.float64)
    torch.testing.assert_close(elu_feature_map(x), torch.where(x > 0, x + 1, torch.exp(x)), **EXACT)


def test_reformer_hash_is_argmax_of_rotation_and_its_negation():
    """Kitaev et al. (2020), section 2: h(x) = argmax([xR; −xR]) with R of size d × b/2."""
    torch.manual_seed(3)
    x, R = torch.randn(20, 4), torch.randn(4, 3)
    expected = [max(range(6), key=lambda i: ([*(row @ R).tolist(), *(-(row @ R)).tolist()])[i]) for row in x]
    assert lsh_hash(x, 6, R).tolist() == expected


def test_ntm_shifts_are_minus_one_zero_plus_one_and_gamma_at_least_one():
    """Graves et al. (2014), section 3.3.2: the example shift range −1, 0, +1 (s_t over three shifts),
    and sharpening with γ_t ≥ 1."""
    torch.manual_seed(4)
    memory, w_prev = torch.randn(1, 5, 3, dtype=torch.float64), torch.softmax(torch.randn(1, 5, dtype=torch.float64), -1)
    one, zero = torch.ones(1, dtype=torch.float64), torch.zeros(1, dtype=torch.float64)
    shift_up = torch.tensor([[0.0, 0.0, 1.0]], dtype=torch.float64)   # all mass on the third shift: +1
    w = address(memory, w_prev, torch.randn(1, 3, dtype=torch.float64), one, zero, shift_up, one)   # g = 0: w^g = w_prev
    torch.testing.assert_close(w[0], w_prev[0].roll(1), **EXACT)       # w̃(i) = w^g(i − 1)
    head = NTMHead(controller_size=4, row_size=3)
    assert head.shifts == (-1, 0, 1)
    with torch.no_grad():                                               # a controller output far below zero
        head.params.weight.zero_()
        head.params.bias.fill_(-50.0)
    w_before = torch.tensor([[0.1, 0.2, 0.3, 0.4, 0.0]], dtype=torch.float32)
    w, _, _ = head(torch.zeros(1, 4), memory.float(), w_before)
    # γ = 1 + softplus(−50) ≈ 1, g ≈ 0 and s uniform: w is w_prev smoothed by the three shifts, not sharpened.
    smoothed = (w_before.roll(-1) + w_before + w_before.roll(1)) / 3
    torch.testing.assert_close(w, smoothed / smoothed.sum(), atol=1e-6, rtol=1e-6)


def test_alibi_slopes_for_8_heads_are_powers_of_one_half():
    """Press, Smith & Lewis (2021), section 3: for 8 heads the slopes are 1/2¹, 1/2², …, 1/2⁸."""
    from runnable.alibi import alibi_slopes

    assert alibi_slopes(8) == [1 / 2, 1 / 4, 1 / 8, 1 / 16, 1 / 32, 1 / 64, 1 / 128, 1 / 256]
    assert alibi_slopes(16)[:2] == pytest.approx([2 ** -0.5, 2 ** -1.0], rel=1e-12)   # 16 heads: start and ratio 2^(−1/2)


def test_streaming_llm_keeps_four_sink_tokens():
    """Xiao et al. (2023), section 3.2: StreamingLLM keeps four initial tokens as attention sinks."""
    import inspect

    from runnable.attention_sinks import compare_policies

    assert inspect.signature(compare_policies).parameters["n_sink"].default == 4


def test_gla_gate_temperature_is_16():
    """Yang et al. (2023), the GLA gate: α_t = σ(x_t W_α¹ W_α² + b_α)^{1/τ} with τ = 16."""
    from runnable.gated_linear_attention import gate_log_decay

    z = torch.linspace(-6, 6, 13, dtype=torch.float64)
    torch.testing.assert_close(gate_log_decay(z).exp(), torch.sigmoid(z) ** (1 / 16), **EXACT)


def test_retnet_head_decays_are_one_minus_two_to_the_minus_five_minus_h():
    """Sun et al. (2023), multi-scale retention: γ = 1 − 2^{−5−arange(0, h)}, one per head."""
    from runnable.retention import head_decays

    expected = torch.tensor([1 - 1 / 32, 1 - 1 / 64, 1 - 1 / 128, 1 - 1 / 256], dtype=torch.float64)
    torch.testing.assert_close(head_decays(4), expected, **EXACT)


def test_mla_latent_is_four_head_sizes_and_rope_part_half_a_head():
    """DeepSeek-V2 (2024), section 2.1, the key-value cache comparison (Table 1): d_c = 4·d_h and
    d_h^R = d_h / 2, so MLA caches (d_c + d_h^R) = 4.5·d_h numbers per token and layer."""
    from runnable.multi_head_latent_attention import MultiHeadLatentAttention, deepseek_v2_ranks

    assert deepseek_v2_ranks(128) == (512, 64)
    model = MultiHeadLatentAttention(d_model=64, num_heads=2, d_head=32)
    assert (model.kv_rank, model.rope_dim) == (4 * 32, 32 // 2)
    cache = model.compress(torch.randn(1, 3, 64), torch.arange(3))
    assert cache.shape[-1] == 4.5 * 32


def test_differential_lambda_init_is_0_8_minus_0_6_exp_of_minus_0_3_times_l_minus_1():
    """Ye et al. (2024), Differential Transformer, sections 2.1 and 2.2: λ_init = 0.8 − 0.6·exp(−0.3·(l − 1)),
    l the layer index from 1; the heads are scaled by (1 − λ_init) after their normalisation."""
    from runnable.differential_attention import DifferentialAttention, lambda_init

    for layer in (1, 2, 5, 12, 40):
        assert lambda_init(layer) == pytest.approx(0.8 - 0.6 * math.exp(-0.3 * (layer - 1)), abs=1e-15)
    assert lambda_init(1) == pytest.approx(0.2, abs=1e-15)
    assert DifferentialAttention(16, 2, layer=3).lambda_init == pytest.approx(0.8 - 0.6 * math.exp(-0.6), abs=1e-15)


def test_nsa_sizes_are_the_papers():
    """Yuan et al. (2025), Native Sparse Attention, section 4.1: compression block l = 32, stride d = 16,
    selection block l' = 64, n = 16 selected blocks (the 1 initial and 2 local blocks always among
    them), sliding window w = 512."""
    import inspect

    from runnable.native_sparse_attention import NativeSparseAttention

    defaults = {name: p.default for name, p in inspect.signature(NativeSparseAttention).parameters.items()
                if p.default is not inspect.Parameter.empty}
    assert defaults == {"block": 32, "stride": 16, "select_block": 64, "num_selected": 16, "window": 512,
                        "initial_blocks": 1, "local_blocks": 2}
