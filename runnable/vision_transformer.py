"""A tiny Vision Transformer (Dosovitskiy et al., An Image is Worth 16x16 Words; bib: dosovitskiy2021image).

An image x (C × H × W) is cut into N = HW/P² non-overlapping P × P patches, read row by row
(left to right, then top to bottom); each patch is flattened to a vector x_p^n of P²·C numbers.
A shared linear map E turns each into a token, a learned class token is put in front and learned
position embeddings are added:

    z_0 = [x_class ; x_p^1 E ; … ; x_p^N E] + E_pos               (N + 1 tokens of size D)
    z'_l = z_{l-1} + MSA(LN(z_{l-1}))                             (pre-norm encoder block)
    z_l  = z'_l + MLP(LN(z'_l))                                   l = 1 … depth
    y    = head(LN(z_depth[0]))                                   (the class token's output)

Patchify-then-linear is a convolution with kernel = stride = P (the tests check this). MSA is
torch's nn.MultiheadAttention, asked for its weights so that the class token's attention over
the patches can be shown. Nothing but E_pos tells the model where a patch was in the image.

`patchify`, one pre-norm block, the model, and the demo's synthetic task.

Differences from the paper:
- A tiny model on a synthetic task: pre-norm blocks as in the paper, but no pre-training on large
  datasets, no hybrid CNN stem and no dropout.

Shapes: B batch, C channels, H × W pixels, P patch size, N patches, D model width.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def patchify(images, patch_size: int):
    """images (B, C, H, W) → patches (B, N, P·P·C), patch n = (row r, column q) at n = r·(W/P) + q,
    each flattened in (pixel row, pixel column, channel) order."""
    B, C, H, W = images.shape
    P = patch_size
    grid = images.reshape(B, C, H // P, P, W // P, P)                 # b, c, r, pixel row, q, pixel column
    return grid.permute(0, 2, 4, 3, 5, 1).reshape(B, (H // P) * (W // P), P * P * C)


class EncoderBlock(nn.Module):
    """Pre-norm: z' = z + MSA(LN(z)), out = z' + MLP(LN(z')). Also returns the attention weights."""

    def __init__(self, dim: int, heads: int, mlp_dim: int):
        super().__init__()
        self.norm1, self.norm2 = nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.attention = nn.MultiheadAttention(dim, heads, batch_first=True)
        self.mlp = nn.Sequential(nn.Linear(dim, mlp_dim), nn.GELU(), nn.Linear(mlp_dim, dim))

    def forward(self, z):
        """Pre-norm multi-head self-attention, then the MLP, each with a residual; also returns
        every head's weights."""
        y = self.norm1(z)
        y, weights = self.attention(y, y, y, need_weights=True, average_attn_weights=False)
        z = z + y
        return z + self.mlp(self.norm2(z)), weights                     # weights (B, heads, N+1, N+1)


class TinyViT(nn.Module):
    """A small Vision Transformer: patches are embedded by one linear map E, a class token and
    learned position embeddings are added, and the class token's final state is classified."""

    def __init__(self, image_size: int = 16, patch_size: int = 4, channels: int = 1, dim: int = 32,
                 depth: int = 2, heads: int = 2, mlp_dim: int = 64, classes: int = 4):
        super().__init__()
        self.patch_size = patch_size
        patches = (image_size // patch_size) ** 2
        self.embed = nn.Linear(patch_size * patch_size * channels, dim)     # E
        self.class_token = nn.Parameter(0.02 * torch.randn(1, 1, dim))      # x_class
        # E_pos starts at std 1 (as nn.Embedding does), so patches are told apart from the first step;
        # with the 0.02 usual in large ViTs this tiny model sat on a plateau for hundreds of steps
        self.positions = nn.Parameter(torch.randn(1, patches + 1, dim))    # E_pos
        self.blocks = nn.ModuleList(EncoderBlock(dim, heads, mlp_dim) for _ in range(depth))
        self.norm, self.head = nn.LayerNorm(dim), nn.Linear(dim, classes)

    def forward(self, images):
        """images (B, C, H, W) → logits (B, classes) and each block's attention (B, heads, N+1, N+1)."""
        tokens = self.embed(patchify(images, self.patch_size))             # x_p^n E   (B, N, D)
        z = torch.cat([self.class_token.expand(len(tokens), -1, -1), tokens], 1) + self.positions
        attentions = []
        for block in self.blocks:
            z, weights = block(z)
            attentions.append(weights)
        return self.head(self.norm(z[:, 0])), attentions


def quadrant_images(n: int, size: int = 16, generator: torch.Generator | None = None):
    """The demo's task: a noisy size × size image in which one 4 × 4 patch of the grid is bright;
    the label is the quadrant holding it (0 top-left, 1 top-right, 2 bottom-left, 3 bottom-right).
    Returns images (n, 1, size, size), labels (n,) and the bright patch's index (n,). Made on the
    CPU so that every device sees the same data."""
    images = 0.3 * torch.randn(n, 1, size, size, generator=generator)
    patch = torch.randint(0, (size // 4) ** 2, (n,), generator=generator)
    row, column = patch // (size // 4), patch % (size // 4)                 # on the grid of patches
    labels = 2 * (row >= size // 8).long() + (column >= size // 8).long()
    pixels = torch.arange(size) // 4
    bright = (pixels[None, :] == row[:, None])[:, :, None] & (pixels[None, :] == column[:, None])[:, None, :]
    images[:, 0] += 1.5 * bright
    return images, labels, patch


def demo(device: torch.device | str = "cpu", seed: int = 0, steps: int = 150) -> dict:
    """Check patchify + linear against a convolution, train a tiny ViT on the quadrant task for
    `steps` steps, report held-out accuracy and the class token's attention over the patches."""
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    model = TinyViT().to(device)
    # the same map as a convolution: weight (D, C, P, P) read in patchify's (row, column, channel) order
    probe = torch.randn(2, 1, 16, 16, device=device, dtype=torch.float64)
    E, b = model.embed.weight.detach().double(), model.embed.bias.detach().double()
    conv = F.conv2d(probe, E.reshape(32, 4, 4, 1).permute(0, 3, 1, 2), b, stride=4)   # (2, D, 4, 4)
    conv_error = (F.linear(patchify(probe, 4), E, b) - conv.flatten(2).transpose(1, 2)).abs().max().item()
    train_x, train_y, _ = quadrant_images(2048, generator=generator)
    test_x, test_y, test_patch = quadrant_images(512, generator=generator)
    train_x, train_y, test_x, test_y = (t.to(device) for t in (train_x, train_y, test_x, test_y))
    optimiser = torch.optim.AdamW(model.parameters(), lr=3e-3)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)    # tensors this small train fastest on one CPU thread (no effect on a GPU)
    try:
        for step in range(steps):
            batch = torch.randint(0, 2048, (64,), generator=generator).to(device)
            loss = F.cross_entropy(model(train_x[batch])[0], train_y[batch])
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
    finally:
        torch.set_num_threads(threads)
    model.eval()
    with torch.no_grad():
        logits, attentions = model(test_x)
    accuracy = (logits.argmax(-1) == test_y).float().mean().item()
    # class token (query 0) → the 16 patches (keys 1..16), mean over heads: (blocks, n, 16)
    class_attention = torch.stack([a[:, :, 0, 1:].mean(1) for a in attentions]).cpu()
    on_square = class_attention.gather(2, test_patch.expand(len(attentions), -1)[..., None]).squeeze(-1).mean(-1)
    print(f"patchify + linear vs a stride-4 convolution, float64: max error {conv_error:.1e} (tolerance 1e-10)")
    print("task: which quadrant of a noisy 16×16 image holds the one bright 4×4 patch; 16 patches")
    print(f"trained {steps} steps (batch 64): last loss {loss.item():.3f}, held-out accuracy {accuracy:.3f} "
          f"(chance 0.25)")
    for block, share in enumerate(on_square.tolist()):
        print(f"block {block}: class token's mean weight on the bright patch {share:.3f} "
              "(an even share would be 1/16 = 0.062)")
    print(f"example 0 (quadrant {test_y[0].item()}, bright patch {test_patch[0].item()}): "
          "class token's weights over the 4×4 patch grid, block 0 | block 1")
    for row in range(4):
        print("   " + " | ".join(" ".join(f"{w:.2f}" for w in class_attention[block, 0, 4 * row:4 * row + 4].tolist())
                                  for block in range(len(attentions))))
    return {"accuracy": accuracy, "loss": loss.item(), "conv_error": conv_error, "images": test_x[:, 0].cpu(),
            "labels": test_y.cpu(), "bright_patch": test_patch, "class_attention": class_attention,
            "on_square": on_square}


if __name__ == "__main__":
    from runnable._cli import device_from_args

    demo(device_from_args(__doc__.splitlines()[0]))
