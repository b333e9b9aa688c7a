# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Graves's soft window (handwriting synthesis)
#
# To write a given text, Graves's synthesis network must know at every pen step which
# character it is drawing. It reads the text $c_1, \dots, c_U$ (one-hot vectors) through a
# *window*: a mixture of $K$ Gaussians over the character positions $u = 1, \dots, U$, whose
# parameters come from the first recurrent layer's output $h_t$,
#
# $$(\hat\alpha_t, \hat\beta_t, \hat\kappa_t) = W h_t + b, \qquad
#   \alpha_t = \exp \hat\alpha_t, \qquad \beta_t = \exp \hat\beta_t, \qquad
#   \kappa_t = \kappa_{t-1} + \exp \hat\kappa_t .$$
#
# $\alpha^k_t$ is the importance of component $k$, $\beta^k_t$ its precision (larger is
# narrower) and $\kappa^k_t$ its location. The window weights and the window vector are
#
# $$\phi(t, u) = \sum_{k=1}^{K} \alpha^k_t \exp\!\left(-\beta^k_t \left(\kappa^k_t - u\right)^2\right),
#   \qquad w_t = \sum_{u=1}^{U} \phi(t, u)\, c_u .$$
#
# Two choices make this an early, deliberately *monotone* attention. The location is
# predicted as an offset, and the offset is the exponential of something, so $\kappa_t$ can
# only move forward along the text. And $\phi$ is not normalised over $u$: the window can
# look at nothing at all, which is how the network can tell it has run past the last
# character. In the paper $w_t$, computed from the first layer's $h^1_t$, goes to the second
# and third recurrent layers at the same step $t$, and to the first layer at step $t + 1$, where
# it enters $h^1_{t+1}$ as the previous window vector. The module below is the window alone,
# taking the hidden states as given.

# %% [markdown]
# ## Running it
#
# An untrained window, biased to advance about $U/T$ characters per step, reads a
# 16-character text over 40 pen steps. The batched computation is checked against the
# equations written as a loop, and $\kappa_t$ is checked never to decrease.

# %%
from _setup import INK, plt, show_figure
import runnable.graves_window as mechanism
result = mechanism.demo("cpu")
phi, kappa, text = result["phi"].numpy(), result["kappa"].numpy(), result["text"]
figure, axis = plt.subplots(figsize=(7, 3.6))
image = axis.imshow(phi.T, aspect="auto", origin="lower", cmap="viridis", vmin=0)
for k in range(kappa.shape[1]):  # κ^k_t in the plot's coordinates: position u sits at row u - 1
    axis.plot(kappa[:, k] - 1, color="white", lw=0.8, ls="--", label=r"$\kappa^k_t$" if k == 0 else None)
axis.set_yticks(range(len(text)), [ch if ch != " " else "␣" for ch in text])
axis.set_ylim(-0.5, len(text) - 0.5)
axis.set_xlabel("pen step $t$")
axis.set_ylabel("character $u$")
axis.set_title(r"window weights $\phi(t, u)$")
axis.legend(loc="upper left", fontsize=8, labelcolor=INK, frameon=False)
figure.colorbar(image, ax=axis, fraction=0.046)
show_figure("Heatmap of the soft window weights phi(t, u) over characters u and pen steps t, with the window centres kappa drawn as dashed lines moving along the text.")
assert result["max_error"] < 1e-5 and result["monotone"]

# %% [markdown]
# ## One Gaussian
#
# With a single component the weights are a bump centred on $\kappa_t$, of height $\alpha_t$
# and width about $1/\sqrt{\beta_t}$ characters. A wide window blends neighbouring letters
# into $w_t$; a narrow one picks out one letter, or none when $\kappa_t$ falls between two.

# %%
import math
import torch

window = mechanism.GravesWindow(hidden_size=1, components=1)
chars = torch.eye(6)[None]  # six distinct characters, so w_t = φ(t, ·)
for beta in (0.3, 1.0, 4.0):
    with torch.no_grad():
        window.params.weight.zero_()
        window.params.bias.copy_(torch.tensor([0.0, math.log(beta), math.log(3.5)]))  # α = 1, κ_1 = 3.5
    w, _, _ = window(torch.zeros(1, 1, 1), chars)
    print(f"β = {beta:<4} φ(1, u) for u = 1..6:", "  ".join(f"{x:.3f}" for x in w[0, 0].tolist()))
