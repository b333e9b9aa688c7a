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
# # Rotary position embedding (RoPE)
#
# The [sinusoidal encoding](../transformer-block/) adds a position code to each input, once, at
# the bottom of the stack. Su and colleagues instead put position into every attention layer,
# where the query meets the key, by *rotating* the two. Cut a query or key vector $x$ at
# position $m$ into $d/2$ pairs of coordinates and turn pair $i$ by the angle $m\theta_i$:
#
# $$\begin{pmatrix} x_{2i} \\ x_{2i+1} \end{pmatrix} \mapsto
#   \begin{pmatrix} \cos m\theta_i & -\sin m\theta_i \\ \sin m\theta_i & \cos m\theta_i \end{pmatrix}
#   \begin{pmatrix} x_{2i} \\ x_{2i+1} \end{pmatrix},
#   \qquad \theta_i = 10000^{-2i/d},$$
#
# the same frequencies as the sinusoids. Read each pair as a complex number
# $z_i = x_{2i} + \mathrm{i}\,x_{2i+1}$ and the rotation is the product $z_i\,e^{\mathrm{i} m\theta_i}$;
# the tests use exactly that, PyTorch's complex multiplication, as the independent reference.
#
# ## Absolute rotation, relative score
#
# Write $R_m$ for the block-diagonal matrix of all $d/2$ rotations. Rotations are orthogonal
# and compose by adding angles, $R_m^\top R_n = R_{n-m}$, so the attention score of a query at
# $m$ and a key at $n$ is
#
# $$(R_m q)^\top (R_n k) = q^\top R_m^\top R_n\, k = q^\top R_{n-m}\, k .$$
#
# Each vector is rotated by its own absolute position, yet the score sees only the offset
# $n - m$: move both tokens 1000 positions on and nothing changes. Rotations also keep
# lengths, so RoPE changes no norm. Only queries and keys are rotated, never the values. The
# paper also argues that the scores tend to decay as the distance grows; the last figure shows
# this in the simplest case, $q = k = (1, \dots, 1)$.
#
# Implementations differ in which coordinates form a pair: this one follows the paper's
# $(x_{2i}, x_{2i+1})$; some later code pairs coordinate $i$ with $i + d/2$. The two are the
# same rotation on permuted coordinates, but weights trained with one do not work with the other.

# %% [markdown]
# ## Running it
#
# One random query and one random key, placed at every pair of positions $0 \dots 15$. The
# score matrix is constant along each diagonal $n - m = \text{const}$: it depends on the offset
# alone. Shifting both positions by 1000 changes nothing (up to float64 rounding).

# %%
from _setup import heatmap, show_figure
import runnable.rotary_embeddings as mechanism
import matplotlib.pyplot as plt

result = mechanism.demo("cpu")
assert result["error_shift"] < 1e-10
limit = float(result["scores"].abs().max())
figure, axes = plt.subplots(1, 2, figsize=(10, 3.6))
image = axes[0].imshow(result["scores"].numpy(), cmap="RdBu", vmin=-limit, vmax=limit)
axes[0].set_xlabel("key position $n$")
axes[0].set_ylabel("query position $m$")
axes[0].set_title(r"$(R_m q)^\top (R_n k)$")
figure.colorbar(image, ax=axes[0])
axes[1].plot(result["offsets"].numpy(), result["by_offset"].numpy(), "o-")
axes[1].set_xlabel("offset $n - m$")
axes[1].set_title(r"$q^\top R_{n-m}\, k$: one value per diagonal")
show_figure("Left, heatmap of rotary attention scores by query and key position, constant along each diagonal; right, the score as a function of the offset n - m.")

# %% [markdown]
# ## Decay with distance
#
# For $q = k = (1, \dots, 1)$ the score at offset $r$ is $\sum_i 2\cos(r\theta_i)$. It
# oscillates, but its size shrinks as $r$ grows, because the many frequencies fall out of step.

# %%
figure, axis = plt.subplots(figsize=(6, 3))
axis.plot(result["decay"].numpy(), linewidth=0.8)
axis.set_xscale("symlog", linthresh=8)
axis.set_xlabel("relative distance $r$")
axis.set_ylabel("score")
axis.set_title("q = k = all ones, d = 64")
show_figure("Line chart of the rotary score of all-ones vectors against relative distance r, decaying with oscillations.")

# %% [markdown]
# ## Norms are kept, and a position-0 vector is unchanged

# %%
import torch

x = torch.randn(3, 8, dtype=torch.float64)
rotated = mechanism.apply_rotary(x, torch.tensor([0, 5, 5000]))
print("norms before:", [round(v, 6) for v in x.norm(dim=-1).tolist()])
print("norms after: ", [round(v, 6) for v in rotated.norm(dim=-1).tolist()])
print("position 0 unchanged:", torch.equal(rotated[0], x[0]))
