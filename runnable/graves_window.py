"""The soft window of handwriting synthesis (Graves; bib: graves2013generating).

The synthesis network conditions its pen strokes on a character sequence c_1..c_U (one-hot
vectors) through a window that a mixture of K Gaussians places over the positions u = 1..U.
From the first hidden layer's output h_t at pen step t (section 5.1),

    (α̂_t, β̂_t, κ̂_t) = W h_t + b
    α_t = exp(α̂_t)                    importance of each component
    β_t = exp(β̂_t)                    its width (a precision: larger is narrower)
    κ_t = κ_{t-1} + exp(κ̂_t)          its location, which can only move forward
    φ(t, u) = Σ_{k=1}^K α^k_t exp(-β^k_t (κ^k_t - u)^2)
    w_t = Σ_{u=1}^U φ(t, u) c_u

The weights φ are not normalised: the window is a soft read of the text whose position κ is
the integral of positive steps, so it slides monotonically along the characters. In the paper
(section 5.1) w_t, computed from the first layer's h^1_t, feeds the second and third layers at the
same step t and the first layer at step t + 1 (as w_{t-1} in h^1_{t+1}); this module is the window
alone and takes the hidden states as given.

Padding characters get an exponent of −∞, so their weight φ is exactly zero.

Differences from the paper:
- Only the window is implemented: the hidden states are given, and the synthesis network's LSTM
  layers, its mixture-density output and the feedback of w_t into step t + 1 are left out.
- Padding characters get an exponent of −∞, so their weight is exactly zero; the paper has no
  padding.

Shapes: B batch, T pen steps, U characters, C alphabet size, H hidden size, K components.
"""
from __future__ import annotations

import math

import torch
from torch import nn


class GravesWindow(nn.Module):
    """The window's parameters come from one linear layer on the hidden state: 3K numbers for the K
    components' importance, width and step."""

    def __init__(self, hidden_size: int, components: int):
        super().__init__()
        self.components = components
        self.params = nn.Linear(hidden_size, 3 * components)  # W, b

    def step(self, hidden, kappa_prev, chars, mask=None):
        """hidden (B, H), kappa_prev (B, K), chars (B, U, C), mask (B, U) True at real characters.
        Returns the window w_t (B, C), φ(t, ·) (B, U) and κ_t (B, K)."""
        alpha_hat, beta_hat, kappa_hat = self.params(hidden).chunk(3, dim=-1)  # (B, K) each
        alpha, beta = alpha_hat.exp(), beta_hat.exp()
        kappa = kappa_prev + kappa_hat.exp()                                   # κ_t = κ_{t-1} + exp(κ̂_t)
        u = torch.arange(1, chars.shape[1] + 1, device=chars.device, dtype=hidden.dtype)  # (U,)
        exponent = -beta[:, :, None] * (kappa[:, :, None] - u) ** 2            # (B, K, U)
        if mask is not None:
            exponent = exponent.masked_fill(~mask[:, None, :], float("-inf"))  # padding: exp(-inf) = 0
        # φ(t, u) = Σ_k α^k_t exp(-β^k_t (κ^k_t - u)^2)
        phi = (alpha[:, :, None] * exponent.exp()).sum(1)                      # (B, U)
        window = torch.einsum("bu,buc->bc", phi, chars)                        # w_t = Σ_u φ(t, u) c_u
        return window, phi, kappa

    def forward(self, hiddens, chars, mask=None, kappa0=None):
        """hiddens (B, T, H), chars (B, U, C). Returns windows (B, T, C), φ (B, T, U), κ (B, T, K)."""
        B = hiddens.shape[0]
        kappa = kappa0 if kappa0 is not None else hiddens.new_zeros(B, self.components)  # κ_0 = 0
        windows, phis, kappas = [], [], []
        for hidden in hiddens.unbind(1):
            window, phi, kappa = self.step(hidden, kappa, chars, mask)
            windows.append(window), phis.append(phi), kappas.append(kappa)
        return torch.stack(windows, 1), torch.stack(phis, 1), torch.stack(kappas, 1)


def naive_window(window: GravesWindow, hiddens, chars, mask=None):
    """The equations one (b, t, u, k) at a time in Python floats: the slow reference."""
    W, b = window.params.weight.tolist(), window.params.bias.tolist()
    K = window.components
    B, T, _ = hiddens.shape
    U, C = chars.shape[1], chars.shape[2]
    h, c = hiddens.tolist(), chars.tolist()
    windows, phis, kappas = [], [], []
    for n in range(B):
        kappa = [0.0] * K
        for t in range(T):
            out = [sum(W[j][i] * h[n][t][i] for i in range(len(h[n][t]))) + b[j] for j in range(3 * K)]
            alpha = [math.exp(out[k]) for k in range(K)]
            beta = [math.exp(out[K + k]) for k in range(K)]
            kappa = [kappa[k] + math.exp(out[2 * K + k]) for k in range(K)]
            phi = [0.0 if mask is not None and not mask[n, u] else
                   sum(alpha[k] * math.exp(-beta[k] * (kappa[k] - (u + 1)) ** 2) for k in range(K))
                   for u in range(U)]
            windows.append([sum(phi[u] * c[n][u][j] for u in range(U)) for j in range(C)])
            phis.append(phi)
            kappas.append(list(kappa))
    shape = lambda rows: torch.tensor(rows, dtype=torch.float64).reshape(B, T, -1)
    return shape(windows), shape(phis), shape(kappas)


def demo(device: torch.device | str = "cpu", seed: int = 0) -> dict:
    """Slide a 3-component window along a 16-character text over 40 pen steps; check it against
    the loop and that κ never moves backwards. Returns φ (T, U) for plotting."""
    torch.manual_seed(seed)
    text = "attention atlas!"
    alphabet = sorted(set(text))
    chars = torch.eye(len(alphabet), device=device)[[alphabet.index(ch) for ch in text]][None]  # (1, U, C)
    T, K = 40, 3
    window = GravesWindow(hidden_size=8, components=K).to(device)
    with torch.no_grad():  # untrained, but biased to advance about U / T characters per step
        window.params.weight.mul_(0.3)
        window.params.bias.copy_(torch.tensor([0.0] * K + [math.log(0.6)] * K + [math.log(len(text) / T)] * K))
    hiddens = torch.randn(1, T, 8, device=device)
    windows, phi, kappa = window(hiddens, chars)
    ref_windows, ref_phi, ref_kappa = naive_window(window, hiddens, chars)
    error = max((a.double().cpu() - b).abs().max().item()
                for a, b in [(windows, ref_windows), (phi, ref_phi), (kappa, ref_kappa)])
    monotone = bool((kappa.diff(dim=1) > 0).all())
    peak = phi[0].argmax(-1).cpu()
    print(f"text: {text!r}  ({len(text)} characters, {T} pen steps, K = {K})")
    print("character under the window's peak, every 4th step:",
          " ".join(text[i] if text[i] != " " else "␣" for i in peak[::4].tolist()))
    print(f"κ_t never decreases: {monotone}; final κ = {[round(k, 2) for k in kappa[0, -1].tolist()]}")
    print(f"max |batched - loop| = {error:.2e} (tolerance 1e-5)")
    return {"phi": phi[0].detach().cpu(), "kappa": kappa[0].detach().cpu(), "text": text,
            "max_error": error, "monotone": monotone}


if __name__ == "__main__":
    from runnable._cli import device_from_args

    demo(device_from_args(__doc__.splitlines()[0]))
