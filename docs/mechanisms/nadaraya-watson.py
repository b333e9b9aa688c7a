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
# # Nadaraya–Watson regression: attention with a fixed kernel
#
# In 1964 Nadaraya and Watson, separately, proposed estimating a regression function by
# averaging observed responses with weights that fall off with distance
# ([timeline entry](../../entries/1964-nadaraya-watson-kernel-regression/)). Given samples
# $(x_i, y_i)$ and a kernel $K_h$ of bandwidth $h$, the estimate at a point $x$ is
#
# $$\hat m(x) = \sum_i \frac{K_h(x - x_i)}{\sum_j K_h(x - x_j)}\, y_i .$$
#
# The weights are non-negative, sum to one and depend on where we ask. In the vocabulary of
# attention, $x$ is the **query**, the sample locations $x_i$ are the **keys**, the responses
# $y_i$ are the **values**, and the normalised kernel is the **attention distribution**.
# Nothing is learned except, if one likes, the bandwidth.
#
# ## The Gaussian kernel is a softmax
#
# With $K_h(u) = \exp(-\lVert u\rVert^2 / 2h^2)$ the weights are
# $\operatorname{softmax}_i\big(-\lVert x - x_i\rVert^2 / 2h^2\big)$. Expanding the square,
#
# $$-\frac{\lVert q - k\rVert^2}{2h^2} = \frac{q^\top k}{h^2} - \frac{\lVert k\rVert^2}{2h^2} - \frac{\lVert q\rVert^2}{2h^2},$$
#
# and the last term is the same for every key, so the softmax cancels it. Gaussian
# Nadaraya–Watson is therefore dot-product attention with scale $1/h^2$ (where the Transformer
# uses $1/\sqrt{d}$) and a fixed bias $-\lVert k\rVert^2/2h^2$ per key. The bandwidth plays the
# role of a temperature: as $h \to 0$ the softmax becomes an arg-max and the estimate is the
# nearest neighbour's value (hard attention); as $h \to \infty$ every weight becomes $1/n$ and the
# estimate is the mean of all values (uniform attention).
#
# Other kernels are not softmaxes. The Epanechnikov kernel $\max(0, 1 - \lVert u\rVert^2/h^2)$ and
# the box kernel $\mathbb 1[\lVert u\rVert \le h]$ give keys farther than $h$ exactly zero weight,
# a kind of sparse attention; a query with no key in reach gets $0/0$.

# %% [markdown]
# ## Running it
#
# Two hundred noisy samples of $\sin 2\pi x + \tfrac12 \sin 6\pi x$, regressed with five
# bandwidths. Too small an $h$ averages over almost nothing and follows the noise; too large an
# $h$ averages over everything and flattens the function. The error is lowest in between.

# %%
from _setup import heatmap, show_figure
import runnable.nadaraya_watson as mechanism
import matplotlib.pyplot as plt

result = mechanism.demo("cpu")
figure, axis = plt.subplots(figsize=(7, 3.4))
axis.scatter(result["x"][:, 0], result["y"][:, 0], s=6, color="#888888", alpha=0.6, label="samples")
axis.plot(result["grid"][:, 0], result["truth"][:, 0], "--", color="#888888", lw=1.2, label="true function")
for h in [0.003, 0.03, 0.3]:
    axis.plot(result["grid"][:, 0], result["curves"][h][:, 0], lw=1.6, label=f"h = {h} (RMSE {result['rmse'][h]:.2f})")
axis.set_xlabel("x")
axis.set_ylabel("y")
axis.legend(fontsize=7, loc="lower left")
show_figure("Scatter of noisy samples, the true function dashed, and the Nadaraya-Watson estimate for several bandwidths h with their errors in the legend.")

# %% [markdown]
# ## The attention weights of one query
#
# For the query $x = 0.5$, each sample's weight, at three bandwidths. The weights are a
# distribution over the samples, centred on the query and as wide as $h$.

# %%
import torch

query = torch.tensor([[0.5]], dtype=torch.float64)
figure, axis = plt.subplots(figsize=(7, 2.6))
order = result["x"][:, 0].argsort()
for h in [0.01, 0.03, 0.1]:
    w = mechanism.kernel_weights(query, result["x"], h)[0]
    axis.plot(result["x"][order, 0], w[order], marker=".", lw=0.8, label=f"h = {h}: max weight {w.max():.2f}")
    print(f"h = {h}: weights sum to {w.sum():.6f}; samples with weight > 1% of the total: {(w > 0.01).sum().item()}")
axis.set_xlabel("sample location $x_i$ (key)")
axis.set_ylabel("weight")
axis.legend(fontsize=7)
show_figure("Line chart of the weights one query gives the samples, by sample location, for several bandwidths h.")

# %% [markdown]
# ## The two limits
#
# At a tiny bandwidth the estimate is the value of the nearest sample; at a huge one it is
# the mean of all samples.

# %%
queries = torch.tensor([[0.1], [0.5], [0.9]], dtype=torch.float64)
nearest = result["y"][torch.cdist(queries, result["x"]).argmin(-1)][:, 0]
print("nearest-neighbour values:   ", [round(v, 4) for v in nearest.tolist()])
print("h = 1e-4 estimate:          ", [round(v, 4) for v in mechanism.nadaraya_watson(queries, result["x"], result["y"], 1e-4)[:, 0].tolist()])
print(f"mean of all values:          {result['y'].mean().item():.4f}")
print("h = 1e4 estimate:           ", [round(v, 4) for v in mechanism.nadaraya_watson(queries, result["x"], result["y"], 1e4)[:, 0].tolist()])

# %% [markdown]
# ## Where it leads
#
# Replace the fixed distance by a learned similarity between projected queries and keys and
# this becomes [scaled dot-product attention](../scaled-dot-product-attention/). The
# [bilateral filter](../bilateral-filter/) and [non-local means](../non-local-means/) are
# Nadaraya–Watson estimators over the pixels of an image, with keys that include the pixel
# values themselves. [Linear attention](../linear-attention/) keeps the normalised weighted
# average but uses a kernel that factorises, $\phi(q)^\top \phi(k)$, so the sums can be shared by
# all queries.
