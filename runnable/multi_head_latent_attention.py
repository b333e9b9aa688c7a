"""Multi-head latent attention, MLA (DeepSeek-AI 2024, DeepSeek-V2; arXiv:2405.04434).

A decoder caches, for every earlier token and every layer, what attention reads: 2·H·d_h numbers
(a key and a value per head) in multi-head attention. MLA caches one short latent per token
instead and rebuilds every head's key and value from it by an up-projection:

    c_t^KV = W^DKV h_t                                   (d_c numbers, the joint latent)
    k_{t,i}^C = W_i^UK c_t^KV,    v_{t,i}^C = W_i^UV c_t^KV      (head i, d_h numbers each)

The queries go through a low-rank bottleneck as well (it saves activation memory in training,
not cache): c_t^Q = W^DQ h_t, q_{t,i}^C = W_i^UQ c_t^Q.

Positions. RoPE would rotate k_{j,i}^C by the key's position, and that rotation would sit between
the query and W_i^UK, which could then no longer be folded into the query (below). So position gets
a few dimensions of its own, "decoupled RoPE": a rotated query part per head and ONE rotated key
part that every head shares,

    q_{t,i}^R = RoPE_t(W_i^QR c_t^Q),    k_t^R = RoPE_t(W^KR h_t)            (d_R numbers)
    q_{t,i} = [q_{t,i}^C; q_{t,i}^R],    k_{j,i} = [k_{j,i}^C; k_j^R]
    o_{t,i} = Σ_{j ≤ t} softmax_j(q_{t,i}ᵀ k_{j,i} / √(d_h + d_R)) v_{j,i}^C
    u_t = W^O [o_{t,1}; …; o_{t,H}]

The cache is c_t^KV and k_t^R: d_c + d_R numbers per token and layer. DeepSeek-V2 takes
d_c = 4·d_h and d_R = d_h / 2, so 4.5·d_h, what grouped-query attention with 2.25 groups would cache.

Weight absorption. q_{t,i}^Cᵀ k_{j,i}^C = (W_i^UKᵀ W_i^UQ c_t^Q)ᵀ c_j^KV, and
W_i^O v_{j,i}^C = (W_i^O W_i^UV) c_j^KV, where W_i^O is the block of W^O's columns that reads head i.
Fold W_i^UK into the query and W_i^UV into the output, and inference attends over the cached
latents themselves: every head's key is [c_j^KV; k_j^R] and its value c_j^KV, the same for all
heads. It is multi-query attention with (d_c + d_R)-dimensional keys; the per-head keys and values
are never formed. The scale stays 1/√(d_h + d_R), the size of the dot products it stands for.

Differences from the paper:
- No RMSNorm on the latents c^KV and c^Q (the released model normalises them; the norm acts before
  the up-projections, so it would not change the absorption).
- The demo and tests use small sizes; DeepSeek-V2's own sizes appear only in the cache arithmetic.
  The query latent d_c' defaults to d_c here (DeepSeek-V2 takes 1536, three times its d_c of 512).
- The absorbed path keeps W^UK and W^UQ folded into one (d_c × d_c') matrix per head and
  W^O·W^UV into one (d_model × d_c) matrix per head; a fast kernel would choose the association
  order by cost. No mixture-of-experts layers, only the attention.

Shapes: B batch, L (or T) queries, S cached tokens, H heads, d_h head size, d_R the RoPE part,
d_c the key-value latent, d_c' the query latent. x (B, L, d_model) → (B, L, d_model);
the cache (B, S, d_c + d_R).
"""
from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from runnable.rotary_embeddings import apply_rotary
from runnable.scaled_dot_product_attention import scaled_dot_product_attention


def deepseek_v2_ranks(d_head: int) -> tuple[int, int]:
    """(d_c, d_R) as DeepSeek-V2 sets them: the latent 4·d_h, the RoPE part d_h / 2."""
    return 4 * d_head, d_head // 2


def cache_elements_per_token(num_heads: int, d_head: int, kv_groups: int, kv_rank: int, rope_dim: int) -> dict[str, int]:
    """Numbers cached per token and layer, as DeepSeek-V2's comparison table counts them: a key and a
    value per key/value head for MHA (H heads), GQA (kv_groups) and MQA (one); the latent and the
    shared RoPE key for MLA."""
    return {"MHA": 2 * num_heads * d_head, f"GQA-{kv_groups}": 2 * kv_groups * d_head,
            "MQA": 2 * d_head, "MLA": kv_rank + rope_dim}


class MultiHeadLatentAttention(nn.Module):
    """Causal self-attention with a low-rank key-value latent and a decoupled, shared RoPE key."""

    def __init__(self, d_model: int, num_heads: int, d_head: int, kv_rank: int | None = None,
                 q_rank: int | None = None, rope_dim: int | None = None):
        super().__init__()
        default_kv_rank, default_rope_dim = deepseek_v2_ranks(d_head)
        self.num_heads, self.d_head = num_heads, d_head
        self.kv_rank = kv_rank or default_kv_rank
        self.rope_dim = rope_dim or default_rope_dim
        self.q_rank = q_rank or self.kv_rank
        H, d_c, d_q, d_R = num_heads, self.kv_rank, self.q_rank, self.rope_dim
        self.kv_down = nn.Linear(d_model, d_c, bias=False)        # W^DKV
        self.k_up = nn.Linear(d_c, H * d_head, bias=False)        # W^UK, head i in rows i·d_h … (i+1)·d_h − 1
        self.v_up = nn.Linear(d_c, H * d_head, bias=False)        # W^UV
        self.q_down = nn.Linear(d_model, d_q, bias=False)         # W^DQ
        self.q_up = nn.Linear(d_q, H * d_head, bias=False)        # W^UQ
        self.q_rope = nn.Linear(d_q, H * d_R, bias=False)         # W^QR: a RoPE query per head
        self.k_rope = nn.Linear(d_model, d_R, bias=False)         # W^KR: one RoPE key for all heads
        self.out_proj = nn.Linear(H * d_head, d_model, bias=False)  # W^O

    def _heads(self, t: Tensor) -> Tensor:
        """(B, L, H·n) → (B, H, L, n)."""
        B, L, _ = t.shape
        return t.view(B, L, self.num_heads, -1).transpose(1, 2)

    def _rope_queries(self, c_q: Tensor, positions: Tensor) -> Tensor:
        # q_{t,i}^R = RoPE_t(W_i^QR c_t^Q)                                    (B, H, L, d_R)
        return apply_rotary(self._heads(self.q_rope(c_q)), positions)

    def compress(self, x: Tensor, positions: Tensor) -> Tensor:
        """What the cache keeps for tokens x at `positions`: [c^KV; k^R], (B, L, d_c + d_R)."""
        # c_t^KV = W^DKV h_t and k_t^R = RoPE_t(W^KR h_t), side by side
        return torch.cat([self.kv_down(x), apply_rotary(self.k_rope(x), positions)], dim=-1)

    def forward(self, x: Tensor, causal: bool = True) -> Tensor:
        """The training-time form, as the equations read: rebuild every head's key and value from
        the latent, append the shared RoPE key to each, attend, merge the heads."""
        B, L, _ = x.shape
        positions = torch.arange(L, device=x.device)
        latent, k_rope = self.compress(x, positions).split([self.kv_rank, self.rope_dim], dim=-1)
        c_q = self.q_down(x)                                                 # c_t^Q (B, L, d_c')
        q = torch.cat([self._heads(self.q_up(c_q)), self._rope_queries(c_q, positions)], dim=-1)
        shared = k_rope[:, None].expand(B, self.num_heads, L, self.rope_dim)  # k_t^R, the same for every head
        k = torch.cat([self._heads(self.k_up(latent)), shared], dim=-1)      # (B, H, L, d_h + d_R)
        v = self._heads(self.v_up(latent))                                   # (B, H, L, d_h)
        output, _ = scaled_dot_product_attention(q, k, v, causal=causal)     # scale 1/√(d_h + d_R)
        return self.out_proj(output.transpose(1, 2).reshape(B, L, -1))

    def absorbed_weights(self) -> tuple[Tensor, Tensor]:
        """W_i^UKᵀ W_i^UQ (H, d_c, d_c'), which maps c^Q straight to a query in the latent space, and
        W_i^O W_i^UV (H, d_model, d_c), which maps a latent output straight to the model width."""
        H, d_h = self.num_heads, self.d_head
        up_k = self.k_up.weight.view(H, d_h, self.kv_rank)                   # W_i^UK (H, d_h, d_c)
        up_q = self.q_up.weight.view(H, d_h, self.q_rank)                    # W_i^UQ (H, d_h, d_c')
        up_v = self.v_up.weight.view(H, d_h, self.kv_rank)                   # W_i^UV (H, d_h, d_c)
        out = self.out_proj.weight.view(-1, H, d_h).transpose(0, 1)          # W_i^O (H, d_model, d_h)
        return up_k.transpose(1, 2) @ up_q, out @ up_v

    def attend_latent(self, x: Tensor, positions: Tensor, cache: Tensor, cache_positions: Tensor) -> Tensor:
        """The inference form: queries x (B, T, d_model) at `positions` attend over a cache
        (B, S, d_c + d_R) of tokens at `cache_positions`, keys at or before each query's position.
        Only the absorbed weights, the latents and the shared RoPE key are used."""
        query_fold, output_fold = self.absorbed_weights()
        c_q = self.q_down(x)                                                 # (B, T, d_c')
        # q̃_{t,i} = W_i^UKᵀ W_i^UQ c_t^Q, a query in the latent space       (B, H, T, d_c)
        latent_query = torch.einsum("hcq,btq->bhtc", query_fold, c_q)
        query = torch.cat([latent_query, self._rope_queries(c_q, positions)], dim=-1)  # (B, H, T, d_c + d_R)
        keys = cache[:, None]                                                # (B, 1, S, d_c + d_R): one key head
        values = cache[:, None, :, :self.kv_rank]                            # (B, 1, S, d_c): the latents
        allowed = cache_positions[None, :] <= positions[:, None]             # (T, S)
        latent_output, _ = scaled_dot_product_attention(query, keys, values, mask=allowed,
                                                        scale=1 / math.sqrt(self.d_head + self.rope_dim))
        # u_t = Σ_i (W_i^O W_i^UV) ō_{t,i}, ō the attention-weighted latent (B, H, T, d_c)
        return torch.einsum("hmc,bhtc->btm", output_fold, latent_output)


def decode(model: MultiHeadLatentAttention, x: Tensor) -> tuple[Tensor, Tensor]:
    """Run x (B, L, d_model) one token at a time, as generation does, with a cache that holds only
    [c^KV; k^R] per token. Returns (the outputs (B, L, d_model), the final cache (B, L, d_c + d_R))."""
    B, L, _ = x.shape
    cache = x.new_zeros(B, 0, model.kv_rank + model.rope_dim)
    outputs = []
    for t in range(L):
        position = torch.tensor([t], device=x.device)
        cache = torch.cat([cache, model.compress(x[:, t:t + 1], position)], dim=1)
        outputs.append(model.attend_latent(x[:, t:t + 1], position, cache, torch.arange(t + 1, device=x.device)))
    return torch.cat(outputs, dim=1), cache


def demo(device: torch.device | str = "cpu", seed: int = 0) -> dict:
    """The cache per token and layer at DeepSeek-V2's sizes; then, on a small random layer, the
    absorbed latent-space path and token-by-token decoding against the equations' form."""
    H, d_head = 128, 128                                                # DeepSeek-V2: 128 heads of size 128
    d_c, d_R = deepseek_v2_ranks(d_head)
    sizes = cache_elements_per_token(H, d_head, 8, d_c, d_R)
    print(f"numbers cached per token and layer, {H} heads of size {d_head}, d_c = {d_c}, d_R = {d_R}:")
    for name, size in sizes.items():
        print(f"  {name:>6}: {size:>6}  ({size / d_head:g}·d_h)")

    torch.manual_seed(seed)
    model = MultiHeadLatentAttention(d_model=32, num_heads=4, d_head=8, q_rank=12).to(device, torch.float64)
    x = torch.randn(2, 10, 32, device=device, dtype=torch.float64)
    positions = torch.arange(10, device=device)
    with torch.no_grad():
        naive = model(x)
        absorbed = model.attend_latent(x, positions, model.compress(x, positions), positions)
        decoded, cache = decode(model, x)
    errors = {"absorbed, latent-space attention vs the equations' form": (absorbed - naive).abs().max().item(),
              "token-by-token decoding from the latent cache vs the equations' form": (decoded - naive).abs().max().item()}
    print(f"a random layer: d_model 32, {model.num_heads} heads of size {model.d_head}, d_c = {model.kv_rank}, "
          f"d_R = {model.rope_dim}; cache {tuple(cache.shape)} for 10 tokens; float64, max |difference|, tolerance 1e-12:")
    for name, error in errors.items():
        print(f"  {name:<70} {error:.1e}")
    return {"cache_elements": sizes, "errors": errors, "cache_shape": tuple(cache.shape)}


if __name__ == "__main__":
    from runnable._cli import device_from_args

    demo(device_from_args(__doc__.splitlines()[0]))
