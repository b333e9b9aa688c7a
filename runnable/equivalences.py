"""Twelve equivalences between attention mechanisms, each computed both ways on the same inputs.

Each function below builds random inputs on a device, computes one mechanism in two forms that a
derivation says are equal, and returns (left, right). The tests assert they agree within stated
tolerances on CPU and CUDA; the Equivalences page shows the derivations and the measured gaps.

    fast weight programmer        ≡ unnormalised linear attention          (Schlag et al. 2021)
    linear attention, parallel    ≡ linear attention, recurrent            (Katharopoulos et al. 2020)
    tiled, online softmax         ≡ naive softmax attention                (Milakov & Gimelshein; Dao et al.)
    one modern Hopfield update    ≡ softmax attention with scale β         (Ramsauer et al. 2020)
    Nadaraya–Watson, Gaussian     ≡ softmax attention on −‖q − k‖²/(2h²)
    a two-layer MLP               ≡ attention over its weights, σ for softmax
    multi-head attention          ≡ single heads, concatenated, projected
    multi-query attention         ≡ grouped-query attention with one group
    our multi-head attention      ≡ torch.nn.MultiheadAttention, weights copied
    our scaled dot-product        ≡ torch.nn.functional.scaled_dot_product_attention
    scalar-decay SSM, recurrent   ≡ masked attention (L ∘ C Bᵀ) X           (Dao & Gu 2024)
    1-semiseparable masked attn.  ≡ an SSM recurrence read off the mask      (Dao & Gu 2024)

Differences from the paper:
- None in the usual sense: this module checks identities between implementations, each derived in
  the cited papers, rather than reproducing one paper; inputs are random and small.
"""
from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

from runnable.fast_weights import fast_weight_programmer
from runnable.flash_attention import naive_attention, tiled_attention
from runnable.grouped_query_attention import grouped_query_attention
from runnable.hopfield_retrieval import hopfield_update
from runnable.linear_attention import elu_feature_map, linear_attention_recurrent
from runnable.mlp_as_attention import naive_mlp_as_attention
from runnable.multi_head_attention import MultiHeadAttention, heads_one_by_one, load_from_torch
from runnable.nadaraya_watson import nadaraya_watson
from runnable.scaled_dot_product_attention import causal_mask, scaled_dot_product_attention
from runnable.state_space_duality import ssd_recurrent

Pair = tuple[torch.Tensor, torch.Tensor]


def _randn(*shape, device, dtype, generator):
    return torch.randn(*shape, generator=generator, dtype=dtype).to(device)


def fast_weights_vs_linear_attention(device, dtype, g) -> Pair:
    """W_t = Σ_{s≤t} v_s k_sᵀ, y_t = W_t q_t = Σ_{s≤t} (k_sᵀ q_t) v_s: causal linear attention with
    the identity feature map and no normaliser."""
    q, k, v = (_randn(2, 3, 17, 8, device=device, dtype=dtype, generator=g) for _ in range(3))
    # The attention side, written as an attention matrix: scores QKᵀ, causally masked, no softmax.
    scores = (q @ k.transpose(-1, -2)).masked_fill(~causal_mask(17, 17, device), 0)
    return fast_weight_programmer(q, k, v), scores @ v


def linear_parallel_vs_recurrent(device, dtype, g) -> Pair:
    """Σ_{s≤t} φ(q_t)ᵀφ(k_s) v_s / Σ_{s≤t} φ(q_t)ᵀφ(k_s) = φ(q_t)ᵀS_t / φ(q_t)ᵀz_t, with S_t, z_t running sums."""
    q, k, v = (_randn(2, 3, 33, 8, device=device, dtype=dtype, generator=g) for _ in range(3))
    # The parallel side as it trains: the L×L matrix of φ(q_t)ᵀφ(k_s), masked, normalised by its row sums.
    scores = (elu_feature_map(q) @ elu_feature_map(k).transpose(-1, -2)).masked_fill(~causal_mask(33, 33, device), 0)
    parallel = scores @ v / (scores.sum(-1, keepdim=True) + 1e-6)
    return parallel, linear_attention_recurrent(q, k, v)


def tiled_vs_naive(device, dtype, g) -> Pair:
    """softmax rows rebuilt block by block: rescale the partial sums by exp(m_old − m_new) as the max grows."""
    q = _randn(2, 2, 100, 16, device=device, dtype=dtype, generator=g)
    k, v = (_randn(2, 2, 130, 16, device=device, dtype=dtype, generator=g) for _ in range(2))
    return tiled_attention(q, k, v, block_q=32, block_k=48), naive_attention(q, k, v)


def hopfield_vs_attention(device, dtype, g) -> Pair:
    """ξ_new = Xᵀ softmax(β X ξ): queries ξ, keys and values the stored patterns X, scale β."""
    states = _randn(4, 10, 16, device=device, dtype=dtype, generator=g)
    patterns = _randn(4, 25, 16, device=device, dtype=dtype, generator=g)
    beta = 0.7
    return (hopfield_update(states, patterns[:, None].expand(4, 10, 25, 16), beta),
            F.scaled_dot_product_attention(states, patterns, patterns, scale=beta))


def nadaraya_watson_vs_attention(device, dtype, g) -> Pair:
    """exp(−‖q−k‖²/2h²) = exp(−‖q‖²/2h²) · exp(qᵀk/h²) · exp(−‖k‖²/2h²): the first factor cancels in the
    normalisation, so it is softmax attention with scale 1/h² and a per-key bias −‖k‖²/2h²."""
    queries = _randn(3, 12, 2, device=device, dtype=dtype, generator=g)
    keys = _randn(3, 40, 2, device=device, dtype=dtype, generator=g)
    values = _randn(3, 40, 5, device=device, dtype=dtype, generator=g)
    h = 0.6
    bias = (-keys.square().sum(-1) / (2 * h ** 2))[:, None, :]          # (B, 1, L_k), added to every row
    return (nadaraya_watson(queries, keys, values, h),
            F.scaled_dot_product_attention(queries, keys, values, attn_mask=bias, scale=1 / h ** 2))


def mlp_vs_attention_form(device, dtype, g) -> Pair:
    """W₂ σ(W₁x + b₁) + b₂ = Σ_i σ(k_iᵀx + b₁ᵢ) v_i + b₂: keys the rows of W₁, values the columns of W₂.
    One side is torch's own layers; the other sums the slots one at a time."""
    torch.manual_seed(int(torch.randint(0, 2 ** 31 - 1, (), generator=g)))
    layer = nn.Sequential(nn.Linear(6, 20), nn.ReLU(), nn.Linear(20, 4)).to(device=device, dtype=dtype)
    x = _randn(7, 6, device=device, dtype=dtype, generator=g)
    keys, key_bias = layer[0].weight.detach(), layer[0].bias.detach()
    values, value_bias = layer[2].weight.detach().T, layer[2].bias.detach()
    with torch.no_grad():
        return layer(x), torch.stack([naive_mlp_as_attention(row, keys, key_bias, values, value_bias) for row in x])


def _mha(device, dtype, g) -> tuple[MultiHeadAttention, torch.Tensor, torch.Tensor]:
    torch.manual_seed(int(torch.randint(0, 2 ** 31 - 1, (), generator=g)))
    attention = MultiHeadAttention(32, 4).to(device=device, dtype=dtype)
    x = _randn(2, 9, 32, device=device, dtype=dtype, generator=g)
    memory = _randn(2, 11, 32, device=device, dtype=dtype, generator=g)
    return attention, x, memory


def multi_head_vs_single_heads(device, dtype, g) -> Pair:
    """Split the projections into H slices, attend with each, concatenate, project: one batched op or H small ones."""
    attention, x, memory = _mha(device, dtype, g)
    return attention(x, memory, memory)[0], heads_one_by_one(attention, x, memory, memory)[0]


def multi_query_vs_one_group(device, dtype, g) -> Pair:
    """One shared key/value head, used by every query head, is GQA with one group; here MQA is written out
    by broadcasting the single head, independently of the grouped implementation."""
    q = _randn(2, 8, 10, 16, device=device, dtype=dtype, generator=g)
    k, v = (_randn(2, 1, 10, 16, device=device, dtype=dtype, generator=g) for _ in range(2))
    mqa = F.scaled_dot_product_attention(q, k.expand_as(q), v.expand_as(q), is_causal=True)
    return grouped_query_attention(q, k, v, causal=True), mqa


def ours_vs_torch_multihead(device, dtype, g) -> Pair:
    """The same four projections, copied from torch's packed in_proj into our q/k/v/out layers."""
    attention, x, memory = _mha(device, dtype, g)
    theirs = nn.MultiheadAttention(32, 4, batch_first=True).to(device=device, dtype=dtype)
    load_from_torch(attention, theirs)
    mask = causal_mask(9, 9, device)
    expected, _ = theirs(x, x, x, attn_mask=~mask, need_weights=False)  # torch's bool mask: True = blocked
    return attention(x, x, x, causal=True)[0], expected


def ours_vs_torch_sdpa(device, dtype, g) -> Pair:
    """softmax(QKᵀ/√d + mask) V, against PyTorch's fused implementation, with a padding mask."""
    q = _randn(2, 3, 12, 16, device=device, dtype=dtype, generator=g)
    k, v = (_randn(2, 3, 15, 16, device=device, dtype=dtype, generator=g) for _ in range(2))
    mask = torch.ones(2, 1, 1, 15, dtype=torch.bool, device=device)
    mask[1, ..., 10:] = False
    return scaled_dot_product_attention(q, k, v, mask=mask)[0], F.scaled_dot_product_attention(q, k, v, attn_mask=mask)


def ssm_recurrence_vs_masked_attention(device, dtype, g) -> Pair:
    """Recurrence → matrix: h_t = a_t h_{t−1} + B_t x_tᵀ, y_t = h_tᵀ C_t, run step by step, against
    Y = (L ∘ C Bᵀ) X with the mask built here from the same decays, L_ts = a_{s+1} ⋯ a_t for s ≤ t."""
    x = _randn(2, 3, 29, 8, device=device, dtype=dtype, generator=g)
    B, C = (_randn(2, 3, 29, 5, device=device, dtype=dtype, generator=g) for _ in range(2))
    log_a = -torch.rand(2, 3, 29, generator=g, dtype=dtype).to(device)            # a_t in (e^{−1}, 1]
    products = torch.ones(2, 3, 29, 29, dtype=dtype, device=device)
    for r in range(1, 29):                                                        # multiply a_r into L_ts for s < r ≤ t
        products[..., r:, :r] *= log_a[..., r, None, None].exp()
    mask = products.tril()
    return ssd_recurrent(x, log_a, B, C)[0], (mask * (C @ B.transpose(-1, -2))) @ x


def masked_attention_vs_ssm_recurrence(device, dtype, g) -> Pair:
    """Matrix → recurrence: causal linear attention (L ∘ Q Kᵀ) V under a 1-semiseparable mask
    L_ts = e^{c_t − c_s} (any sequence c that does not increase) is the SSM with C = Q, B = K,
    X = V and decays read off the mask's subdiagonal, a_t = L_{t,t−1}."""
    q, k = (_randn(2, 3, 29, 6, device=device, dtype=dtype, generator=g) for _ in range(2))
    v = _randn(2, 3, 29, 8, device=device, dtype=dtype, generator=g)
    c = (-torch.rand(2, 3, 29, generator=g, dtype=dtype)).cumsum(-1).to(device)
    mask = (c[..., :, None] - c[..., None, :]).exp().masked_fill(~causal_mask(29, 29, device), 0)
    read_back = torch.diagonal(mask, offset=-1, dim1=-2, dim2=-1).log()           # log a_t, t = 1 … L−1
    log_a = torch.cat([torch.zeros_like(read_back[..., :1]), read_back], -1)      # a_0 meets an empty state
    return (mask * (q @ k.transpose(-1, -2))) @ v, ssd_recurrent(v, log_a, k, q)[0]


EQUIVALENCES: dict[str, Callable] = {
    "fast weight programmer ≡ unnormalised linear attention": fast_weights_vs_linear_attention,
    "linear attention: parallel ≡ recurrent": linear_parallel_vs_recurrent,
    "tiled online softmax ≡ naive softmax attention": tiled_vs_naive,
    "one Hopfield update ≡ softmax attention": hopfield_vs_attention,
    "Nadaraya–Watson (Gaussian) ≡ softmax attention": nadaraya_watson_vs_attention,
    "MLP ≡ attention over its weights": mlp_vs_attention_form,
    "multi-head ≡ concatenated single heads": multi_head_vs_single_heads,
    "multi-query ≡ grouped-query with one group": multi_query_vs_one_group,
    "ours ≡ nn.MultiheadAttention": ours_vs_torch_multihead,
    "ours ≡ F.scaled_dot_product_attention": ours_vs_torch_sdpa,
    "SSM recurrence ≡ masked attention (L ∘ CBᵀ)X": ssm_recurrence_vs_masked_attention,
    "semiseparable masked attention ≡ SSM recurrence": masked_attention_vs_ssm_recurrence,
}
# float64 leaves only rounding: a few ulps of the sums involved. float32 gaps grow with the
# number of terms summed and with exp() of large scores, hence the looser bound.
TOLERANCE = {torch.float64: 1e-10, torch.float32: 1e-4}


def max_gap(name: str, device="cpu", dtype=torch.float64, seed: int = 0) -> float:
    """The largest absolute difference between the two sides of one named equivalence."""
    left, right = EQUIVALENCES[name](torch.device(device), dtype, torch.Generator().manual_seed(seed))
    assert left.shape == right.shape, (name, left.shape, right.shape)
    return (left - right).abs().max().item()


def demo(device: torch.device | str = "cpu", seed: int = 0) -> dict:
    """Compute every equivalence both ways in float64 and float32 and print the largest gap."""
    gaps = {}
    print(f"{'equivalence':<55} {'float64':>9} {'float32':>9}")
    for name in EQUIVALENCES:
        gaps[name] = {dtype: max_gap(name, device, dtype, seed) for dtype in (torch.float64, torch.float32)}
        print(f"{name:<55} {gaps[name][torch.float64]:9.1e} {gaps[name][torch.float32]:9.1e}")
    print(f"tolerances: float64 {TOLERANCE[torch.float64]:.0e}, float32 {TOLERANCE[torch.float32]:.0e}")
    return {"gaps": gaps}


if __name__ == "__main__":
    from runnable._cli import device_from_args

    demo(device_from_args(__doc__.splitlines()[0]))
