"""The MLP and its attention form against nn.Sequential(nn.Linear, activation, nn.Linear) with
copied weights and against a loop over slots; the softmax-over-slots form against torch's
scaled_dot_product_attention with the weights as keys and values."""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from runnable.mlp_as_attention import (demo, mlp, mlp_as_attention, naive_mlp_as_attention, slot_weights,
                                       softmax_over_slots)

FLOAT64 = dict(atol=1e-10, rtol=1e-10)  # float64, sums over at most 24 slots
FLOAT32 = dict(atol=1e-5, rtol=1e-5)    # float32 (CUDA may use its fused attention kernels)


def layer_and_input(device, activation, dtype=torch.float64, d=5, H=24, d_out=3, seed=0):
    torch.manual_seed(seed)
    layer = nn.Sequential(nn.Linear(d, H), activation, nn.Linear(H, d_out)).to(device, dtype)
    x = torch.randn(2, 7, d, dtype=dtype).to(device)
    W1, b1, W2, b2 = (p.detach() for p in (layer[0].weight, layer[0].bias, layer[2].weight, layer[2].bias))
    return layer, x, W1, b1, W2, b2


@pytest.mark.parametrize("module, function", [(nn.ReLU(), torch.relu), (nn.GELU(), F.gelu), (nn.Tanh(), torch.tanh)],
                         ids=["relu", "gelu", "tanh"])
def test_both_forms_match_nn_sequential(device, module, function):
    layer, x, W1, b1, W2, b2 = layer_and_input(device, module)
    with torch.no_grad():
        expected = layer(x)
    torch.testing.assert_close(mlp(x, W1, b1, W2, b2, function), expected, **FLOAT64)
    torch.testing.assert_close(mlp_as_attention(x, W1, b1, W2.T, b2, function), expected, **FLOAT64)


def test_attention_form_matches_the_loop_over_slots(device):
    _, x, W1, b1, W2, b2 = layer_and_input(device, nn.ReLU(), seed=1)
    for row in x.reshape(-1, x.shape[-1]):
        torch.testing.assert_close(mlp_as_attention(row, W1, b1, W2.T, b2),
                                   naive_mlp_as_attention(row, W1, b1, W2.T, b2), **FLOAT64)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_softmax_over_slots_is_sdpa_with_the_weights_as_keys_and_values(device, dtype):
    """Σ_i softmax_i(k_iᵀx + b1_i) v_i: SDPA with the rows of W1 as K, the columns of W2 as V,
    b1 as an additive float mask and scale 1."""
    _, x, W1, b1, W2, _ = layer_and_input(device, nn.ReLU(), dtype, seed=2)
    expected = F.scaled_dot_product_attention(x, W1.expand(2, -1, -1), W2.T.expand(2, -1, -1),
                                              attn_mask=b1.expand(2, 7, -1), scale=1.0)
    got = mlp_as_attention(x, W1, b1, W2.T, torch.zeros(3, dtype=dtype, device=device), softmax_over_slots)
    torch.testing.assert_close(got, expected, **(FLOAT64 if dtype == torch.float64 else FLOAT32))


def test_relu_slots_are_sparse_and_softmax_slots_are_a_distribution(device):
    _, x, W1, b1, _, _ = layer_and_input(device, nn.ReLU(), seed=3)
    relu = slot_weights(x, W1, b1)
    assert torch.all(relu >= 0) and (relu == 0).any() and (relu > 0).any()
    soft = slot_weights(x, W1, b1, softmax_over_slots)
    assert torch.all(soft > 0)
    torch.testing.assert_close(soft.sum(-1), torch.ones(2, 7, dtype=soft.dtype, device=device), **FLOAT64)


def test_keys_and_values_do_not_depend_on_the_input(device):
    """The slots are parameters: each input row is processed alone (position-wise), so permuting
    the rows of x permutes the outputs and nothing else."""
    _, x, W1, b1, W2, b2 = layer_and_input(device, nn.ReLU(), seed=4)
    permutation = torch.randperm(7, device=device)
    out = mlp_as_attention(x, W1, b1, W2.T, b2)
    torch.testing.assert_close(mlp_as_attention(x[:, permutation], W1, b1, W2.T, b2), out[:, permutation], **FLOAT64)


def test_a_query_equal_to_a_key_reads_one_slot_only_under_the_softmax(device):
    """The page's example: query 3·k_5 with 32 random keys. The softmax puts > 90% of its weight on
    slot 5; the ReLU reads every slot with a positive score, and slot 5 is under half of the total."""
    generator = torch.Generator().manual_seed(0)
    keys = torch.randn(32, 8, generator=generator, dtype=torch.float64).to(device)
    bias = torch.zeros(32, dtype=torch.float64, device=device)
    query = 3 * keys[5]
    soft = slot_weights(query, keys, bias, softmax_over_slots)
    relu = slot_weights(query, keys, bias)
    assert soft[5] > 0.9 and soft.argmax() == 5
    assert torch.equal(relu > 0, keys @ query > 0) and relu[5] < 0.5 * relu.sum()


def test_demo_runs_and_agrees(device):
    result = demo(device)
    assert all(error < 1e-10 for error in result["errors"].values()), result["errors"]
    relu, soft = result["relu_weights"], result["softmax_weights"]
    assert 0.2 < (relu > 0).double().mean() < 0.8                      # the page: about half the slots read
    assert torch.all(soft > 0) and soft.max() < 0.5                    # softmax reads every slot a little
