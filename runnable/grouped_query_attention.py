"""Multi-query and grouped-query attention (Shazeer 2019; Ainslie et al. 2023; bib: shazeer2019fast, ainslie2023gqa).

Multi-head attention gives each of its H heads its own queries, keys and values. When a model
generates one token at a time, every step reads the cached keys and values of all earlier
positions for every head, so the cache's size limits decoding speed. Multi-query attention (MQA)
keeps H query heads but lets them all share ONE key head and ONE value head:

    head_h = Attention(Q W_h^Q, K W^K, V W^V)          (W^K, W^V: the same for every h)

Grouped-query attention (GQA) sits in between: the H query heads fall into H_kv groups of
G = H / H_kv consecutive heads, and each group shares one key/value head:

    head_h = Attention(Q W_h^Q, K W_{g(h)}^K, V W_{g(h)}^V),   g(h) = ⌊h / G⌋

H_kv = 1 is MQA and H_kv = H is multi-head attention; the KV cache is H / H_kv times smaller
than multi-head attention's. The sharing makes no copy of the keys or values: the G query heads of
a group are folded into the sequence axis, (B, H, L_q, d) → (B, H_kv, G·L_q, d), so one matrix
product per group serves all G heads against the group's single (B, H_kv, L_k, d) keys. (A
broadcast against keys viewed as (B, H_kv, 1, L_k, d) would not do: torch.matmul materialises the
expanded operand, G copies of K and of V.) The causal mask follows each folded row's own query
position, row r being query r mod L_q.

Uptraining (the GQA paper): a multi-head checkpoint becomes a GQA one by mean-pooling the key and
value projections of the heads in each group (the query and output projections are kept); the
paper then continues pre-training briefly. mean_pool_heads does the conversion, not the training.

Differences from the paper:
- The uptraining recipe is only its first step: mean_pool_heads converts the weights; the brief
  continued pre-training that the GQA paper adds is not run.
- No KV cache or incremental decoding: the memory saving is computed from the shapes, not measured
  during generation.

Shapes: q (B, H, L_q, d), k and v (B, H_kv, L_k, d) → output (B, H, L_q, d) (the output only, as
torch's F.scaled_dot_product_attention(..., enable_gqa=True)). The module: x (B, L, d_model) →
(B, L, d_model), with k_proj and v_proj mapping d_model → H_kv·d_head.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from runnable.multi_head_attention import MultiHeadAttention
from runnable.scaled_dot_product_attention import causal_mask, scaled_dot_product_attention


def grouped_query_attention(q: Tensor, k: Tensor, v: Tensor, causal: bool = False) -> Tensor:
    """Query head h attends with key/value head h // G, G = H / H_kv."""
    B, H, L_q, d = q.shape
    H_kv = k.shape[1]
    assert H % H_kv == 0, "the query heads must split evenly into groups"
    G = H // H_kv
    folded = q.reshape(B, H_kv, G * L_q, d)          # consecutive heads form a group; its heads stack along L
    mask = causal_mask(L_q, k.shape[2], q.device).repeat(G, 1) if causal else None   # (G·L_q, L_k)
    output, _ = scaled_dot_product_attention(folded, k, v, mask=mask)            # (B, H_kv, G·L_q, d_v)
    return output.reshape(B, H, L_q, v.shape[-1])


class GroupedQueryAttention(nn.Module):
    """Self-attention with num_heads query heads and num_kv_heads key/value heads."""

    def __init__(self, d_model: int, num_heads: int, num_kv_heads: int, bias: bool = True):
        super().__init__()
        assert d_model % num_heads == 0 and num_heads % num_kv_heads == 0
        self.num_heads, self.num_kv_heads, self.d_head = num_heads, num_kv_heads, d_model // num_heads
        self.q_proj = nn.Linear(d_model, d_model, bias=bias)
        self.k_proj = nn.Linear(d_model, num_kv_heads * self.d_head, bias=bias)
        self.v_proj = nn.Linear(d_model, num_kv_heads * self.d_head, bias=bias)
        self.out_proj = nn.Linear(d_model, d_model, bias=bias)

    def forward(self, x: Tensor, causal: bool = False) -> Tensor:
        """Project, split into H query heads and H_kv key/value heads, attend with the heads
        grouped, merge and project back."""
        B, L, d_model = x.shape

        def heads(t):                                                  # (B, L, n·d_head) → (B, n, L, d_head)
            return t.view(B, L, -1, self.d_head).transpose(1, 2)

        output = grouped_query_attention(heads(self.q_proj(x)), heads(self.k_proj(x)), heads(self.v_proj(x)), causal)
        return self.out_proj(output.transpose(1, 2).reshape(B, L, d_model))


def mean_pool_heads(mha: MultiHeadAttention, num_kv_heads: int) -> GroupedQueryAttention:
    """The uptraining conversion: average the key and value projections of each group's heads."""
    bias = mha.q_proj.bias is not None
    gqa = GroupedQueryAttention(mha.d_model, mha.num_heads, num_kv_heads, bias=bias).to(mha.q_proj.weight)
    G = mha.num_heads // num_kv_heads
    with torch.no_grad():
        gqa.q_proj.load_state_dict(mha.q_proj.state_dict())
        gqa.out_proj.load_state_dict(mha.out_proj.state_dict())
        for ours, theirs in [(gqa.k_proj, mha.k_proj), (gqa.v_proj, mha.v_proj)]:
            # rows of head h are h·d_head ... (h+1)·d_head - 1; group j holds heads j·G ... (j+1)·G - 1
            ours.weight.copy_(theirs.weight.view(num_kv_heads, G, mha.d_head, -1).mean(1).flatten(0, 1))
            if bias:
                ours.bias.copy_(theirs.bias.view(num_kv_heads, G, mha.d_head).mean(1).flatten())
    return gqa


def demo(device: torch.device | str = "cpu", seed: int = 0) -> dict:
    """KV-cache bytes per token for MHA, GQA and MQA at a large-model size; then the agreement of
    grouped_query_attention with torch's enable_gqa, with copied keys and values, and of the
    module with MultiHeadAttention when H_kv = H."""
    layers, H, d_head, bytes_per_number = 32, 32, 128, 2
    print(f"KV cache per token, {layers} layers, {H} query heads of size {d_head} (d_model {H * d_head}), 16-bit:")
    cache = {}
    for name, H_kv in [("MHA", H), ("GQA-8", 8), ("MQA", 1)]:
        cache[name] = 2 * layers * H_kv * d_head * bytes_per_number      # keys and values
        print(f"  {name:>6}: {H_kv:>2} key/value head(s) → {cache[name] // 1024:>4} KiB per token, "
              f"{cache[name] * 4096 / 2 ** 30:.3f} GiB for 4096 tokens")

    torch.manual_seed(seed)
    B, L, d = 2, 10, 16
    q = torch.randn(B, 8, L, d, device=device)
    k, v = torch.randn(2, B, 2, L, d, device=device).unbind(0)        # 8 query heads, 2 key/value heads
    output = grouped_query_attention(q, k, v, causal=True)
    G = 8 // 2
    references = {
        "q 8 heads, k/v 2 heads vs torch SDPA, enable_gqa=True":
            F.scaled_dot_product_attention(q, k, v, is_causal=True, enable_gqa=True),
        "q 8 heads, k/v 2 heads vs SDPA on repeat_interleave'd k, v":
            F.scaled_dot_product_attention(q, k.repeat_interleave(G, 1), v.repeat_interleave(G, 1), is_causal=True),
    }
    errors = {name: (output - ref).abs().max().item() for name, ref in references.items()}
    mha = MultiHeadAttention(64, 8).to(device)
    gqa = GroupedQueryAttention(64, 8, 8).to(device)
    gqa.load_state_dict(mha.state_dict())                              # same parameter names and shapes
    x = torch.randn(B, L, 64, device=device)
    with torch.no_grad():
        difference = gqa(x, causal=True) - mha(x, x, x, causal=True)[0]
    errors["GroupedQueryAttention(64, 8, 8) vs MultiHeadAttention(64, 8)"] = difference.abs().max().item()
    print("max |difference|, causal, tolerance 1e-5:")
    for name, error in errors.items():
        print(f"  {name:<62} {error:.1e}")
    return {"cache_bytes_per_token": cache, "errors": errors}


if __name__ == "__main__":
    from runnable._cli import device_from_args

    demo(device_from_args(__doc__.splitlines()[0]))
