"""Dual attention: position and channel attention (Fu et al., DANet; bib: fu2019dual).

A feature map A (C channels, N = H × W positions) goes through two attention modules in parallel.

Position attention: 1×1 convolutions give B, C' (C/8 channels each) and D (C channels);
every position j attends over all N positions i,

    s_ji = exp(B_i · C'_j) / Σ_i exp(B_i · C'_j),     E_j = α Σ_i s_ji D_i + A_j

Channel attention: no convolutions; the C channel maps (each a vector of N numbers) attend
over each other by their inner products,

    x_ji = exp(A_i · A_j) / Σ_i exp(A_i · A_j),       E_j = β Σ_i x_ji A_i + A_j

Neither scales its scores by 1/√dim. α and β are learned scalars that start at 0, so both
modules start as the identity. The paper passes each module's output through a convolution
before summing the two; here they are summed directly.

The channel softmax above is the paper's equation. The authors' released code computes
softmax(max_i(e_ji) - e_ji) instead, with e_ji = A_j · A_i. Softmax ignores a per-row constant,
so that equals softmax(-e_ji): the LEAST similar channels get the most weight. `released_code=True`
computes that form; the default is the paper's.

`naive_position_attention` and `naive_channel_attention` are the slow references.

Differences from the paper:
- The two modules' outputs are summed directly; the paper passes each through a convolution first,
  and the ResNet backbone and segmentation head are left out.
- The channel softmax follows the paper's equation by default; the released code's softmax(max − e),
  which favours the least similar channels, is available as an option.

Shapes: B batch, C channels, C/8 query/key channels, H × W positions, N = HW.
"""
from __future__ import annotations

import torch
from torch import nn


def position_attention(query, key, value):
    """query, key (B, C', H, W), value (B, C, H, W) → Σ_i s_ji D_i (B, C, H, W) and s (B, N, N),
    row j = the weights position j gives every position i."""
    B, C, H, W = value.shape
    scores = torch.einsum("bcj,bci->bji", query.flatten(2), key.flatten(2))    # C'_j · B_i
    weights = torch.softmax(scores, dim=-1)                                     # over i
    return torch.einsum("bji,bci->bcj", weights, value.flatten(2)).view(B, C, H, W), weights


def channel_attention(a, released_code: bool = False):
    """a (B, C, H, W) → Σ_i x_ji A_i (B, C, H, W) and x (B, C, C), row j = channel j's weights."""
    flat = a.flatten(2)                                                         # (B, C, N)
    energy = flat @ flat.transpose(1, 2)                                        # e_ji = A_j · A_i
    if released_code:
        energy = energy.amax(-1, keepdim=True) - energy                        # max_i e_ji - e_ji
    weights = torch.softmax(energy, dim=-1)
    return (weights @ flat).view_as(a), weights


def naive_position_attention(query, key, value):
    """Position j by position j, with explicit sums: the slow reference."""
    q, k, v = query.flatten(2), key.flatten(2), value.flatten(2)
    out = torch.zeros_like(v)
    for b in range(v.shape[0]):
        for j in range(v.shape[2]):
            e = torch.stack([q[b, :, j] @ k[b, :, i] for i in range(v.shape[2])])     # C'_j · B_i
            s = torch.exp(e - e.max()) / torch.exp(e - e.max()).sum()                   # s_ji over i
            out[b, :, j] = sum(s[i] * v[b, :, i] for i in range(v.shape[2]))
    return out.view_as(value)


def naive_channel_attention(a):
    """Channel j by channel j: x_ji = exp(A_i · A_j) / Σ_i exp(A_i · A_j), out_j = Σ_i x_ji A_i."""
    flat, out = a.flatten(2), torch.zeros_like(a.flatten(2))
    for b in range(a.shape[0]):
        for j in range(a.shape[1]):
            e = torch.stack([flat[b, i] @ flat[b, j] for i in range(a.shape[1])])
            x = torch.exp(e - e.max()) / torch.exp(e - e.max()).sum()
            out[b, j] = sum(x[i] * flat[b, i] for i in range(a.shape[1]))
    return out.view_as(a)


class DualAttention(nn.Module):
    """Position attention and channel attention side by side, their outputs summed; α and β start at
    zero, so the module starts as the identity."""

    def __init__(self, channels: int, reduction: int = 8, released_code: bool = False):
        super().__init__()
        self.query = nn.Conv2d(channels, channels // reduction, 1)   # C' (the paper's C, renamed)
        self.key = nn.Conv2d(channels, channels // reduction, 1)     # B
        self.value = nn.Conv2d(channels, channels, 1)                # D
        self.alpha, self.beta = nn.Parameter(torch.zeros(1)), nn.Parameter(torch.zeros(1))
        self.released_code = released_code
        self.position_weights = self.channel_weights = None

    def forward(self, a):
        """a (B, C, H, W) → the sum of the two modules' outputs, (B, C, H, W)."""
        by_position, self.position_weights = position_attention(self.query(a), self.key(a), self.value(a))
        by_channel, self.channel_weights = channel_attention(a, self.released_code)
        return (self.alpha * by_position + a) + (self.beta * by_channel + a)


def regions(H: int = 10, W: int = 10):
    """A label map: background 0, class 1 in two far-apart squares, class 2 in a vertical bar."""
    labels = torch.zeros(H, W, dtype=torch.long)
    labels[1:4, 1:4] = labels[6:9, 6:9] = 1
    labels[1:9, 7] = 2
    return labels


def demo(device: torch.device | str = "cpu", seed: int = 0) -> dict:
    """A 10 × 10 map whose features are a per-class vector plus noise. With the identity as query, key
    and value (set by hand, not learned), one pixel of a class-1 square attends to both class-1 squares,
    across the map. The channel weights are shown in both forms. Checks against the loops."""
    torch.manual_seed(seed)
    C, labels = 8, regions().to(device)
    prototypes = 2.5 * torch.linalg.qr(torch.randn(C, 3, device=device))[0].T   # orthogonal, norm 2.5: scores ≈ 6 or 0
    a = (prototypes[labels] + 0.2 * torch.randn(10, 10, C, device=device)).permute(2, 0, 1)[None]
    module = DualAttention(C, reduction=1).to(device)
    with torch.no_grad():
        for conv in (module.query, module.key, module.value):
            conv.weight.copy_(torch.eye(C, device=device)[:, :, None, None])
            conv.bias.zero_()
        module.alpha.fill_(1.0)
        module.beta.fill_(1.0)
        module(a)
        pixel = 2 * 10 + 2                                        # (2, 2), inside the first square
        share = {c: module.position_weights[0, pixel][labels.flatten() == c].sum().item() for c in range(3)}
        far_square = (labels == 1) & (torch.arange(10, device=device)[:, None] >= 5)
        far = module.position_weights[0, pixel][far_square.flatten()].sum().item()
        released = channel_attention(a, released_code=True)[1][0]
        error = max((position_attention(a, a, a)[0] - naive_position_attention(a, a, a)).abs().max().item(),
                    (channel_attention(a)[0] - naive_channel_attention(a)).abs().max().item())
    print(f"pixel (2, 2), class 1: its position weights by class: background {share[0]:.3f}, "
          f"class 1 {share[1]:.3f}, class 2 {share[2]:.3f} (class 1 covers {int((labels == 1).sum())} of 100 pixels)")
    print(f"  of which on the far class-1 square (bottom right, {int(far_square.sum())} pixels): {far:.3f}")
    paper, code = module.channel_weights[0], released
    print(f"channel weights on itself, mean over channels: paper's softmax {paper.diagonal().mean():.3f}, "
          f"released code's {code.diagonal().mean():.3f}")
    print(f"max |batched - loop| = {error:.2e} (tolerance 1e-4)")
    return {"position": module.position_weights[0, pixel].view(10, 10).cpu(), "share": share, "far": far,
            "channel": paper.cpu(), "channel_released": code.cpu(), "labels": labels.cpu(), "max_error": error}


if __name__ == "__main__":
    from runnable._cli import device_from_args

    demo(device_from_args(__doc__.splitlines()[0]))
