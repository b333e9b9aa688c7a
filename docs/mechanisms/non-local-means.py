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
# # Non-local means and the non-local block
#
# The [bilateral filter](../bilateral-filter/) averages a pixel with neighbours of similar
# value. A single noisy value is a poor witness, though, and the neighbours are only the pixels
# nearby. [Non-local means](../../entries/2005-buades-non-local-means/) (Buades, Coll and Morel,
# 2005) changes both: it compares the whole *patch* around a pixel with the patch around every
# other pixel, anywhere in the image,
#
# $$NL[v](i) = \sum_j w(i,j)\, v(j), \qquad
#   w(i,j) = \frac{1}{Z(i)} \exp\!\Big(-\frac{\lVert v(\mathcal N_i) - v(\mathcal N_j)\rVert^2_{2,a}}{h^2}\Big),$$
#
# where $v(\mathcal N_i)$ is the patch of grey values around pixel $i$, the distance is weighted
# by a Gaussian of width $a$ over the patch, $h$ sets how fast the weights fall and $Z(i)$ makes
# them sum to one. Repeated structure helps wherever it is: a pixel in a textured region or on an
# edge finds many patches like its own, near or far.
#
# ## Read as attention
#
# $w(i, \cdot)$ is a softmax over negative squared patch distances, with $h^2$ as a temperature.
# The query is the patch at $i$, the keys are the patches at every $j$, and the values are the
# centre pixels $v(j)$. Expanding the square, as for [Nadaraya–Watson](../nadaraya-watson/),
# turns it into dot-product attention on patch vectors with scale $2/h^2$ and a per-key bias;
# the tests check it that way against `scaled_dot_product_attention`. In this module the patch
# weights are normalised to sum to one, so $h$ is on the scale of one pixel's difference, and
# patches are reflected at the image border.
#
# ## The non-local block
#
# [Wang, Girshick, Gupta and He](../../entries/2017-wang-non-local-neural-networks/) made the
# operation a layer of a neural network. For a feature map $x$ (an image, a sequence or a video),
#
# $$y_i = \frac{1}{\mathcal C(x)} \sum_j f(x_i, x_j)\, g(x_j), \qquad z_i = W_z\, y_i + x_i ,$$
#
# and in their *embedded Gaussian* version $f(x_i, x_j) = e^{\theta(x_i)^\top \phi(x_j)}$ with
# learned linear maps $\theta$, $\phi$, $g$ (1×1 convolutions) and $\mathcal C(x) = \sum_j f$.
# The weights are then $\operatorname{softmax}_j\big(\theta(x_i)^\top\phi(x_j)\big)$: self-attention
# over all positions, without the $1/\sqrt d$ scale, plus a residual connection. The authors say
# as much: the Transformer's self-attention is this special case. The learned maps replace the
# hand-made patch comparison, and $W_z$ with the residual lets the block be dropped into an
# existing network. The paper also puts batch normalisation after $W_z$, started at zero so that
# the new block begins as the identity; this module leaves it out.

# %% [markdown]
# ## Running it
#
# The same noisy test card as on the bilateral-filter page, restored with 5×5 patches compared
# over the whole image. The bilateral filter's result is shown beside it for comparison.

# %%
from _setup import heatmap, show_figure
import runnable.non_local_means as mechanism
import matplotlib.pyplot as plt
from runnable.bilateral_filter import bilateral_filter, psnr

result = mechanism.demo("cpu")
noisy = result["noisy"][None, None]
bilateral = bilateral_filter(noisy, 3, 2.0, 0.15)[0, 0]
panels = [("clean", result["clean"]), (f"noisy: {result['psnr']['noisy']:.1f} dB", result["noisy"]),
          (f"bilateral: {psnr(bilateral, result['clean']):.1f} dB", bilateral),
          (f"non-local means: {result['psnr']['denoised']:.1f} dB", result["denoised"])]
figure, axes = plt.subplots(1, 4, figsize=(9.5, 2.7))
for axis, (title, img) in zip(axes, panels):
    axis.imshow(img, cmap="gray", vmin=0, vmax=1)
    axis.set_title(title)
    axis.axis("off")
show_figure("Four grey images: clean, noisy, bilateral-filtered and non-local-means denoised, each titled with its PSNR in dB.")

# %% [markdown]
# ## One pixel's attention over the whole image
#
# The weights of pixel (8, 8), inside the bright square (marked in red). They cover the
# square's interior, near the pixel and far from it, and almost nothing else: the patches
# elsewhere look different. The largest single weight is the pixel's own, whose patch is at
# distance zero.

# %%
weights, clean = result["pixel_weights"], result["clean"]
print(f"weight on the bright square: {weights[clean == 0.8].sum():.4f}; largest weight {weights.max():.3f} "
      f"(its own); pixels with more than 1%: {(weights > 0.01).sum().item()}")
figure, axis = plt.subplots(figsize=(3.6, 3.2))
image = axis.imshow(weights, cmap="viridis")
axis.scatter([8], [8], marker="s", s=30, facecolors="none", edgecolors="red")
axis.set_title("w((8, 8), j)")
figure.colorbar(image, ax=axis, fraction=0.046)
show_figure("Heatmap of the non-local means weights of pixel (8, 8), marked with a square, over the whole image.")

# %% [markdown]
# ## A search window
#
# In practice the sum often runs over a search window around the pixel, which costs less.
# On this small image, made of a few large flat regions, every pixel has more look-alike patches
# the farther it may look, so the restoration improves with the window; the full search is
# attention over all $32^2$ pixels at once.

# %%
for radius in [2, 5, 10, None]:
    out = mechanism.non_local_means(noisy.double(), 0.1, 2, 1.5, search_radius=radius)
    print(f"search radius {str(radius) if radius else 'whole image':>11}: PSNR {psnr(out[0, 0], result['clean']):5.2f} dB")

# %% [markdown]
# ## The non-local block as self-attention
#
# An untrained block on a feature map of 8 channels and 5×6 positions: its output has the
# input's shape, it agrees with `scaled_dot_product_attention` (scale 1) plus the residual, and
# each position's weights form a distribution over all 30 positions.

# %%
import torch

torch.manual_seed(0)
block = mechanism.NonLocalBlock(8)
x = torch.randn(1, 8, 5, 6)
with torch.no_grad():
    w, _ = block.attention(x)
    print(f"input {tuple(x.shape)} → output {tuple(block(x).shape)}; weights {tuple(w.shape)}, "
          f"row sums between {w.sum(-1).min():.6f} and {w.sum(-1).max():.6f}")

# %% [markdown]
# ## Where it leads
#
# The non-local block is the bridge from these filters to attention in vision: replace the
# patch distance by learned projections and a dot product and you have
# [scaled dot-product attention](../scaled-dot-product-attention/), usually run as
# [several heads](../multi-head-attention/). Attending over all pixels costs time and memory
# quadratic in their number, which is what [FlashAttention](../flash-attention/) (exact, less
# memory traffic) and [linear attention](../linear-attention/) (an approximation that is linear
# in length) address.
