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
# # DRAW's read and write attention
#
# [DRAW](../../entries/2015-gregor-draw/) draws an image over many steps, and at each step it
# both looks at part of the image and paints onto part of a canvas. Where it looks and paints
# is set by a grid of $N \times N$ Gaussian filters. From its decoder state $h$ a linear layer
# emits five numbers, which become the grid's centre $(g_X, g_Y)$, the stride $\delta$ between
# neighbouring filters, one variance $\sigma^2$ shared by all filters, and an intensity
# $\gamma$. For an image of $B$ rows and $A$ columns,
#
# $$(\tilde g_X, \tilde g_Y, \log\sigma^2, \log\tilde\delta, \log\gamma) = W h + b, \qquad
#   g_X = \tfrac{A+1}{2}(\tilde g_X + 1), \quad g_Y = \tfrac{B+1}{2}(\tilde g_Y + 1), \quad
#   \delta = \tfrac{\max(A, B) - 1}{N - 1}\,\tilde\delta .$$
#
# The scaling is chosen so that the raw outputs are of order one: $\tilde g = 0$ is the
# image centre and $\tilde\delta = 1$ stretches the grid across the whole image. Filter $i$ of
# the grid sits at
#
# $$\mu_X^i = g_X + (i - N/2 - 0.5)\,\delta, \qquad \mu_Y^j = g_Y + (j - N/2 - 0.5)\,\delta ,$$
#
# and the filters are collected into two matrices, one row per filter, each row a Gaussian
# over the pixels normalised to sum to one:
#
# $$F_X[i, a] = \frac{1}{Z_X} \exp\!\Big(-\frac{(a - \mu_X^i)^2}{2\sigma^2}\Big), \qquad
#   F_Y[j, b] = \frac{1}{Z_Y} \exp\!\Big(-\frac{(b - \mu_Y^j)^2}{2\sigma^2}\Big).$$
#
# Because the 2-D filters are products of a row filter and a column filter, reading is two
# small matrix products, and writing uses the same matrices transposed:
#
# $$\mathrm{read}(x) = \gamma\, F_Y\, x\, F_X^\top \quad (N \times N), \qquad
#   \mathrm{write}(w) = \frac{1}{\gamma}\, F_Y^\top\, w\, F_X \quad (B \times A).$$
#
# Setting the $\gamma$ factors aside, writing is exactly the transpose of reading:
# $\langle \mathrm{read}(x), w \rangle = \gamma^2 \langle x, \mathrm{write}(w) \rangle$. A wide
# stride with a wide variance gives a coarse view of a large region; a stride of one pixel with
# a small variance gives a sharp crop. In DRAW the read head looks at both the image and the
# error image (image minus current canvas) and concatenates the two glimpses; the write head
# has its own filter parameters and emits the patch $w$ from the state with another linear
# layer.
#
# ## Where it sits
#
# Each axis is a one-dimensional version of [Graves's soft window](../graves-window/), a
# Gaussian placed on the input by the network itself, carried to two dimensions and
# arranged in a grid. Like [Mnih et al.'s glimpses](../visual-attention/) it looks where the
# network chooses, but it also chooses the scale, and every step is differentiable, so where
# to look is learned by backpropagation rather than by reinforcement learning. Its soft reads and writes at chosen
# places recall the [Neural Turing Machine](../ntm-addressing/), which the DRAW paper also
# compares itself to.

# %% [markdown]
# ## Running it
#
# A synthetic $24 \times 32$ image holds a disc and a patch of vertical stripes four pixels
# apart. Three $12 \times 12$ glimpses are read with $\sigma = \delta/2$: one over the whole
# image, and two zooming onto the stripes. Each is checked against the equations written as
# loops. The dots mark the filter centres $(\mu_X^i, \mu_Y^j)$; at full view the grid uses the
# longer side for its stride, so along the shorter side some filters lie beyond the image,
# and their normalised Gaussians pile onto the nearest edge pixels.

# %%
from _setup import INK, plt, show_figure
import runnable.draw_attention as mechanism
result = mechanism.demo("cpu")
figure, axes = plt.subplots(1, 4, figsize=(11, 2.8), gridspec_kw={"width_ratios": [1.6, 1, 1, 1]})
axes[0].imshow(result["image"].numpy(), cmap="gray", extent=(0.5, 32.5, 24.5, 0.5))
for (mu_x, mu_y), colour in zip(result["centres"], ["tab:orange", "tab:green", "tab:red"]):
    grid_x, grid_y = mu_x[None, :].expand(12, 12), mu_y[:, None].expand(12, 12)
    axes[0].scatter(grid_x.flatten(), grid_y.flatten(), s=3, color=colour)
axes[0].set_xlim(-4, 34)
axes[0].set_ylim(29, -4)
axes[0].set_title("image and filter centres")
for axis, glimpse, name in zip(axes[1:], result["glimpses"], result["names"]):
    axis.imshow(glimpse.numpy(), cmap="gray", vmin=0, vmax=1)
    axis.set_title(f"{name}\nspread on stripes {result['contrast'][name]:.2f}")
for axis in axes:
    axis.set_xticks([])
    axis.set_yticks([])
show_figure("Left, the synthetic image with the filter centres of three glimpses drawn as dots; right, the three 12 by 12 glimpses, each titled with its spread on the stripes.")
assert result["max_error"] < 1e-5

# %% [markdown]
# The full view blurs the stripes to grey: its filters are $\sigma \approx 1.4$ pixels wide
# and sample every 2.8 pixels, coarser than the stripes. The middle view half-resolves them,
# and the pixel-scale view is close to a crop of the image.
#
# ## Writing back
#
# Writing a glimpse back with the same filters is the transpose, not the inverse: the
# patch is spread over the region the grid covered, blurred by the filters once more. With
# $\gamma = 1$ the total mass is preserved, since every filter row sums to one.

# %%
import math

import torch

image = result["image"]
figure, axes = plt.subplots(1, 3, figsize=(9, 2.4))
for axis, (name, (g_x, g_y, delta)) in zip(axes, {"whole image": (16.5, 12.5, 31 / 11),
                                                  "closer": (24.5, 17.5, 1.6),
                                                  "pixel scale": (24.5, 17.5, 1.0)}.items()):
    raw = [torch.tensor(v) for v in (2 * g_x / 33 - 1, 2 * g_y / 25 - 1, 2 * math.log(delta / 2),
                                     math.log(delta * 11 / 31))]
    F_x, F_y = mechanism.filterbank(*raw, 12, 32, 24)
    glimpse = mechanism.read(image, F_x, F_y)
    canvas = mechanism.write(glimpse, F_x, F_y)
    axis.imshow(canvas.numpy(), cmap="gray")
    axis.set_title(name)
    axis.set_xticks([])
    axis.set_yticks([])
    print(f"{name:>11}: glimpse sum {glimpse.sum().item():7.2f}, written canvas sum {canvas.sum().item():7.2f}")
figure.suptitle("write(read(image)) with the same filters", color=INK)
show_figure("Row of grey images: each glimpse written back onto the canvas with the same filters that read it.")
