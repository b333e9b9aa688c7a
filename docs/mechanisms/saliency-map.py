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
# # Saliency map, winner-take-all and inhibition of return
#
# [Koch and Ullman](../../entries/1985-koch-ullman-saliency-map/) asked what circuitry could do
# the selecting in [feature-integration theory](../feature-integration/). Their answer has
# three parts. Each feature map signals how much each location differs from its surroundings.
# These signals are combined into one topographic **saliency map**. A **winner-take-all**
# network picks the most salient location, and then **inhibition of return** suppresses the
# winner so that the focus moves on to the next location.
# [Itti, Koch and Niebur](../../entries/1998-itti-koch-niebur-saliency/) turned this into an
# image-processing pipeline. This page runs a small version of it.
#
# ## Features and centre–surround contrast
#
# From the image's $r, g, b$: intensity $I = (r + g + b)/3$. Colour is first divided by $I$
# (where $I$ is above a tenth of its maximum), then turned into broadly tuned channels
# $R = r - (g + b)/2$, $G = g - (r + b)/2$, $B = b - (r + g)/2$,
# $Y = (r + g)/2 - |r - g|/2 - b$ (negatives set to zero), and the opponent pairs
# $RG = R - G$ and $BY = B - Y$. Orientation is the magnitude of the intensity filtered with
# four Gabor kernels (made with `conv2d`), $O_\theta = |I * \text{gabor}_\theta|$ for
# $\theta \in \{0°, 45°, 90°, 135°\}$.
#
# Each channel goes through a Gaussian pyramid. Level $\sigma + 1$ is level $\sigma$ blurred by a
# 5-tap binomial kernel whose taps are $2^\sigma$ pixels apart, so level $\sigma$ sees the image
# $2^\sigma$ times more coarsely. A *centre–surround* difference compares a fine level $c$ with a
# coarse level $s = c + \delta$:
#
# $$\mathcal F(c, s) = \big|P(c) - P(s)\big|, \qquad c \in \{2, 3\},\ \delta \in \{1, 2\},$$
#
# which is large where a location differs from its neighbourhood and zero on a uniform
# image. The paper subsamples its pyramid over nine levels and uses $c \in \{2,3,4\}$,
# $\delta \in \{3, 4\}$. Here the pyramid keeps full resolution (so the difference needs no
# interpolation), has six levels, and the maps are averaged over $4 \times 4$ blocks at the end.
#
# ## Normalisation, the map, the scan
#
# Summing raw maps would let channels with many responses drown a channel with one strong
# one. The normalisation $\mathcal N(\cdot)$ scales a map to $[0, 1]$, finds the mean
# $\bar m$ of its local maxima other than the global one, and multiplies the map by
# $(1 - \bar m)^2$. A map with one clear peak keeps it, and a map with many equal peaks is
# driven to zero. The normalised maps are summed per feature type into conspicuity maps, and
# these are averaged into the saliency map:
#
# $$S = \tfrac13\big(\mathcal N(\bar I) + \mathcal N(\bar C) + \mathcal N(\bar O)\big).$$
#
# Winner-take-all attends to $\hat x = \arg\max_x S(x)$. Inhibition of return then sets $S$ to
# zero on a disc around $\hat x$, and repeating these two steps gives a scanpath. In the paper
# the winner-take-all is a network of integrate-and-fire neurons and the inhibition wears off.
# Here the winner is an argmax and the inhibition is permanent.
#
# The image is synthetic and the finding is **qualitative**: a singleton that differs from its
# neighbours in one feature is found first, whichever feature it is. This page reproduces no
# numbers from the paper.

# %% [markdown]
# ## Running it
#
# A 6 × 6 field of green vertical bars holds two odd items, one red bar and one bar tilted by
# 45°. The scanpath is drawn over the image, with each fixation's inhibited disc shown as a
# circle.

# %%
from _setup import show_figure
import runnable.saliency_map as mechanism
import matplotlib.pyplot as plt
from matplotlib import patheffects

result = mechanism.demo("cpu")
scale, radius = 4, 3.0
figure, axes = plt.subplots(1, 2, figsize=(8, 3.8), layout="constrained")
axes[0].imshow(result["image"].permute(1, 2, 0).numpy())
points = [mechanism.to_pixels(cell) for cell in result["scanpath"]]
axes[0].plot([x for _, x in points], [y for y, _ in points], "-", color="white", lw=1)
for k, (y, x) in enumerate(points):
    axes[0].add_patch(plt.Circle((x, y), radius * scale, fill=False, color="yellow", lw=1))
    # Numbered beside each fixation, on the side facing into the image, so no number is cut off
    # at an edge; a dark outline keeps it legible on any colour.
    axes[0].annotate(str(k + 1), (x, y), xytext=(7 if x < 78 else -14, 7 if y > 18 else -12),
                     textcoords="offset points", annotation_clip=False, color="yellow", fontsize=9,
                     weight="bold", path_effects=[patheffects.withStroke(linewidth=2, foreground="black")])
axes[0].set_xlim(-0.5, 95.5), axes[0].set_ylim(95.5, -0.5)
axes[0].set_title("image and scanpath")
image = axes[1].imshow(result["saliency"].numpy(), cmap="viridis")
axes[1].set_title("saliency map $S$ (24 × 24)")
figure.colorbar(image, ax=axes[1], fraction=0.046)
show_figure("Left, the synthetic image with the scan path numbered in visiting order; right, the saliency map S.")
assert result["landed"][0] in result["odd"] and set(result["landed"][:2]) == set(result["odd"])

# %% [markdown]
# The conspicuity maps show where each odd item's salience comes from. After $\mathcal N$ the
# intensity map contributes little: every bar has the same intensity, so its many equal peaks
# cancel. The colour map has one peak at the red bar and the orientation map one at the tilted
# bar. After the two singletons, the scan moves to the corners and edges of the field, where
# the bars have fewer neighbours and so differ more from their surroundings.

# %%
figure, axes = plt.subplots(1, 3, figsize=(9, 2.8), layout="constrained")
for axis, name, m in zip(axes, ["intensity", "colour", "orientation"], result["conspicuity"]):
    axis.imshow(m.numpy(), cmap="viridis", vmin=0, vmax=float(result["conspicuity"].max()))
    axis.set_title(rf"$\mathcal{{N}}$({name}), peak {m.max():.2f}")
    axis.set_xticks([]), axis.set_yticks([])
show_figure("Row of heatmaps: the normalised conspicuity map of each feature channel, titled with its peak.")

# %% [markdown]
# ## Without the normalisation
#
# Replace $\mathcal N$ by plain scaling to $[0, 1]$ and sum the same maps. The many responses
# of the field now outweigh the singletons. The scan starts at the corners of the field, and
# the tilted bar is not among the first five fixations.

# %%
image, centres = mechanism.bars()
plain = lambda m: m / m.flatten(1).amax(-1)[:, None, None].clamp_min(1e-9)
for name, norm in [("with N(·)", mechanism.normalise), ("plain scaling", plain)]:
    path = mechanism.scanpath(mechanism.saliency(image, norm=norm)[0])
    items = [min(centres, key=lambda k: sum((a - b) ** 2 for a, b in zip(centres[k], mechanism.to_pixels(c))))
             for c in path]
    print(f"{name:>14}: bars fixated (grid row, column) {items}; odd items are {result['odd']}")

# %% [markdown]
# ## What machine attention took from it
#
# The saliency map is a weighting over locations computed from the input, and
# winner-take-all turns it into a hard choice of one location. The
# [hard attention of Show, Attend and Tell and the glimpses of recurrent visual attention](../visual-attention/)
# keep that hard choice, but learn where to look for a task instead of fixing salience by
# hand. The sequence of glimpses plays the part of the scanpath. Inhibition of return, which
# keeps the focus from going back, has a counterpart in the
# [soft window of handwriting synthesis](../graves-window/), whose position can only move
# forward along the text. The normalisation does a job that the softmax does in
# [scaled dot-product attention](../scaled-dot-product-attention/): both judge a response
# against its competitors rather than by its size alone, so one clear winner takes most of the
# weight and many equal ones share it. The main difference is that the weights here are
# bottom-up and the same for every task, while neural
# attention computes them from a query, as in [content-based addressing](../ntm-addressing/).
# The [top-down gating of attentional neural networks](../attentional-neural-network/) is one
# way of adding a task's bias to an input-driven map like this one.
