"""Criss-cross attention (Huang et al., CCNet; bib: huang2019ccnet).

A feature map x (C channels, H × W pixels) gives query, key and value maps by 1×1 convolutions,
Q = conv(x), K = conv(x) with C' < C channels, V = conv(x) with C channels. Each pixel u attends
only to the pixels on its own row and column, its criss-cross path Ω_u, which holds H + W - 1
positions: the W pixels of the row and the H - 1 other pixels of the column (u itself once):

    d_{u,p} = Q_u · K_p                              for p ∈ Ω_u
    A_{u,p} = exp(d_{u,p}) / Σ_{p' ∈ Ω_u} exp(d_{u,p'})   (no 1/√C' scale)
    out_u   = γ · Σ_{p ∈ Ω_u} A_{u,p} V_p + x_u

γ is a learned scalar; here it starts at 0, so a fresh block is the identity. One pass links
only pixels that share a row or a column, at a cost of N(H + W - 1) scores for N = HW pixels
instead of full attention's N². The recurrent form applies the same block twice (R = 2, shared
weights): pixel p reaches u through the pixel on p's row and u's column, so after two passes
every pixel has information from every other.

`criss_cross_attention` returns, for each pixel, its H column weights followed by its W row weights;
`cross_map` spreads them back onto the image. `reachability` is the closed form for which inputs can
influence which outputs after a number of passes.

Differences from the paper:
- Only the attention block is implemented: the dilated ResNet backbone, the reduction and fusion
  convolutions around the block, the segmentation head and its losses are not.
- The recurrent form applies the block R times with shared weights as in the paper, but nothing is
  trained here: the demo shows reachability and weights, not segmentation accuracy.

Shapes: B batch, C channels, C' query/key channels, H × W pixels.
"""
from __future__ import annotations

import torch
from torch import nn


def criss_cross_attention(q, k, v):
    """q, k (B, C', H, W), v (B, C, H, W) → Σ_p A_{u,p} V_p (B, C, H, W) and the weights
    (B, H, W, H + W): for pixel (i, j), first the H column entries (i', j), then the W row
    entries (i, j'). The column entry i' = i is masked to weight 0, so (i, j) counts once, in the row."""
    B, _, H, W = q.shape
    column = torch.einsum("bcij,bckj->bijk", q, k)              # Q_(i,j) · K_(i',j)   (B, H, W, H)
    row = torch.einsum("bcij,bcik->bijk", q, k)                 # Q_(i,j) · K_(i,j')   (B, H, W, W)
    itself = torch.eye(H, dtype=torch.bool, device=q.device)[:, None, :]   # i' = i   (H, 1, H)
    weights = torch.softmax(torch.cat([column.masked_fill(itself, float("-inf")), row], -1), dim=-1)
    out = torch.einsum("bijk,bckj->bcij", weights[..., :H], v) + torch.einsum("bijk,bcik->bcij", weights[..., H:], v)
    return out, weights


def cross_map(weights, i: int, j: int):
    """Spread pixel (i, j)'s H + W weights (one example, (H, W, H + W)) back onto the H × W map."""
    H, W = weights.shape[0], weights.shape[1]
    image = torch.zeros(H, W, dtype=weights.dtype, device=weights.device)
    image[:, j] += weights[i, j, :H]
    image[i, :] += weights[i, j, H:]
    return image


def naive_criss_cross(q, k, v):
    """Pixel by pixel over the list Ω_u (row, then the column without u): the slow reference."""
    B, _, H, W = q.shape
    out = torch.zeros_like(v)
    for b in range(B):
        for i in range(H):
            for j in range(W):
                path = [(i, jj) for jj in range(W)] + [(ii, j) for ii in range(H) if ii != i]
                scores = torch.stack([q[b, :, i, j] @ k[b, :, p, r] for p, r in path])
                weights = torch.exp(scores - scores.max()) / torch.exp(scores - scores.max()).sum()
                out[b, :, i, j] = sum(a * v[b, :, p, r] for a, (p, r) in zip(weights, path))
    return out


def reachability(H: int, W: int, passes: int) -> torch.Tensor:
    """(HW, HW) bool: can pixel p's input reach pixel u's output after this many passes?
    One pass links pixels on a shared row or column; passes compose like boolean matrix powers."""
    rows, cols = torch.arange(H).repeat_interleave(W), torch.arange(W).repeat(H)
    step = ((rows[:, None] == rows[None]) | (cols[:, None] == cols[None])).float()
    reach = torch.eye(H * W)
    for _ in range(passes):
        reach = ((reach @ step) > 0).float()
    return reach.bool()


class CrissCrossAttention(nn.Module):
    """One criss-cross block: 1×1 convolutions give queries and keys with C/reduction channels and
    values with C; γ starts at zero, so the block starts as the identity."""

    def __init__(self, channels: int, reduction: int = 8):
        super().__init__()
        self.query = nn.Conv2d(channels, channels // reduction, 1)
        self.key = nn.Conv2d(channels, channels // reduction, 1)
        self.value = nn.Conv2d(channels, channels, 1)
        self.gamma = nn.Parameter(torch.zeros(1))
        self.weights = None                                      # the last pass's A, (B, H, W, H + W)

    def forward(self, x, recurrence: int = 1):
        """x (B, C, H, W) → (B, C, H, W), the same block applied `recurrence` times (R)."""
        for _ in range(recurrence):
            context, self.weights = criss_cross_attention(self.query(x), self.key(x), self.value(x))
            x = self.gamma * context + x                         # out = γ · Σ A V + x
        return x


def receptive_field(block: CrissCrossAttention, x, i: int, j: int, recurrence: int):
    """|∂ out_(i,j) / ∂ x_p| summed over channels, for every pixel p: (H, W)."""
    x = x.detach().clone().requires_grad_(True)
    block(x, recurrence)[0, :, i, j].sum().backward()
    return x.grad[0].abs().sum(0)


def demo(device: torch.device | str = "cpu", seed: int = 0) -> dict:
    """A random 9 × 11 map through a block with γ = 1: one pixel's weights after one pass, and which
    inputs reach it after one and after two passes. Checks the batched form against the loop."""
    torch.manual_seed(seed)
    H, W, (i, j) = 9, 11, (3, 7)
    block = CrissCrossAttention(16, reduction=4).to(device)
    nn.init.ones_(block.gamma)                                   # γ = 1: make the attention visible
    x = torch.randn(1, 16, H, W, device=device)
    with torch.no_grad():
        block(x)
        q, k, v = block.query(x), block.key(x), block.value(x)
        error = (criss_cross_attention(q, k, v)[0] - naive_criss_cross(q, k, v)).abs().max().item()
    weights = cross_map(block.weights[0], i, j)
    fields = {R: receptive_field(block, x, i, j, R) for R in (1, 2)}
    reached = {R: int((f > 0).sum()) for R, f in fields.items()}
    print(f"{H} × {W} map, pixel ({i}, {j}): nonzero weights after one pass {int((weights > 0).sum())} "
          f"(H + W - 1 = {H + W - 1}), summing to {weights.sum().item():.4f}")
    print(f"input pixels whose gradient reaches it: R = 1: {reached[1]}, R = 2: {reached[2]} of {H * W}; "
          f"reachability() says {int(reachability(H, W, 1).sum(0)[i * W + j])} and "
          f"{int(reachability(H, W, 2).sum(0)[i * W + j])}")
    print(f"max |batched - per-pixel loop| = {error:.2e} (tolerance 1e-5)")
    return {"weights": weights.cpu(), "fields": {R: f.cpu() for R, f in fields.items()}, "reached": reached,
            "pixel": (i, j), "max_error": error}


if __name__ == "__main__":
    from runnable._cli import device_from_args

    demo(device_from_args(__doc__.splitlines()[0]))
