"""DRAW's read and write attention (Gregor, Danihelka, Graves, Rezende & Wierstra; bib: gregor2015draw).

An N × N grid of Gaussian filters is laid over a B × A image (B rows, A columns). A linear
layer maps the decoder state h to five numbers, which the paper's parametrisation turns into
the grid's centre (g_X, g_Y), the stride δ between filters, their shared (isotropic)
variance σ² and an intensity γ:

    (g̃_X, g̃_Y, log σ², log δ̃, log γ) = W h + b
    g_X = (A + 1)/2 · (g̃_X + 1)          g_Y = (B + 1)/2 · (g̃_Y + 1)
    δ   = (max(A, B) - 1)/(N - 1) · δ̃

Filter i of the grid (i = 1..N) is centred at

    μ_X^i = g_X + (i - N/2 - 0.5) δ          μ_Y^j = g_Y + (j - N/2 - 0.5) δ

and the filterbank matrices, one row per filter, are normalised Gaussians over the pixels:

    F_X[i, a] = exp(-(a - μ_X^i)² / (2σ²)) / Z_X      (N × A,  Σ_a F_X[i, a] = 1)
    F_Y[j, b] = exp(-(b - μ_Y^j)² / (2σ²)) / Z_Y      (N × B)

Reading extracts an N × N glimpse; writing pastes an N × N patch w back onto the canvas
with the transposed filters (each head, read or write, has its own W, b):

    read(x)  = γ F_Y x F_Xᵀ                 (N × N)
    write(w) = (1/γ) F_Yᵀ w F_X             (B × A)

so ⟨read(x), w⟩ = γ² ⟨x, write(w)⟩: with the γ factors set aside, write is read's transpose.
In DRAW the read is applied to the image and to the error image and the two glimpses are
concatenated, and the write patch w itself is another linear function of h; `DrawAttention`
has that layer too.

Conventions (my reading, not spelled out as such in the paper): pixels are counted
a = 1..A and b = 1..B and filters i = 1..N. That is the choice under which both formulas are
centred: i - N/2 - 0.5 runs symmetrically from -(N-1)/2 to (N-1)/2, g̃ = 0 puts the grid at
the image centre (A + 1)/2, and δ̃ = 1 makes the grid span the first pixel to the last along
the longer side. Z is computed as a softmax over the pixels, which is the same normalisation
but cannot divide 0 by 0 when a narrow filter lies far outside the image.

Pixels and filters are counted from 1, which is the reading under which both formulas above are
centred.

Differences from the paper:
- Pixels and filters are counted from 1, the reading under which the paper's centring formulas work
  out; the paper does not spell this out.
- Z is computed as a softmax over pixels: the same normalisation, but it cannot divide 0 by 0 when a
  narrow filter lies far outside the image.
- Only the read and write operators are implemented; the recurrent VAE around them (encoder,
  decoder, latent sampling, training) is not.

Shapes: any leading batch dims (...); images (..., B, A), patches (..., N, N).
"""
from __future__ import annotations

import math

import torch
from torch import nn


def attention_parameters(g_x, g_y, log_var, log_delta, N: int, A: int, B: int):
    """The paper's map from the linear layer's outputs (g̃_X, g̃_Y, log σ², log δ̃) to
    (g_X, g_Y, δ, σ²), each of the inputs' shape."""
    centre_x = (A + 1) / 2 * (g_x + 1)
    centre_y = (B + 1) / 2 * (g_y + 1)
    delta = (max(A, B) - 1) / max(N - 1, 1) * log_delta.exp()  # N = 1: one filter, the stride is unused
    return centre_x, centre_y, delta, log_var.exp()


def filter_centres(centre, delta, N: int):
    """μ^i = g + (i - N/2 - 0.5) δ for i = 1..N: (..., N)."""
    i = torch.arange(1, N + 1, device=centre.device, dtype=centre.dtype)
    return centre[..., None] + (i - N / 2 - 0.5) * delta[..., None]


def filterbank(g_x, g_y, log_var, log_delta, N: int, A: int, B: int):
    """g̃_X, g̃_Y, log σ², log δ̃ (...) → F_X (..., N, A), F_Y (..., N, B); every row sums to one."""
    centre_x, centre_y, delta, var = attention_parameters(g_x, g_y, log_var, log_delta, N, A, B)
    banks = []
    for centre, size in ((centre_x, A), (centre_y, B)):
        mu = filter_centres(centre, delta, N)                                   # (..., N)
        pixel = torch.arange(1, size + 1, device=centre.device, dtype=centre.dtype)
        exponent = -(pixel - mu[..., None]) ** 2 / (2 * var[..., None, None])   # (..., N, size)
        banks.append(torch.softmax(exponent, dim=-1))                           # exp(·) / Z
    return banks[0], banks[1]


def _per_matrix(gamma):
    """γ (...) → (..., 1, 1), so that one γ scales one whole glimpse or patch."""
    return gamma[..., None, None] if torch.is_tensor(gamma) and gamma.dim() else gamma


def read(x, F_x, F_y, gamma=1.0):
    """γ F_Y x F_Xᵀ: image x (..., B, A) → glimpse (..., N, N), rows from F_Y, columns from F_X."""
    return _per_matrix(gamma) * F_y @ x @ F_x.transpose(-1, -2)


def write(w, F_x, F_y, gamma=1.0):
    """(1/γ) F_Yᵀ w F_X: patch w (..., N, N) → canvas increment (..., B, A)."""
    return F_y.transpose(-1, -2) @ w @ F_x / _per_matrix(gamma)


class DrawAttention(nn.Module):
    """One attention head (read or write) driven by a decoder state h (..., H)."""

    def __init__(self, state_size: int, N: int, A: int, B: int):
        super().__init__()
        self.N, self.A, self.B = N, A, B
        self.params = nn.Linear(state_size, 5)             # (g̃_X, g̃_Y, log σ², log δ̃, log γ)
        self.patch = nn.Linear(state_size, N * N)          # w_t = W(h): the write head's patch

    def forward(self, h):
        """h → F_X (..., N, A), F_Y (..., N, B), γ (...)."""
        g_x, g_y, log_var, log_delta, log_gamma = self.params(h).unbind(-1)
        F_x, F_y = filterbank(g_x, g_y, log_var, log_delta, self.N, self.A, self.B)
        return F_x, F_y, log_gamma.exp()

    def read(self, h, x):
        """x (batch, B, A) or (batch, C, B, A), e.g. C = 2 for the image and the error image."""
        F_x, F_y, gamma = self(h)
        if x.dim() == F_x.dim() + 1:                       # one filterbank for every channel
            F_x, F_y, gamma = F_x[:, None], F_y[:, None], gamma[:, None]
        return read(x, F_x, F_y, gamma)

    def write(self, h, patch=None):
        """The canvas increment (batch, B, A); the patch defaults to the head's own W(h)."""
        F_x, F_y, gamma = self(h)
        if patch is None:
            patch = self.patch(h).unflatten(-1, (self.N, self.N))
        return write(patch, F_x, F_y, gamma)


def naive_filterbank(g_x: float, g_y: float, log_var: float, log_delta: float, N: int, A: int, B: int):
    """The equations for one grid, in Python floats, one filter and one pixel at a time."""
    centre = {"x": (A + 1) / 2 * (g_x + 1), "y": (B + 1) / 2 * (g_y + 1)}
    delta, var = (max(A, B) - 1) / max(N - 1, 1) * math.exp(log_delta), math.exp(log_var)
    banks = {}
    for axis, size in (("x", A), ("y", B)):
        rows = []
        for i in range(1, N + 1):
            mu = centre[axis] + (i - N / 2 - 0.5) * delta
            row = [math.exp(-(a - mu) ** 2 / (2 * var)) for a in range(1, size + 1)]
            rows.append([value / sum(row) for value in row])
        banks[axis] = rows
    return torch.tensor(banks["x"], dtype=torch.float64), torch.tensor(banks["y"], dtype=torch.float64)


def naive_read(x, F_x, F_y, gamma: float = 1.0):
    """glimpse[j, i] = γ Σ_b Σ_a F_Y[j, b] x[b, a] F_X[i, a], one image, as loops."""
    x, F_x, F_y = x.tolist(), F_x.tolist(), F_y.tolist()
    B, A = len(x), len(x[0])
    return torch.tensor([[gamma * sum(F_y[j][b] * x[b][a] * F_x[i][a] for b in range(B) for a in range(A))
                          for i in range(len(F_x))] for j in range(len(F_y))], dtype=torch.float64)


def naive_write(w, F_x, F_y, gamma: float = 1.0):
    """canvas[b, a] = (1/γ) Σ_j Σ_i F_Y[j, b] w[j, i] F_X[i, a], one patch, as loops."""
    w, F_x, F_y, N = w.tolist(), F_x.tolist(), F_y.tolist(), len(w)
    return torch.tensor([[sum(F_y[j][b] * w[j][i] * F_x[i][a] for j in range(N) for i in range(N)) / gamma
                          for a in range(len(F_x[0]))] for b in range(len(F_y[0]))], dtype=torch.float64)


def synthetic_image(B: int = 24, A: int = 32, device="cpu"):
    """A disc on the left and vertical stripes of period 4 pixels on the right: detail that only
    a fine glimpse can resolve."""
    b = torch.arange(1, B + 1, device=device, dtype=torch.float32)[:, None]
    a = torch.arange(1, A + 1, device=device, dtype=torch.float32)[None, :]
    disc = ((a - 9) ** 2 + (b - 10) ** 2 <= 25).float()
    stripes = ((a >= 19) & (a <= 30) & (b >= 13) & (b <= 22)).float() * (((a - 19) % 4) < 2).float()
    return disc + stripes


def demo(device: torch.device | str = "cpu", seed: int = 0) -> dict:
    """Three 12 × 12 glimpses of one synthetic 24 × 32 image: the whole image, then two zooms onto
    the stripes (σ = δ/2 each time); check against the loops, the row sums and write = readᵀ."""
    torch.manual_seed(seed)
    N, B, A = 12, 24, 32
    image = synthetic_image(B, A, device)
    # (centre column g_X, centre row g_Y, stride δ) in pixels; the stripes fill columns 19..30, rows 13..22
    zooms = {"whole image": ((A + 1) / 2, (B + 1) / 2, (max(A, B) - 1) / (N - 1)),
             "closer": (24.5, 17.5, 1.6), "pixel scale": (24.5, 17.5, 1.0)}
    glimpses, centres, error, rows, contrast = [], [], 0.0, 0.0, {}
    print(f"image {B} × {A}, N = {N}; filter centres in pixels (counted from 1):")
    for name, (g_x, g_y, delta) in zooms.items():
        # invert the paper's parametrisation to get the linear layer's outputs for this grid
        raw = (2 * g_x / (A + 1) - 1, 2 * g_y / (B + 1) - 1, 2 * math.log(delta / 2),
               math.log(delta * (N - 1) / (max(A, B) - 1)))
        F_x, F_y = filterbank(*(torch.tensor(v, device=device) for v in raw), N, A, B)
        glimpse = read(image, F_x, F_y)
        reference = naive_read(image.cpu(), *naive_filterbank(*raw, N, A, B))
        error = max(error, (glimpse.double().cpu() - reference).abs().max().item())
        rows = max(rows, (F_x.sum(-1) - 1).abs().max().item(), (F_y.sum(-1) - 1).abs().max().item())
        mu_x, mu_y = (filter_centres(torch.tensor(g), torch.tensor(delta), N) for g in (g_x, g_y))
        on_stripes = ((mu_y >= 13) & (mu_y <= 22))[:, None] & ((mu_x >= 19) & (mu_x <= 30))[None, :]
        contrast[name] = glimpse.cpu()[on_stripes].std().item()  # stripes resolved: high; blurred to grey: low
        glimpses.append(glimpse.cpu())
        centres.append((mu_x, mu_y))
        print(f"  {name:>11}: δ = {delta:4.2f}, σ = {delta / 2:4.2f}, columns {mu_x[0]:5.1f}..{mu_x[-1]:4.1f}, "
              f"rows {mu_y[0]:5.1f}..{mu_y[-1]:4.1f}; spread of the glimpse over the stripes {contrast[name]:.3f}")
    # ⟨read(x), w⟩ = γ² ⟨x, write(w)⟩ for a random patch and γ = 1.7
    gamma, patch = torch.tensor(1.7, device=device), torch.randn(N, N, device=device)
    left = (read(image, F_x, F_y, gamma) * patch).sum().item()
    right = gamma.item() ** 2 * (image * write(patch, F_x, F_y, gamma)).sum().item()
    adjoint = abs(left - right) / abs(left)
    print(f"every filter row sums to one: max |Σ_a F[i, a] - 1| = {rows:.1e}")
    print(f"⟨read(x), w⟩ = {left:.4f}, γ²⟨x, write(w)⟩ = {right:.4f} (relative gap {adjoint:.1e})")
    print(f"max |batched - loop| = {error:.2e} (tolerance 1e-5)")
    return {"image": image.cpu(), "glimpses": glimpses, "centres": centres, "names": list(zooms),
            "contrast": contrast, "max_error": error, "row_sum_error": rows, "adjoint_gap": adjoint}


if __name__ == "__main__":
    from runnable._cli import device_from_args

    demo(device_from_args(__doc__.splitlines()[0]))
