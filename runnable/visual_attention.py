"""Soft and hard attention over a feature grid (Xu et al., Show, Attend and Tell; bib: xu2015show) and a
retina-like glimpse (Larochelle & Hinton, bib: larochelle2010learning; Mnih et al., Recurrent Models of
Visual Attention, bib: mnih2014recurrent).

Show, Attend and Tell: an encoder turns the image into annotation vectors a_i, one per grid cell; at
caption step t the decoder scores each against its previous state h_{t-1} with an MLP f_att,
    e_ti = f_att(a_i, h_{t-1}),   α_ti = exp(e_ti) / Σ_k exp(e_tk)                  (section 3.1.2)
    hard (section 4.1):  s_t ~ Multinoulli_L({α_i}),   ẑ_t = Σ_i s_ti a_i = a_{s_t}
    soft (section 4.2):  ẑ_t = E_{p(s_t | a)}[ẑ_t] = Σ_i α_ti a_i
so the soft context is the mean of the hard one. Here f_att(a_i, h) = w^T tanh(W_a a_i + W_h h + b),
the Bahdanau form (the paper says a multilayer perceptron).

Doubly stochastic attention (section 4.2.1), the paper's soft model: a gating scalar predicted from
the previous state scales the context,
    β_t = σ(f_β(h_{t-1})),   φ({a_i}, {α_i}) = β_t Σ_i α_ti a_i           (f_β linear, as capgen.py's W_sel)
(SoftAttention(gated=True), the default; gated=False gives the plain expectation), and a penalty
added to the caption's negative log-likelihood pushes every cell to receive, summed over the C
words, a total weight of about one:
    λ Σ_i (1 − Σ_t α_ti)²                                                 (doubly_stochastic_penalty)
The paper gives no value for λ; the authors' released evaluate_coco.py (kelvinxu/arctic-captions)
trains with alpha_c = 1, which is the default here.

Glimpse: Mnih et al.'s retina ρ(x_t, l_{t-1}) (figure 1A) takes k square patches centred on l, the
first g × g pixels, each next twice as wide, all resized to g × g (here by average pooling): sharp in
the middle, coarse around it, like Larochelle & Hinton's fovea and periphery. Here l is an integer
pixel (row, column), not a point in [-1, 1]², and pixels off the image read as zero.

Differences from the paper:
- f_att is the Bahdanau form w^T tanh(W_a a_i + W_h h + b); the paper says only a multilayer
  perceptron.
- Locations are integer pixels (row, column), not points in [-1, 1]², and pixels off the image read
  as zero; the retina averages each patch down to g × g.
- The captioning LSTM, the CNN features and the REINFORCE training of hard attention are not part of
  the module.

Shapes: B batch, L = H' × W' cells, D annotation size, n state size, A alignment size; images (B, C, H, W).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


# λ of the doubly stochastic penalty: not stated in the paper; alpha_c = 1 in the authors' evaluate_coco.py.
DOUBLY_STOCHASTIC_LAMBDA = 1.0


class SoftAttention(nn.Module):
    """Xu et al.'s deterministic soft attention: f_att, the softmax over the L cells, the expectation,
    and (gated=True, the paper's doubly stochastic model) the gate β_t = σ(f_β(h_{t-1}))."""

    def __init__(self, annotation_size: int, state_size: int, align_size: int, gated: bool = True):
        super().__init__()
        self.W_a = nn.Linear(annotation_size, align_size, bias=False)  # W_a
        self.W_h = nn.Linear(state_size, align_size)                   # W_h and b
        self.w = nn.Linear(align_size, 1, bias=False)                  # w
        self.f_beta = nn.Linear(state_size, 1) if gated else None       # f_β

    def forward(self, annotations, state, mask=None):
        """annotations (B, L, D), state h_{t-1} (B, n), mask (B, L) True where a cell may be attended.
        Returns the soft context (B, D), β_t ẑ_t when gated, and the weights α_t (B, L)."""
        # e_ti = f_att(a_i, h_{t-1}) = w^T tanh(W_a a_i + W_h h_{t-1} + b)          (B, L)
        scores = self.w(torch.tanh(self.W_a(annotations) + self.W_h(state)[:, None, :])).squeeze(-1)
        if mask is not None:
            scores = scores.masked_fill(~mask, float("-inf"))
        alpha = torch.softmax(scores, dim=-1)                                  # α_ti
        context = torch.einsum("bl,bld->bd", alpha, annotations)               # ẑ_t = Σ_i α_ti a_i
        if self.f_beta is not None:
            context = torch.sigmoid(self.f_beta(state)) * context              # β_t ẑ_t, β_t = σ(f_β(h_{t-1}))
        return context, alpha


def doubly_stochastic_penalty(alphas, lam: float = DOUBLY_STOCHASTIC_LAMBDA, step_mask=None):
    """alphas (B, C, L): the weights of a caption's C steps; step_mask (B, C) True on its real words.
    Returns (B,) λ Σ_i (1 − Σ_t α_ti)², the term added to each caption's negative log-likelihood."""
    if step_mask is not None:
        alphas = alphas * step_mask[..., None]
    return lam * ((1 - alphas.sum(1)) ** 2).sum(-1)


def hard_context(annotations, alpha, samples: int = 1, generator=None):
    """Sample s_t ~ Multinoulli(α_t) `samples` times per example. Returns the hard contexts a_{s_t}
    (B, samples, D) and the locations s_t (B, samples). No gradient flows through the sample: the paper
    trains f_att with a REINFORCE-style estimator."""
    # s_t ~ Multinoulli_L({α_i})
    locations = torch.multinomial(alpha, samples, replacement=True, generator=generator)
    # ẑ_t = a_{s_t}
    contexts = torch.gather(annotations, 1, locations[..., None].expand(-1, -1, annotations.shape[-1]))
    return contexts, locations


def glimpse(images, centres, size: int = 4, scales: int = 3):
    """images (B, C, H, W), centres (B, 2) integer pixel (row, column). Returns ρ(x, l) as
    (B, scales, C, size, size): patch k covers size·2^k pixels a side around the centre, pooled to size."""
    B, largest = images.shape[0], size * 2 ** (scales - 1)
    padded = F.pad(images, (largest,) * 4)                  # zeros off the image; shifts indices by `largest`
    patches = []
    for k in range(scales):
        width = size * 2 ** k
        offsets = torch.arange(width, device=images.device) - width // 2 + largest
        rows = (centres[:, 0, None] + offsets)[:, :, None]  # (B, width, 1)
        cols = (centres[:, 1, None] + offsets)[:, None, :]  # (B, 1, width)
        patch = padded[torch.arange(B, device=images.device)[:, None, None], :, rows, cols]  # (B, w, w, C)
        patches.append(F.avg_pool2d(patch.permute(0, 3, 1, 2), 2 ** k))  # resize to size × size
    return torch.stack(patches, 1)


def naive_soft_attention(attention: SoftAttention, annotations, state, mask=None):
    """The soft equations one (b, i) at a time: the slow reference the tests compare against."""
    contexts, weights = [], []
    for b in range(annotations.shape[0]):
        scores = torch.stack([
            attention.w.weight[0] @ torch.tanh(attention.W_a.weight @ a + attention.W_h.weight @ state[b]
                                               + attention.W_h.bias)
            if mask is None or mask[b, i] else torch.tensor(float("-inf"), device=a.device)
            for i, a in enumerate(annotations[b])])
        alpha = torch.exp(scores - scores.max()) / torch.exp(scores - scores.max()).sum()
        weights.append(alpha)
        beta = 1.0
        if attention.f_beta is not None:                                       # β = 1 / (1 + e^{-(w_β·h + b_β)})
            beta = 1 / (1 + torch.exp(-(attention.f_beta.weight[0] @ state[b] + attention.f_beta.bias[0])))
        contexts.append(beta * sum(alpha[i] * annotations[b, i] for i in range(annotations.shape[1])))
    return torch.stack(contexts), torch.stack(weights)


def naive_glimpse(images, centres, size: int = 4, scales: int = 3):
    """ρ(x, l) by slicing: copy each patch's on-image part into zeros, then average 2^k × 2^k blocks."""
    B, C, H, W = images.shape
    out = images.new_zeros(B, scales, C, size, size)
    for b in range(B):
        for k in range(scales):
            width, block = size * 2 ** k, 2 ** k
            top, left = centres[b, 0].item() - width // 2, centres[b, 1].item() - width // 2
            y0, y1, x0, x1 = max(top, 0), min(top + width, H), max(left, 0), min(left + width, W)
            patch = images.new_zeros(C, width, width)
            if y0 < y1 and x0 < x1:
                patch[:, y0 - top:y1 - top, x0 - left:x1 - left] = images[b, :, y0:y1, x0:x1]
            out[b, k] = patch.view(C, size, block, size, block).mean((2, 4))  # each block's mean
    return out


def demo(device: torch.device | str = "cpu", seed: int = 0) -> dict:
    """A 32 × 32 image with a red and a blue square; the "encoder" averages 4 × 4 blocks into an 8 × 8
    grid of mean colours (Xu et al. use a CNN). f_att is hand-set, not learned: state h = (1, 0) asks
    for red, (0, 1) for blue. Checks soft against the loop, hard against soft, glimpse against loops."""
    generator = torch.Generator(device=device).manual_seed(seed)
    image = 0.1 * torch.rand(3, 32, 32, generator=generator, device=device)
    image[0, 4:12, 20:28], image[2, 20:28, 4:12] = 1.0, 1.0              # red top right, blue bottom left
    grid = F.avg_pool2d(image[None], 4)                                  # (1, 3, 8, 8)
    annotations = grid.flatten(2).transpose(1, 2).expand(2, -1, -1)      # a_i: (2, 64, 3)
    attention = SoftAttention(annotation_size=3, state_size=2, align_size=3, gated=False).to(device)  # the expectation alone
    with torch.no_grad():  # tanh saturates the two unwanted colours at -1 and grades the wanted one
        attention.W_a.weight.copy_(3 * torch.eye(3))
        attention.W_h.weight.copy_(torch.tensor([[0.0, -20.0], [-20.0, -20.0], [-20.0, 0.0]]))
        attention.W_h.bias.zero_()
        attention.w.weight.fill_(10.0)
    state = torch.eye(2, device=device)                                  # h_{t-1}: look for red; for blue
    context, alpha = attention(annotations, state)
    ref_context, ref_alpha = naive_soft_attention(attention, annotations, state)
    error = max((context - ref_context).abs().max().item(), (alpha - ref_alpha).abs().max().item())
    hard, _ = hard_context(annotations, alpha, samples=20_000, generator=generator)
    mc_error = (hard.mean(1) - context).abs().max().item()
    centres = torch.tensor([[8, 24]], device=device)                     # the red square's centre
    retina = glimpse(image[None], centres)
    glimpse_error = (retina - naive_glimpse(image[None], centres)).abs().max().item()
    squares = {"red": (slice(1, 3), slice(5, 7)), "blue": (slice(5, 7), slice(1, 3))}  # grid cells
    for name, weights in zip(squares, alpha.view(2, 8, 8)):
        print(f"looking for {name:4s}: α on the red square {weights[squares['red']].sum():.3f}, "
              f"on the blue square {weights[squares['blue']].sum():.3f}")
    print(f"soft ẑ (red, green, blue) for 'red': {[round(v, 3) for v in context[0].tolist()]}")
    print(f"max |batched - loop| = {error:.2e} (tolerance 1e-5)")
    print(f"max |mean of 20000 hard ẑ - soft ẑ| = {mc_error:.4f} (tolerance 0.02)")
    print(f"glimpse {tuple(retina.shape[1:])}: max |gather - slicing| = {glimpse_error:.2e} (tolerance 1e-6)")
    return {"image": image.permute(1, 2, 0).cpu(), "weights": alpha.view(2, 8, 8).detach().cpu(),
            "glimpse": retina[0].cpu(), "centre": centres[0].tolist(), "max_error": error,
            "mc_error": mc_error, "glimpse_error": glimpse_error}


if __name__ == "__main__":
    from runnable._cli import device_from_args

    demo(device_from_args(__doc__.splitlines()[0]))
