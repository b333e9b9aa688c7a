"""Native sparse attention, NSA (Yuan et al. 2025; arXiv:2502.11089).

Each query t reads three small sets of keys instead of all t earlier ones, one per branch, and a
learned gate mixes what the branches return:

    o_t = Σ_{c ∈ {cmp, slc, win}} g_t^c · Attention(q_t, K̃_t^c, Ṽ_t^c),     g_t^c = σ(MLP(x_t)) ∈ [0, 1]

- Compression: the keys are cut into blocks of length l taken every d tokens (d ≤ l, so blocks
  may overlap), and a learned map φ turns each block into one key (likewise the values):
      K̃_t^cmp = { φ(k_{id : id+l}) : block i lies wholly at or before t }
  A query sees about t/d coarse keys, a summary of the whole past.
- Selection: the compressed branch's attention weights p_t^cmp already say which parts of the past
  matter to q_t. They are summed onto selection blocks of length l' (each compression block counted
  once for every stride-d chunk it shares with the selection block), summed again over the query
  heads that share a key-value head (so a GQA group reads one set of blocks), and the n best
  blocks are kept; the first block and the 2 blocks nearest the query are always among them.
  The branch attends to every original key in the chosen blocks (those at or before t):
      K̃_t^slc = Cat{ k_{i l' : (i+1) l'} : i ∈ top-n(p_t^slc') }
- Sliding window: the last w keys, k_{t−w+1 … t}, for local patterns, so that the other two
  branches are not taken over by them.

Each branch has keys and values of its own (three key and three value projections), as the paper
prescribes against shortcut learning between branches. Per query the three sets hold at most
⌊(t − l)/d⌋ + 1 + n·l' + w keys, of which only the compressed part grows with t. The paper's sizes:
l = 32, d = 16, l' = 64, n = 16, w = 512.

Differences from the paper:
- φ is a learned position embedding added inside the block, mean pooling and one linear map (the
  paper: an MLP with intra-block position encoding).
- The selection scores are the compressed branch's own (scaled) attention weights; the paper's
  equation 9 maps compression scores onto selection blocks by an index formula, here read as
  counting each compression block once per stride-d chunk it shares with the selection block.
- No rotary embeddings; the gate is one linear map and a sigmoid per head and branch (the paper's
  MLP is not specified further); no Triton kernel: the gathers are plain PyTorch and the compressed
  branch forms its (few) scores explicitly.

Shapes: B batch, L tokens, H query heads, H_kv key/value heads (G = H / H_kv per group), D head size,
C compressed blocks, S selection blocks, n selected blocks, w window. q (B, H, L, D), k and v
(B, H_kv, L, D). The module: x (B, L, d_model) → (B, L, d_model).
"""
from __future__ import annotations

import torch
from torch import Tensor, nn

from runnable.scaled_dot_product_attention import scaled_dot_product_attention


def block_starts(length: int, block: int, stride: int) -> Tensor:
    """Starting positions of the blocks id … id + l − 1 that fit in `length` tokens."""
    return torch.arange(0, max(length - block + 1, 0), stride)


def compress(x: Tensor, block: int, stride: int, position: Tensor, project: nn.Linear) -> Tensor:
    """φ: (B, H_kv, L, D) → (B, H_kv, C, D), one vector per block: add the intra-block position
    embedding (block, D), average over the block, project."""
    blocks = x.unfold(-2, block, stride).transpose(-1, -2)                 # (B, H_kv, C, l, D)
    return project((blocks + position).mean(-2))


def group_queries(q: Tensor, H_kv: int) -> Tensor:
    """(B, H, L, D) → (B, H_kv, L, G, D): per key-value head and query position, its G query heads."""
    B, H, L, D = q.shape
    return q.view(B, H_kv, H // H_kv, L, D).transpose(2, 3)


def ungroup(output: Tensor) -> Tensor:
    """(B, H_kv, L, G, D) → (B, H, L, D)."""
    B, H_kv, L, G, D = output.shape
    return output.transpose(2, 3).reshape(B, H_kv * G, L, D)


def compressed_attention(q: Tensor, k_cmp: Tensor, v_cmp: Tensor, block: int, stride: int) -> tuple[Tensor, Tensor]:
    """Queries against the compressed keys of blocks that end at or before them. Returns (output
    (B, H, L, D), the attention weights summed over each group's heads (B, H_kv, L, C))."""
    B, H, L, D = q.shape
    H_kv, C = k_cmp.shape[1], k_cmp.shape[2]
    ends = block_starts(L, block, stride).to(q.device) + block - 1          # (C,) last token of each block
    visible = ends[None, :] <= torch.arange(L, device=q.device)[:, None]    # (L, C)
    # the G heads of a group folded into the query axis: (B, H_kv, G·L, D) against (B, H_kv, C, D)
    output, weights = scaled_dot_product_attention(q.reshape(B, H_kv, -1, D), k_cmp, v_cmp,
                                                   mask=visible.repeat(H // H_kv, 1))
    group_weights = weights.view(B, H_kv, H // H_kv, L, C).sum(2)           # p_t^cmp summed over the group
    return output.view(B, H, L, -1), group_weights


def selection_scores(p_cmp: Tensor, length: int, block: int, stride: int, select_block: int) -> Tensor:
    """(B, H_kv, L, C) → (B, H_kv, L, S): each selection block's importance, the compression weights
    of the blocks overlapping it, each counted once per shared stride-d chunk."""
    starts = block_starts(length, block, stride).to(p_cmp.device)          # compression block i: [s_i, s_i + l)
    selection = torch.arange(0, length, select_block, device=p_cmp.device)  # selection block j: [s_j, s_j + l')
    overlap = (torch.minimum(starts[:, None] + block, selection[None, :] + select_block)
               - torch.maximum(starts[:, None], selection[None, :])).clamp(min=0)   # (C, S) shared tokens
    return p_cmp @ (overlap // stride).to(p_cmp.dtype)


def select_blocks(scores: Tensor, select_block: int, num_selected: int, initial: int = 1,
                  local: int = 2) -> tuple[Tensor, Tensor]:
    """The top-n selection blocks per (B, H_kv, query) among those starting at or before the query,
    the first `initial` blocks and the `local` blocks nearest the query always included.
    Returns (indices (B, H_kv, L, n'), valid (B, H_kv, L, n')), n' = min(n, S)."""
    L, S = scores.shape[-2], scores.shape[-1]
    query_block = torch.arange(L, device=scores.device)[:, None] // select_block   # (L, 1)
    block = torch.arange(S, device=scores.device)[None, :]                          # (1, S)
    forced = (block < initial) | ((block <= query_block) & (block > query_block - local))
    ranked = scores.masked_fill(forced, float("inf")).masked_fill(block > query_block, float("-inf"))
    top, indices = ranked.topk(min(num_selected, S), dim=-1)
    return indices, top > float("-inf")                                    # fewer blocks exist early on


def selected_attention(q: Tensor, k: Tensor, v: Tensor, indices: Tensor, valid: Tensor, select_block: int) -> Tensor:
    """Each query (with the other heads of its group) attends to the original keys of its chosen
    blocks, those at or before it. Gathers n·l' keys per query, never the L×L scores."""
    B, H_kv, L, D = k.shape
    pad = -L % select_block                                                # a last, partial block
    k, v = (nn.functional.pad(t, (0, 0, 0, pad)) for t in (k, v))
    tokens = (indices[..., None] * select_block + torch.arange(select_block, device=k.device))  # (B, H_kv, L, n, l')
    allowed = valid[..., None] & (tokens <= torch.arange(L, device=k.device)[:, None, None])
    tokens, allowed = tokens.flatten(-2), allowed.flatten(-2)              # (B, H_kv, L, n·l')

    def gather(t: Tensor) -> Tensor:                                        # (B, H_kv, L_pad, D) → (B, H_kv, L, n·l', D)
        return t.gather(2, tokens.flatten(2)[..., None].expand(-1, -1, -1, t.shape[-1])).view(*tokens.shape, -1)

    # query position as a batch axis: (B, H_kv, L, G, D) against its own (B, H_kv, L, n·l', D)
    output, _ = scaled_dot_product_attention(group_queries(q, H_kv), gather(k), gather(v), mask=allowed[..., None, :])
    return ungroup(output)


def sliding_window_attention(q: Tensor, k: Tensor, v: Tensor, window: int) -> Tensor:
    """Each query attends to the keys t − w + 1 … t, gathered as a window of w per query."""
    B, H_kv, L, D = k.shape
    k, v = (nn.functional.pad(t, (0, 0, window - 1, 0)).unfold(2, window, 1).transpose(-1, -2) for t in (k, v))
    real = torch.arange(L, device=q.device)[:, None] + torch.arange(window, device=q.device) >= window - 1  # not padding
    output, _ = scaled_dot_product_attention(group_queries(q, H_kv), k, v, mask=real[:, None, :])
    return ungroup(output)


class NativeSparseAttention(nn.Module):
    """Causal self-attention from compressed, selected and sliding-window branches, gated per head."""

    def __init__(self, d_model: int, num_heads: int, num_kv_heads: int, d_head: int, block: int = 32,
                 stride: int = 16, select_block: int = 64, num_selected: int = 16, window: int = 512,
                 initial_blocks: int = 1, local_blocks: int = 2):
        super().__init__()
        assert block % stride == 0 and select_block % stride == 0 and block <= select_block
        self.num_heads, self.num_kv_heads, self.d_head = num_heads, num_kv_heads, d_head
        self.block, self.stride, self.select_block, self.num_selected = block, stride, select_block, num_selected
        self.window, self.initial_blocks, self.local_blocks = window, initial_blocks, local_blocks
        self.q_proj = nn.Linear(d_model, num_heads * d_head, bias=False)
        # keys and values of their own for each branch: cmp, slc, win
        self.kv_proj = nn.Linear(d_model, 3 * 2 * num_kv_heads * d_head, bias=False)
        self.compress_k, self.compress_v = nn.Linear(d_head, d_head), nn.Linear(d_head, d_head)   # φ's projections
        self.position_k = nn.Parameter(0.02 * torch.randn(block, d_head))  # φ's intra-block positions
        self.position_v = nn.Parameter(0.02 * torch.randn(block, d_head))
        self.gate = nn.Linear(d_model, 3 * num_heads)                       # g_t^c per head and branch
        self.out_proj = nn.Linear(num_heads * d_head, d_model, bias=False)

    def branches(self, x: Tensor) -> dict[str, Tensor]:
        """Every branch's output (B, H, L, D) and the chosen block indices."""
        B, L, _ = x.shape
        q = self.q_proj(x).view(B, L, self.num_heads, self.d_head).transpose(1, 2)
        kv = self.kv_proj(x).view(B, L, 6, self.num_kv_heads, self.d_head).permute(2, 0, 3, 1, 4)
        (k_cmp, v_cmp), (k_slc, v_slc), (k_win, v_win) = kv[0:2], kv[2:4], kv[4:6]   # each (B, H_kv, L, D)
        cmp_keys = compress(k_cmp, self.block, self.stride, self.position_k, self.compress_k)
        cmp_values = compress(v_cmp, self.block, self.stride, self.position_v, self.compress_v)
        compressed, p_cmp = compressed_attention(q, cmp_keys, cmp_values, self.block, self.stride)
        scores = selection_scores(p_cmp, L, self.block, self.stride, self.select_block)
        indices, valid = select_blocks(scores, self.select_block, self.num_selected, self.initial_blocks,
                                       self.local_blocks)
        return {"cmp": compressed, "slc": selected_attention(q, k_slc, v_slc, indices, valid, self.select_block),
                "win": sliding_window_attention(q, k_win, v_win, self.window), "indices": indices, "valid": valid}

    def forward(self, x: Tensor) -> Tensor:
        B, L, _ = x.shape
        out = self.branches(x)
        gates = torch.sigmoid(self.gate(x)).view(B, L, 3, self.num_heads).permute(2, 0, 3, 1)[..., None]  # (3, B, H, L, 1)
        # o_t = Σ_c g_t^c · o_t^c
        mixed = gates[0] * out["cmp"] + gates[1] * out["slc"] + gates[2] * out["win"]
        return self.out_proj(mixed.transpose(1, 2).reshape(B, L, -1))


def demo(device: torch.device | str = "cpu", seed: int = 0) -> dict:
    """Keys read per query at the paper's sizes against full attention; then, on a small random layer,
    the selected branch against dense attention under the block mask of the chosen blocks."""
    block, stride, select_block, n, window = 32, 16, 64, 16, 512
    print(f"keys read per query at the paper's sizes (l = {block}, d = {stride}, l' = {select_block}, n = {n}, w = {window}):")
    reads = {}
    for t in (4096, 16384, 65536):
        reads[t] = (t - block) // stride + 1 + n * select_block + window
        print(f"  position {t:>6}: ≤ {reads[t]:>5} keys against {t:>6} for full attention ({t / reads[t]:.1f}× fewer)")

    torch.manual_seed(seed)
    model = NativeSparseAttention(d_model=32, num_heads=4, num_kv_heads=2, d_head=8, block=4, stride=2,
                                  select_block=8, num_selected=4, window=6).to(device, torch.float64)
    L = 96
    x = torch.randn(1, L, 32, device=device, dtype=torch.float64)
    with torch.no_grad():
        out = model.branches(x)
        q = model.q_proj(x).view(1, L, 4, 8).transpose(1, 2)
        k_slc, v_slc = model.kv_proj(x).view(1, L, 6, 2, 8).permute(2, 0, 3, 1, 4)[2:4]
        chosen = torch.zeros(1, 2, L, L // 8, dtype=torch.bool, device=device)
        chosen.scatter_(-1, out["indices"], out["valid"])                  # (B, H_kv, L, S)
        dense_mask = chosen.repeat_interleave(8, -1) & torch.ones(L, L, dtype=torch.bool, device=device).tril()
        dense, _ = scaled_dot_product_attention(q, k_slc.repeat_interleave(2, 1), v_slc.repeat_interleave(2, 1),
                                                mask=dense_mask.repeat_interleave(2, 1))
        output = model(x)
    error = (out["slc"] - dense).abs().max().item()
    print(f"a random layer, {L} tokens, 4 query heads in 2 groups, l' = 8, n = 4: blocks chosen for the last query "
          f"(group 0): {sorted(out['indices'][0, 0, -1].tolist())}")
    print(f"selected branch vs dense attention under the chosen blocks' mask, float64: max |difference| {error:.1e} "
          f"(tolerance 1e-12); output {tuple(output.shape)}")
    return {"reads": reads, "error": error, "chosen": chosen.cpu(), "output_shape": tuple(output.shape)}


if __name__ == "__main__":
    from runnable._cli import device_from_args

    demo(device_from_args(__doc__.splitlines()[0]))
