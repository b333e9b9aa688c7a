"""Set Transformer blocks: MAB against torch.nn.MultiheadAttention and torch's LayerNorm, the
symmetries (SAB and ISAB equivariant, PMA and the whole model invariant), and ISAB's n × m cost."""
from __future__ import annotations

import pytest
import torch

from runnable.set_transformer import ISAB, MAB, PMA, SAB, SetTransformer, demo

EXACT = dict(atol=1e-10, rtol=1e-10)  # float64; the blocks are a few matrix products and LayerNorms
F64 = dict(dtype=torch.float64)


def reference_mab(mab: MAB, X, Y):
    """MAB(X, Y) composed of torch modules: nn.MultiheadAttention given the same W^Q, W^K, W^V, W^O,
    then LayerNorm(X + ·) and LayerNorm(H + rFF(H))."""
    d = X.shape[-1]
    attention = torch.nn.MultiheadAttention(d, mab.h, batch_first=True).to(X.device, X.dtype)
    with torch.no_grad():
        attention.in_proj_weight.copy_(torch.cat([mab.q.weight, mab.k.weight, mab.v.weight]))
        attention.in_proj_bias.copy_(torch.cat([mab.q.bias, mab.k.bias, mab.v.bias]))
        attention.out_proj.weight.copy_(mab.o.weight)
        attention.out_proj.bias.copy_(mab.o.bias)
    out, weights = attention(X, Y, Y, average_attn_weights=False)
    H = mab.norm1(X + out)
    return mab.norm2(H + mab.rff(H)), weights


@pytest.mark.parametrize("heads", [1, 4])
def test_mab_matches_torch_multihead_attention(device, heads):
    torch.manual_seed(0)
    mab = MAB(8, heads).to(device, **F64)
    X, Y = torch.randn(3, 5, 8, device=device, **F64), torch.randn(3, 7, 8, device=device, **F64)
    expected, weights = reference_mab(mab, X, Y)
    torch.testing.assert_close(mab(X, Y), expected, **EXACT)
    torch.testing.assert_close(mab.weights, weights, **EXACT)
    assert mab.weights.shape == (3, heads, 5, 7)


def test_layer_norm_closed_form(device):
    """The output of a MAB is LayerNorm-ed: each row has mean β and, with γ = 1, β = 0, unit variance."""
    torch.manual_seed(1)
    mab = MAB(8, 2).to(device, **F64)
    out = mab(torch.randn(2, 4, 8, device=device, **F64), torch.randn(2, 6, 8, device=device, **F64))
    torch.testing.assert_close(out.mean(-1), torch.zeros(2, 4, device=device, **F64), **EXACT)
    torch.testing.assert_close(out.var(-1, unbiased=False), torch.ones(2, 4, device=device, **F64),
                               atol=1e-4, rtol=1e-4)  # LayerNorm's ε = 1e-5 in the denominator


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("block", ["SAB", "ISAB"])
def test_sab_and_isab_are_permutation_equivariant(device, block, seed):
    torch.manual_seed(seed)
    f = (SAB(8, 2) if block == "SAB" else ISAB(8, 2, inducing=3)).to(device, **F64)
    X = torch.randn(2, 9, 8, device=device, **F64)
    permutation = torch.randperm(9, device=device)
    torch.testing.assert_close(f(X[:, permutation]), f(X)[:, permutation], **EXACT)


@pytest.mark.parametrize("seed", range(3))
def test_pma_and_the_whole_model_are_permutation_invariant(device, seed):
    torch.manual_seed(seed)
    pma, model = PMA(8, 2, seeds=3).to(device, **F64), SetTransformer(2, 3, d=8, heads=2, blocks=2).to(device, **F64)
    X, Z = torch.randn(2, 9, 2, device=device, **F64), torch.randn(2, 9, 8, device=device, **F64)
    permutation = torch.randperm(9, device=device)
    assert pma(Z).shape == (2, 3, 8)
    torch.testing.assert_close(pma(Z[:, permutation]), pma(Z), **EXACT)
    torch.testing.assert_close(model(X[:, permutation]), model(X), **EXACT)
    sab_model = SetTransformer(2, 3, d=8, heads=2, inducing=None).to(device, **F64)
    torch.testing.assert_close(sab_model(X[:, permutation]), sab_model(X), **EXACT)


def test_isab_attention_is_n_by_m_not_n_by_n(device):
    """ISAB_m never forms an n × n matrix: MAB(I, X) has m × n weights, MAB(X, H) has n × m."""
    isab = ISAB(8, 2, inducing=3).to(device)
    isab(torch.randn(4, 50, 8, device=device))
    assert isab.mab_in.weights.shape == (4, 2, 3, 50)
    assert isab.mab_out.weights.shape == (4, 2, 50, 3)
    sab = SAB(8, 2).to(device)
    sab(torch.randn(4, 50, 8, device=device))
    assert sab.weights.shape == (4, 2, 50, 50)


def test_isab_matches_its_definition(device):
    """ISAB(X) = MAB(X, MAB(I, X)), with both MABs from the torch reference."""
    torch.manual_seed(2)
    isab = ISAB(8, 2, inducing=3).to(device, **F64)
    X = torch.randn(2, 6, 8, device=device, **F64)
    H, _ = reference_mab(isab.mab_in, isab.I.expand(2, -1, -1), X)
    torch.testing.assert_close(isab(X), reference_mab(isab.mab_out, X, H)[0], **EXACT)


def check_errors(errors):
    assert errors["Set Transformer"] < errors["sum pooling"] < errors["constant (median)"]
    assert errors["Set Transformer"] < 0.25 * errors["constant (median)"]


@pytest.mark.parametrize("seed", [1, 2])
def test_the_claims_hold_for_other_seeds(seed):
    """Not one lucky seed: with seeds 0-4 the errors were ST 0.015-0.023, sum pooling 0.079-0.161,
    constant 0.229-0.252 (CPU); seeds 1 and 2 are checked here, seed 0 by the demo test."""
    check_errors(demo("cpu", seed=seed)["errors"])


def test_demo_runs_and_agrees(device):
    """The page's claims: after brief training the Set Transformer predicts the max better than sum
    pooling, both beat a constant, and the symmetries hold in float32."""
    result = demo(device)
    check_errors(result["errors"])
    assert result["invariance"] < 1e-4 and result["equivariance"] < 1e-4
    assert result["shapes"] == [(4, 2, 4, 10), (4, 2, 10, 4)]
    weights = result["pooling_weights"]                                # (8 sets, 2 heads, 10 elements)
    torch.testing.assert_close(weights.sum(-1), torch.ones(8, 2), atol=1e-5, rtol=0)
