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
# # The bilateral filter: attention over neighbouring pixels
#
# A Gaussian blur removes noise by averaging each pixel with its neighbours, and it blurs edges
# for the same reason: a pixel next to an edge averages in pixels from the other side.
# [Tomasi and Manduchi (1998)](../../entries/1998-tomasi-manduchi-bilateral-filter/) weight each
# neighbour by two things, how close it is and how similar its value is:
#
# $$h(x) = \frac{\sum_\xi c(\xi, x)\, s\big(f(\xi), f(x)\big)\, f(\xi)}{\sum_\xi c(\xi, x)\, s\big(f(\xi), f(x)\big)},
#   \qquad c = e^{-\lVert \xi - x\rVert^2 / 2\sigma_d^2}, \quad s = e^{-\lVert f(\xi) - f(x)\rVert^2 / 2\sigma_r^2}.$$
#
# Here $f$ is the image, $x$ the pixel being filtered and $\xi$ runs over a window around it.
# A neighbour across an edge is close in space but far in value, so $s$ gives it almost no
# weight and the edge survives.
#
# ## Read as attention
#
# A product of exponentials is the exponential of a sum, and dividing by the total is a softmax:
#
# $$h(x) = \sum_\xi \operatorname{softmax}_\xi\!\Big(-\frac{\lVert \xi - x\rVert^2}{2\sigma_d^2}
#   - \frac{\lVert f(\xi) - f(x)\rVert^2}{2\sigma_r^2}\Big)\, f(\xi).$$
#
# The pixel $x$ is the query, each neighbour is a key described by its position *and* its
# value, and the values being averaged are the neighbours' values again. This is
# [Nadaraya–Watson regression](../nadaraya-watson/) with the feature vector
# $(\xi/\sigma_d,\ f(\xi)/\sigma_r)$ and a Gaussian kernel of bandwidth 1, restricted to a
# window. Setting $\sigma_r = \infty$ drops the value term and gives back the Gaussian blur;
# the paper also uses the CIE-Lab colour space for colour images, which this module does not.

# %% [markdown]
# ## Running it
#
# A 32×32 test card of three grey levels with Gaussian noise ($\sigma = 0.1$), filtered in
# 7×7 windows with $\sigma_d = 2$. The blur trades noise for smeared edges and gains little;
# the bilateral filter flattens the noise inside each region and keeps the edges.

# %%
from _setup import heatmap, show_figure
import runnable.bilateral_filter as mechanism
import matplotlib.pyplot as plt

result = mechanism.demo("cpu")
figure, axes = plt.subplots(1, 4, figsize=(9, 2.6))
for axis, name in zip(axes, ["clean", "noisy", "blur", "bilateral"]):
    axis.imshow(result[name], cmap="gray", vmin=0, vmax=1)
    axis.set_title(name if name == "clean" else f"{name}: {result['psnr'][name]:.1f} dB")
    axis.axis("off")
show_figure("Row of grey images: the clean image, the noisy image and the filtered results, each titled with its PSNR in dB.")

# %% [markdown]
# ## One pixel's attention
#
# The weights of the pixel at row 15, column 10, on the bottom row of the bright square. The
# three rows below it are as close in space as the three rows above, but they belong to the
# darker background, and they get almost nothing.

# %%
weights = result["pixel_weights"]
print(f"weight on the square's rows (own row and above): {weights[:4].sum():.3f}; "
      f"on the three rows below: {weights[4:].sum():.3f}")
heatmap(weights.numpy(), xlabels=range(-3, 4), ylabels=range(-3, 4), xlabel="column offset",
        ylabel="row offset", title="weights of pixel (15, 10)",
        alt="Heatmap of the bilateral filter's weights in the 7 by 7 window around pixel (15, 10), by row and column offset.")

# %% [markdown]
# ## The range bandwidth
#
# $\sigma_r$ sets how different a value may be and still count. Too small and the filter
# averages over almost nothing (noise differences already exceed it); too large and it turns
# into the blur.

# %%
clean, noisy = mechanism.piecewise_constant_image(32, 0.1)
for sigma_r in [0.02, 0.05, 0.1, 0.15, 0.3, 1.0, float("inf")]:
    out = mechanism.bilateral_filter(noisy, 3, 2.0, sigma_r)
    print(f"σ_r = {sigma_r:<5}: PSNR {mechanism.psnr(out, clean):5.2f} dB")

# %% [markdown]
# ## Where it leads
#
# [Non-local means](../non-local-means/) compares whole patches instead of single values and
# searches the whole image instead of a window; the non-local block on the same page turns the
# comparison into learned projections. With learned projections and a dot product the weights
# become those of [scaled dot-product attention](../scaled-dot-product-attention/), which in
# vision transformers attend over image patches.
