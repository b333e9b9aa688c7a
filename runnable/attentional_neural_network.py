"""Attentional Neural Network: top-down feedback gating (Wang, Zhang, Song & Zhang 2014; bib: wang2014attentional).

A cognitive bias b (here a one-hot class hypothesis) selects, from the top down, which hidden
features may speak; what they reconstruct becomes a mask over the input; the masked input is
processed bottom-up again, and the loop repeats:

    h   = σ(W x_t + c)                  bottom-up features of the current input
    g   = σ(U b)                        top-down gate on the hidden units, from the bias alone
    z_t = σ(W' (h ⊙ g) + d)             mask over the D input features, each in (0, 1)
    x_{t+1} = x ⊙ z_t,   x_0 = x        the RAW input is gated every time

Gating the raw x (not x_t) means the loop can only keep or suppress what is in the input: it
cannot paint in a pattern the bias expects but the input lacks (x ≥ 0 ⇒ 0 ≤ x_{t+1} ≤ x).

This module implements that general scheme: a hypothesis gates hidden units, the gated
reconstruction masks the input, iterate. It is not the paper's network: its layer sizes,
training procedure and classification module are not reproduced, and the equations above are
this module's, not quoted from the paper. The demo trains it briefly on superimposed strokes.

`naive_feedback_gating` computes the same equations one unit at a time; the demo trains the module
and measures what survives.

Differences from the paper:
- Only the general scheme is kept (a hypothesis gates hidden units, their reconstruction masks the
  input, repeat); the paper's layer sizes, training procedure and classification module are not
  reproduced.
- The equations are this module's reading of the scheme, not quoted from the paper.
- The demo trains on small synthetic superposed patterns, not on the paper's MNIST-based tasks.

Shapes: B batch, D input features, M hidden units, K hypotheses (the length of b), T iterations.
"""
from __future__ import annotations

import torch
from torch import nn

from runnable._training import fit


class FeedbackGating(nn.Module):
    """The feedback loop's three maps: bottom-up features (W, c), the top-down gate from a
    hypothesis (U) and the reconstruction that becomes the input mask (W', d)."""

    def __init__(self, features: int, hidden: int, hypotheses: int):
        super().__init__()
        self.encoder = nn.Linear(features, hidden)                  # W, c
        self.top_down = nn.Linear(hypotheses, hidden, bias=False)   # U
        self.decoder = nn.Linear(hidden, features)                  # W', d

    def mask(self, x, bias):
        """x (B, D), bias b (B, K) → z (B, D): how much of each input feature the hypothesis keeps."""
        h = torch.sigmoid(self.encoder(x))                          # h = σ(W x + c)
        g = torch.sigmoid(self.top_down(bias))                      # g = σ(U b)
        return torch.sigmoid(self.decoder(h * g))                   # z = σ(W'(h ⊙ g) + d)

    def forward(self, x, bias, iterations: int = 1):
        """x (B, D) ≥ 0, bias (B, K). Returns the gated input x_T (B, D) and the masks (B, T, D)."""
        current, masks = x, []
        for _ in range(iterations):
            masks.append(self.mask(current, bias))
            current = x * masks[-1]                                 # x_{t+1} = x ⊙ z_t
        return current, torch.stack(masks, 1)


def naive_feedback_gating(model: FeedbackGating, x, bias, iterations: int = 1):
    """The same equations one example and one unit at a time: the reference the tests use."""
    W, c = model.encoder.weight, model.encoder.bias
    U, V, d = model.top_down.weight, model.decoder.weight, model.decoder.bias
    sigmoid = lambda a: 1 / (1 + torch.exp(-a))  # noqa: E731
    outputs, all_masks = [], []
    for b in range(x.shape[0]):
        current, masks = x[b], []
        for _ in range(iterations):
            h = [sigmoid(sum(W[m, i] * current[i] for i in range(W.shape[1])) + c[m]) for m in range(W.shape[0])]
            g = [sigmoid(sum(U[m, k] * bias[b, k] for k in range(U.shape[1]))) for m in range(U.shape[0])]
            z = torch.stack([sigmoid(sum(V[i, m] * h[m] * g[m] for m in range(V.shape[1])) + d[i])
                             for i in range(V.shape[0])])
            masks.append(z)
            current = x[b] * z
        outputs.append(current)
        all_masks.append(torch.stack(masks))
    return torch.stack(outputs), torch.stack(all_masks)


def glyphs(device=None) -> torch.Tensor:
    """Six 8×8 stroke patterns (K = 6, D = 64), 0/1, that overlap in pairs like crossed strokes."""
    g = torch.zeros(6, 8, 8, device=device)
    g[0, 1, 1:7] = g[0, 1:7, 3] = 1                                 # T
    g[1, 1:7, 1] = g[1, 6, 1:7] = 1                                 # L
    g[2, [1, 6], 1:7] = g[2, 1:7, [1, 6]] = 1                       # box
    g[3, range(1, 7), range(1, 7)] = g[3, range(1, 7), range(6, 0, -1)] = 1   # X
    g[4, [2, 5], 1:7] = 1                                           # =
    g[5, 1:7, [2, 5]] = 1                                           # ||
    return g.flatten(1)


NAMES = ["T", "L", "box", "X", "=", "||"]


def shifted_glyphs(device=None) -> torch.Tensor:
    """Every glyph moved by every (row, column) shift in {-1, 0, 1}²: (6, 9, 64)."""
    G = glyphs(device).view(6, 8, 8)
    return torch.stack([G.roll((r, c), (1, 2)) for r in (-1, 0, 1) for c in (-1, 0, 1)], 1).flatten(2)


def overlays(device, count: int):
    """Random ordered pairs (a, b), a ≠ b, each glyph shifted by up to a pixel on its own, so the mask
    must be read off the input, not recalled from the hypothesis. Returns max(A, B), A, B, a, b."""
    a = torch.randint(0, 6, (count,), device=device)
    b = (a + torch.randint(1, 6, (count,), device=device)) % 6
    S = shifted_glyphs(device)
    A, B = S[a, torch.randint(0, 9, (count,), device=device)], S[b, torch.randint(0, 9, (count,), device=device)]
    return torch.maximum(A, B), A, B, a, b


def survival(gated, x, A, B):
    """The fraction of the input's ink that survives, on pixels of A only, of B only, and of both."""
    A, B = A.bool(), B.bool()
    part = lambda m: ((gated * m).sum() / (x * m).sum()).item()  # noqa: E731
    return {"only A": part(A & ~B), "only B": part(B & ~A), "shared": part(A & B)}


def demo(device: torch.device | str = "cpu", seed: int = 0) -> dict:
    """Train FeedbackGating to keep the hypothesised glyph of an overlay (a loss on every iteration's
    mask), then gate fresh overlays toward A, toward B, and toward a glyph that is not there."""
    torch.manual_seed(seed)
    steps, model, eye = 300, FeedbackGating(64, 64, 6).to(device), torch.eye(6, device=device)

    def loss(model):
        x, A, _, a, _ = overlays(device, 256)
        _, masks = model(x, eye[a], iterations=2)
        return nn.functional.binary_cross_entropy(masks, A[:, None].expand_as(masks))

    final_loss = fit(model, loss, steps, lambda i: 0.02)
    x, A, B, a, b = overlays(device, 1000)                           # fresh overlays for testing
    absent = torch.tensor([min({0, 1, 2} - {i, j}) for i, j in zip(a.tolist(), b.tolist())], device=device)
    with torch.no_grad():
        rows = {}
        for T in (1, 2, 3):
            toward_a, masks = model(x, eye[a], iterations=T)
            rows[T] = survival(toward_a, x, A, B)
        toward_b, _ = model(x, eye[b], iterations=3)
        swapped = survival(toward_b, x, B, A)
        ghost, _ = model(x, eye[absent], iterations=3)
        reference = naive_feedback_gating(model, x[:2], eye[a[:2]], iterations=2)
        error = max((m - r).abs().max().item() for m, r in zip(model(x[:2], eye[a[:2]], 2), reference))
    ghost_share = ghost.sum().item() / x.sum().item()
    print(f"trained {steps} steps, final loss {final_loss:.3f}; glyphs {NAMES}, each shifted by up to 1 pixel")
    print("fraction of each pattern's ink that survives gating toward hypothesis A (1000 fresh overlays):")
    for T, r in rows.items():
        print(f"  T = {T}: only-A {r['only A']:.3f}   only-B {r['only B']:.3f}   shared {r['shared']:.3f}")
    print(f"same inputs, hypothesis B (T = 3): only-B {swapped['only A']:.3f}   only-A {swapped['only B']:.3f}")
    print(f"hypothesis of a glyph not in the input (T = 3): {ghost_share:.3f} of the ink survives; "
          f"output ≤ input everywhere: {bool((ghost <= x).all())}")
    print(f"max |batched - loop| = {error:.2e} (tolerance 1e-5)")
    examples = {"input": x[:4], "toward A": toward_a[:4], "toward B": toward_b[:4], "not there": ghost[:4]}
    return {"survival": rows, "swapped": swapped, "absent": ghost_share, "loss": final_loss, "max_error": error,
            "examples": {k: v.view(-1, 8, 8).cpu() for k, v in examples.items()},
            "names": [(NAMES[i], NAMES[j], NAMES[k]) for i, j, k in zip(a[:4], b[:4], absent[:4])]}


if __name__ == "__main__":
    from runnable._cli import device_from_args

    demo(device_from_args(__doc__.splitlines()[0]))
