"""Property-based tests (hypothesis): over random shapes, masks and dtypes, scaled dot-product
attention and multi-head attention agree with torch's own implementations, and RoPE keeps norms.

Each example draws sizes, a dtype, a mask kind and a seed; the tensors come from that seed, so a
failure is reproducible from hypothesis's report."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from torch import nn

from runnable.multi_head_attention import MultiHeadAttention, load_from_torch
from runnable.rotary_embeddings import apply_rotary
from runnable.scaled_dot_product_attention import causal_mask, padding_mask, scaled_dot_product_attention

# The device fixture is function-scoped but immutable, so sharing it across examples is safe.
SETTINGS = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
TOLERANCES = {
    torch.float64: dict(atol=1e-10, rtol=1e-10),  # only the order of summation differs
    torch.float32: dict(atol=2e-5, rtol=2e-5),    # sizes ≤ 16; fused GPU kernels sum in their own order
    # bfloat16 keeps 8 mantissa bits (relative step 2^-8 ≈ 4e-3); ours rounds scores, weights and
    # output to bfloat16 while torch's fused kernels keep float32 inside, so errors of a few steps
    # on values of size ~1-3 are expected
    torch.bfloat16: dict(atol=6e-2, rtol=6e-2),
}
MASKS = ["none", "padding", "random", "causal", "causal+padding"]


@st.composite
def attention_inputs(draw):
    B, H = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    L_q, L_k = draw(st.integers(1, 7)), draw(st.integers(1, 7))
    d, d_v = draw(st.integers(1, 16)), draw(st.integers(1, 8))
    return dict(B=B, H=H, L_q=L_q, L_k=L_k, d=d, d_v=d_v, dtype=draw(st.sampled_from(list(TOLERANCES))),
                mask=draw(st.sampled_from(MASKS)), scale=draw(st.sampled_from([None, 0.5])),
                seed=draw(st.integers(0, 2 ** 31 - 1)))


def make_mask(kind, B, L_q, L_k, generator, device):
    """A boolean mask (True = may attend) in which every query keeps at least one key: torch's
    kernels do not agree among themselves on queries with none."""
    lengths = torch.randint(1, L_k + 1, (B,), generator=generator)
    if kind == "padding":
        return padding_mask(lengths, L_k).to(device), False
    if kind == "random":
        mask = torch.rand(B, 1, L_q, L_k, generator=generator) < 0.6
        mask[..., torch.randint(0, L_k, (L_q,), generator=generator)[:, None] == torch.arange(L_k)] = True
        return mask.to(device), False
    if kind == "causal+padding":                 # key 0 is always real, and every query sees key 0
        return padding_mask(lengths, L_k).to(device), True
    return None, kind == "causal"


@SETTINGS
@given(case=attention_inputs())
def test_sdpa_matches_torch(device, case):
    generator = torch.Generator().manual_seed(case["seed"])
    B, H, L_q, L_k = case["B"], case["H"], case["L_q"], case["L_k"]
    q, k, v = (torch.randn(B, H, L, n, generator=generator).to(device, case["dtype"])
               for L, n in [(L_q, case["d"]), (L_k, case["d"]), (L_k, case["d_v"])])
    mask, causal = make_mask(case["mask"], B, L_q, L_k, generator, device)
    output, weights = scaled_dot_product_attention(q, k, v, mask=mask, causal=causal, scale=case["scale"])
    torch_mask = mask & causal_mask(L_q, L_k, device) if mask is not None and causal else mask
    expected = F.scaled_dot_product_attention(q, k, v, attn_mask=torch_mask, is_causal=causal and mask is None,
                                              scale=case["scale"])
    assert output.dtype == case["dtype"] and output.shape == (B, H, L_q, case["d_v"])
    torch.testing.assert_close(output, expected, **TOLERANCES[case["dtype"]])
    allowed = torch.ones(L_q, L_k, dtype=torch.bool, device=device) if torch_mask is None else torch_mask
    if causal and mask is None:
        allowed = causal_mask(L_q, L_k, device)
    assert torch.all(weights.masked_select(~allowed.expand_as(weights)) == 0)
    torch.testing.assert_close(weights.float().sum(-1), torch.ones(B, H, L_q, device=device),
                               **TOLERANCES[case["dtype"] if case["dtype"] != torch.float64 else torch.float32])


@st.composite
def mha_inputs(draw):
    H, d_head = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    return dict(B=draw(st.integers(1, 3)), L_q=draw(st.integers(1, 6)), L_k=draw(st.integers(1, 6)), H=H,
                d_model=H * d_head, dtype=draw(st.sampled_from(list(TOLERANCES))), bias=draw(st.booleans()),
                padding=draw(st.booleans()), causal=draw(st.booleans()), seed=draw(st.integers(0, 2 ** 31 - 1)))


@SETTINGS
@given(case=mha_inputs())
def test_multi_head_attention_matches_torch(device, case):
    torch.manual_seed(case["seed"])
    B, L_q, L_k, d_model, dtype = case["B"], case["L_q"], case["L_k"], case["d_model"], case["dtype"]
    theirs = nn.MultiheadAttention(d_model, case["H"], bias=case["bias"], batch_first=True).to(device, dtype)
    ours = MultiHeadAttention(d_model, case["H"], bias=case["bias"]).to(device, dtype)
    load_from_torch(ours, theirs)
    query = torch.randn(B, L_q, d_model).to(device, dtype)
    key, value = torch.randn(2, B, L_k, d_model).to(device, dtype).unbind(0)
    mask, kwargs = None, {}
    if case["padding"]:
        mask = padding_mask(torch.randint(1, L_k + 1, (B,)), L_k).to(device)
        kwargs["key_padding_mask"] = ~mask[:, 0, 0]                         # torch: True = ignore
    if case["causal"]:
        kwargs["attn_mask"] = ~causal_mask(L_q, L_k, device)                # torch: True = blocked
    with torch.no_grad():
        output, weights = ours(query, key, value, mask=mask, causal=case["causal"])
        their_output, their_weights = theirs(query, key, value, need_weights=True, average_attn_weights=False, **kwargs)
    torch.testing.assert_close(output, their_output, **TOLERANCES[dtype])
    torch.testing.assert_close(weights, their_weights, **TOLERANCES[dtype])


@SETTINGS
@given(shape=st.lists(st.integers(1, 4), min_size=0, max_size=2), L=st.integers(1, 9), half_d=st.integers(1, 12),
       dtype=st.sampled_from([torch.float64, torch.float32, torch.bfloat16]), start=st.integers(0, 10_000),
       base=st.sampled_from([10000.0, 500.0, 1e6]), seed=st.integers(0, 2 ** 31 - 1))
def test_rotary_preserves_norms(device, shape, L, half_d, dtype, start, base, seed):
    x = torch.randn(*shape, L, 2 * half_d, generator=torch.Generator().manual_seed(seed)).to(device, dtype)
    rotated = apply_rotary(x, torch.arange(start, start + L, device=device), base=base)
    assert rotated.shape == x.shape and rotated.dtype == dtype
    # each pair is rotated separately, so each pair's norm is kept, not just the whole vector's
    pair_norms = [t.double().reshape(*t.shape[:-1], half_d, 2).norm(dim=-1) for t in (rotated, x)]
    tolerance = dict(atol=2e-2, rtol=2e-2) if dtype == torch.bfloat16 else dict(atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(*pair_norms, **tolerance)
