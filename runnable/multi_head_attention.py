"""Multi-head attention (Vaswani et al. 2017; bib: vaswani2017attention).

Instead of one attention over d_model-dimensional vectors, h heads attend in parallel, each in
its own d_k = d_model / h dimensional subspace given by learned projections, and their results
are concatenated and projected back:

    head_i          = Attention(Q W_i^Q, K W_i^K, V W_i^V),   W_i^Q, W_i^K, W_i^V: d_model × d_k
    MultiHead(Q,K,V) = Concat(head_1, ..., head_h) W^O,        W^O: d_model × d_model

where Attention is scaled dot-product attention (runnable.scaled_dot_product_attention). Stacking
the h matrices W_i^Q side by side gives one d_model × d_model projection, so all heads come out of
one matrix product, reshaped to (B, h, L, d_k); heads_one_by_one computes them separately and
checks that the two are the same thing. Each head can put its weight on different positions,
which one head, averaging everything into one distribution per query, cannot.

Differences from the paper:
- The projections have biases, as in torch.nn.MultiheadAttention (which the tests compare against);
  the paper writes them without.
- No dropout on the attention weights (the paper's residual dropout belongs to the layer around it).

Shapes (batch first): query (B, L_q, d_model), key and value (B, L_k, d_model) → output
(B, L_q, d_model), weights (B, h, L_q, L_k). mask: bool, broadcastable to (B, h, L_q, L_k),
True = may attend (e.g. padding_mask(lengths, L_k), (B, 1, 1, L_k)); causal: query i sees keys j ≤ i.
Torch's nn.MultiheadAttention uses the opposite mask convention (True = blocked).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from runnable.scaled_dot_product_attention import padding_mask, scaled_dot_product_attention


class MultiHeadAttention(nn.Module):
    """H heads, each attending in its own d_model/H-dimensional subspace; the four projections are
    single d_model × d_model matrices whose row blocks are the heads' matrices."""

    def __init__(self, d_model: int, num_heads: int, bias: bool = True):
        super().__init__()
        assert d_model % num_heads == 0, "d_model must split evenly into heads"
        self.d_model, self.num_heads, self.d_head = d_model, num_heads, d_model // num_heads
        # row block i of each weight (rows i·d_k ... (i+1)·d_k - 1) is head i's W_i (transposed)
        self.q_proj = nn.Linear(d_model, d_model, bias=bias)
        self.k_proj = nn.Linear(d_model, d_model, bias=bias)
        self.v_proj = nn.Linear(d_model, d_model, bias=bias)
        self.out_proj = nn.Linear(d_model, d_model, bias=bias)

    def split_heads(self, x: Tensor) -> Tensor:
        """(B, L, h·d_k) → (B, h, L, d_k)."""
        B, L, _ = x.shape
        return x.view(B, L, -1, self.d_head).transpose(1, 2)

    @staticmethod
    def merge_heads(x: Tensor) -> Tensor:
        """(B, h, L, d_k) → (B, L, h·d_k): Concat(head_1, ..., head_h)."""
        B, H, L, d = x.shape
        return x.transpose(1, 2).reshape(B, L, H * d)

    def forward(self, query: Tensor, key: Tensor, value: Tensor, mask: Tensor | None = None,
                causal: bool = False) -> tuple[Tensor, Tensor]:
        """Project queries, keys and values, split them into heads, attend in every head at once,
        then merge the heads and apply W^O. Returns the output and each head's weights."""
        q = self.split_heads(self.q_proj(query))
        k = self.split_heads(self.k_proj(key))
        v = self.split_heads(self.v_proj(value))
        heads, weights = scaled_dot_product_attention(q, k, v, mask=mask, causal=causal)
        return self.out_proj(self.merge_heads(heads)), weights


def load_from_torch(ours: MultiHeadAttention, theirs: nn.MultiheadAttention) -> None:
    """Copy torch's packed in_proj (rows: W^Q, then W^K, then W^V) and out_proj into ours."""
    assert theirs._qkv_same_embed_dim and theirs.bias_k is None and not theirs.add_zero_attn
    assert (theirs.embed_dim, theirs.num_heads) == (ours.d_model, ours.num_heads)
    with torch.no_grad():
        for index, projection in enumerate([ours.q_proj, ours.k_proj, ours.v_proj]):
            rows = slice(index * ours.d_model, (index + 1) * ours.d_model)
            projection.weight.copy_(theirs.in_proj_weight[rows])
            if projection.bias is not None:
                projection.bias.copy_(theirs.in_proj_bias[rows])
        ours.out_proj.load_state_dict(theirs.out_proj.state_dict())


def heads_one_by_one(mha: MultiHeadAttention, query, key, value, mask=None, causal=False):
    """head_i = Attention(Q W_i^Q, K W_i^K, V W_i^V) for each i separately, as a single-head
    attention on head i's own slice of the projection weights; then Concat(...) W^O.
    Returns (output, weights stacked over heads), like MultiHeadAttention.forward."""
    heads, weights = [], []
    B, L_q, L_k = query.shape[0], query.shape[1], key.shape[1]
    for i in range(mha.num_heads):
        rows = slice(i * mha.d_head, (i + 1) * mha.d_head)

        def project(linear, x):                                       # x W_i (+ b_i)
            return F.linear(x, linear.weight[rows], None if linear.bias is None else linear.bias[rows])

        head_mask = None if mask is None else mask.expand(B, mha.num_heads, L_q, L_k)[:, i]
        head, weight = scaled_dot_product_attention(project(mha.q_proj, query), project(mha.k_proj, key),
                                                    project(mha.v_proj, value), mask=head_mask, causal=causal)
        heads.append(head)
        weights.append(weight)
    return mha.out_proj(torch.cat(heads, dim=-1)), torch.stack(weights, dim=1)


def demo(device: torch.device | str = "cpu", seed: int = 0) -> dict:
    """Four heads of self-attention over a padded batch: compare with torch's nn.MultiheadAttention
    (same weights) and with the heads computed one by one; show how differently the heads look."""
    torch.manual_seed(seed)
    d_model, H, L = 16, 4, 8
    theirs = nn.MultiheadAttention(d_model, H, batch_first=True).to(device)
    ours = MultiHeadAttention(d_model, H).to(device)
    load_from_torch(ours, theirs)
    x = torch.randn(2, L, d_model, device=device)
    lengths = torch.tensor([8, 5], device=device)
    mask = padding_mask(lengths, L)
    with torch.no_grad():
        output, weights = ours(x, x, x, mask=mask)
        their_output, their_weights = theirs(x, x, x, key_padding_mask=~mask[:, 0, 0],  # True = padding there
                                             need_weights=True, average_attn_weights=False)
        split_output, split_weights = heads_one_by_one(ours, x, x, x, mask=mask)
    error_torch = max((output - their_output).abs().max().item(), (weights - their_weights).abs().max().item())
    error_split = max((output - split_output).abs().max().item(), (weights - split_weights).abs().max().item())
    print(f"d_model {d_model}, {H} heads of size {d_model // H}; lengths {lengths.tolist()}")
    print(f"max |ours - nn.MultiheadAttention| = {error_torch:.1e}  (output and per-head weights, tolerance 1e-5)")
    print(f"max |ours - heads one by one|      = {error_split:.1e}  (tolerance 1e-5)")
    print("weights of query 1 in example 2, per head (keys 6-8 are padding):")
    for i in range(H):
        print(f"  head {i + 1}: " + " ".join(f"{w:.2f}" for w in weights[1, i, 0].tolist()))
    parameters = sum(p.numel() for p in ours.parameters())
    print(f"parameters: {parameters} = 4 projections × ({d_model}·{d_model} + {d_model}), whatever the number of heads")
    return {"weights": weights.cpu(), "error_torch": error_torch, "error_split": error_split,
            "parameters": parameters}


if __name__ == "__main__":
    from runnable._cli import device_from_args

    demo(device_from_args(__doc__.splitlines()[0]))
