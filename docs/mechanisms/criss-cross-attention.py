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
# # Criss-cross attention (CCNet)
#
# A [non-local block](../non-local-means/) lets every pixel of a feature map attend to every
# other: for $N = H \times W$ pixels that is $N^2$ scores, which for the large maps of semantic
# segmentation is a lot of memory. [CCNet](../../entries/2018-huang-ccnet-criss-cross-attention/)
# (Huang and colleagues) keeps the form and shrinks the set each pixel looks at to its own row
# and column, its *criss-cross path*.
#
# Query, key and value maps come from $1 \times 1$ convolutions of the input $x$, the query and
# key with fewer channels than the value. For a pixel $u$ with path $\Omega_u$,
#
# $$d_{u,p} = Q_u \cdot K_p, \qquad
#   A_{u,p} = \frac{\exp d_{u,p}}{\sum_{p' \in \Omega_u} \exp d_{u,p'}}, \qquad
#   \mathrm{out}_u = \gamma \sum_{p \in \Omega_u} A_{u,p} V_p + x_u , \qquad p \in \Omega_u ,$$
#
# with no $1/\sqrt{d}$ scale and a learned scalar $\gamma$ (here it starts at zero, so a new block
# is the identity). The path holds $H + W - 1$ pixels, not $H + W$: the row and the column cross
# at $u$, and $u$ must be counted once. The implementation computes the column scores and the row
# scores separately and sets the column's copy of $u$ to $-\infty$ before the joint softmax. Each
# pixel then costs $H + W - 1$ scores instead of $HW$.
#
# ## Two passes reach everything
#
# One pass connects only pixels that share a row or a column. The *recurrent* criss-cross module
# applies the same block again, with the same weights. In the second pass pixel $u = (i, j)$
# reads pixel $(i, j')$ on its row, which in the first pass read $(i', j')$ on its column, so
# information from any pixel $(i', j')$ reaches any $(i, j)$ in two steps. Two passes cost
# $2N(H + W - 1)$ scores, far fewer than $N^2$ for a large map, and every pixel still sees the
# whole image, though indirectly, through the pixels at the corners of the paths.
#
# ## Where it sits
#
# Criss-cross attention is [scaled dot-product attention](../scaled-dot-product-attention/)
# (without the scale) under a fixed sparse mask: the tests check it against full attention over
# all $N$ pixels with a boolean mask that allows only the pixel's row and column. It appeared
# alongside [dual attention](../dual-attention/), which keeps the full $N \times N$ position
# attention and adds a second, channel-wise branch. Restricting attention to image axes is one of
# the early ways of making spatial self-attention affordable.

# %% [markdown]
# ## Running it
#
# A random $9 \times 11$ feature map with 16 channels goes through a block with random
# convolutions and $\gamma = 1$. Left: where pixel $(3, 7)$ puts its attention in one pass. The
# other two panels are its *effective receptive field*: the size of the gradient of its output
# with respect to every input pixel, after one pass and after two, on a log scale (blank where
# it is exactly zero). After one pass the gradient is zero off the cross; after two it is
# nonzero everywhere, though much weaker off the cross, where it travels through two softmaxes.

# %%
from _setup import heatmap, show_figure
import runnable.criss_cross_attention as mechanism
import matplotlib.pyplot as plt
import numpy as np

result = mechanism.demo("cpu")
i, j = result["pixel"]
# the gradients span several orders of magnitude: show log10, and leave exact zeros blank
panels = [(result["weights"].numpy(), "weights $A_{u,p}$, one pass"),
          (np.ma.log10(np.ma.masked_equal(result["fields"][1].numpy(), 0)), "log$_{10}$ |gradient|, R = 1"),
          (np.ma.log10(np.ma.masked_equal(result["fields"][2].numpy(), 0)), "log$_{10}$ |gradient|, R = 2")]
figure, axes = plt.subplots(1, 3, figsize=(10, 2.8))
for axis, (image, title) in zip(axes, panels):
    shown = axis.imshow(image, cmap="viridis")
    axis.scatter([j], [i], marker="x", color="white", s=30)
    axis.set_title(title)
    figure.colorbar(shown, ax=axis, fraction=0.035)
plt.tight_layout()
show_figure("Three heatmaps over the image with one pixel marked: its criss-cross weights after one pass (its row and column), and the log gradient fields after one and two passes.")

# %% [markdown]
# ## How many pixels a pixel can hear from
#
# The same counts from the closed form, for a few map sizes: one pass reaches $H + W - 1$
# pixels, two reach all $HW$.

# %%
for H, W in [(9, 11), (16, 16), (20, 30)]:
    one, two = (mechanism.reachability(H, W, R).sum(1) for R in (1, 2))
    print(f"{H:>2} x {W:<2}: one pass reaches {one.min().item():>2} to {one.max().item():>2} pixels, "
          f"two passes {two.min().item():>3} to {two.max().item():>3} of {H * W}")

# %% [markdown]
# And the cost per pass, $N(H + W - 1)$ scores against full attention's $N^2$, for sizes closer to
# a segmentation network's feature maps:

# %%
for H, W in [(32, 32), (64, 128), (97, 97)]:
    N = H * W
    print(f"{H:>3} x {W:<3}: criss-cross {N * (H + W - 1):>11,} scores per pass, full attention {N * N:>13,} "
          f"({N / (H + W - 1):.0f} times more)")
