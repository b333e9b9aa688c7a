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
# # Performer: softmax attention from positive random features
#
# Softmax attention weighs value $v_j$ for query $q_i$ by $\exp(q_i^\top k_j)$ (with the
# $1/\sqrt d$ of [scaled dot-product attention](../scaled-dot-product-attention/) folded into
# $q$ and $k$ as a factor $d^{-1/4}$ each) and normalises:
#
# $$o_i = \frac{\sum_j \exp(q_i^\top k_j)\, v_j}{\sum_j \exp(q_i^\top k_j)} .$$
#
# Every query meets every key, so the cost is $O(L^2 d)$. [Linear attention](../linear-attention/)
# replaces $\exp(q^\top k)$ by a product $\phi(q)^\top \phi(k)$ of feature vectors; then the sums
# over $j$ can be taken once, $\sum_j \phi(k_j) v_j^\top$ and $\sum_j \phi(k_j)$, and every query
# reuses them, for $O(L m d)$ with $m$ features. Choromanski and colleagues
# ([Performer](../../entries/2020-choromanski-performer/)) asked for features whose product
# *estimates the softmax kernel itself*, so that the model keeps computing (approximately)
# softmax attention.
#
# ## Positive random features
#
# For $w \sim \mathcal N(0, I_d)$, $\mathbb E[e^{w^\top s}] = e^{\|s\|^2/2}$. Put $s = x + y$ and
# rearrange:
#
# $$\exp(x^\top y) = \mathbb E_w\Big[e^{w^\top x - \|x\|^2/2}\; e^{w^\top y - \|y\|^2/2}\Big].$$
#
# Averaging over $m$ draws $w_1, \dots, w_m$ (the rows of $W$) gives the FAVOR+ features
#
# $$\phi(x) = \frac{1}{\sqrt m}\, \exp\big(W x - \|x\|^2/2\big) \in \mathbb R^m_{>0},
#   \qquad \phi(x)^\top \phi(y) \approx \exp(x^\top y),$$
#
# an unbiased estimate that is always positive. The classical alternative, sine and cosine
# features of the Gaussian kernel, is unbiased too but takes either sign, so for small
# attention weights the estimated normaliser can come out near zero or negative.
#
# The paper also draws the $w$'s in blocks of exactly orthogonal directions (each with the
# length of a Gaussian vector, so every $w$ is still $\mathcal N(0, I)$ and the estimate stays
# unbiased), which lowers the variance. Causal attention keeps running (prefix) sums of
# $\phi(k_j) v_j^\top$ and $\phi(k_j)$ over $j \le i$.
#
# ## How many features?
#
# One feature $Z = e^{w^\top(x+y) - \|x\|^2/2 - \|y\|^2/2}$ has $\mathbb E[Z^2] = e^{2\|x+y\|^2 - \|x\|^2 - \|y\|^2}$,
# so its relative variance is $e^{\|x + y\|^2} - 1$ and with $m$ independent features
#
# $$\frac{\operatorname{Var}\big[\phi(x)^\top \phi(y)\big]}{\exp(x^\top y)^2} = \frac{e^{\|x+y\|^2} - 1}{m}.$$
#
# The error shrinks like $1/\sqrt m$, but from a level that grows exponentially with the norms
# of queries and keys. The demo shows both sides of that.
#
# Other routes to linear cost: [Linformer](../linformer/) projects the sequence to a fixed
# length, [Reformer](../reformer-lsh/) hashes similar vectors together; [FlashAttention](../flash-attention/)
# keeps exact attention and changes only how it is computed.

# %% [markdown]
# ## Running it
#
# First 5000 independent estimates of $\exp(x^\top y)$ for one pair ($d = m = 16$), whose
# mean and variance can be checked against the closed forms above. Then Performer against
# exact softmax attention (torch's `scaled_dot_product_attention`) as $m$ grows, for queries
# and keys with entries of standard deviation $\sigma = 0.5$ and $\sigma = 1$. The dotted lines
# are the error of ignoring the queries altogether (uniform weights): an estimate is only
# useful below its line.

# %%
from _setup import heatmap, show_figure
import runnable.performer as mechanism
import matplotlib.pyplot as plt

result = mechanism.demo("cpu")
figure, axis = plt.subplots(figsize=(5, 3.2))
for sigma, errors in result["errors"].items():
    line, = axis.loglog(result["features"], errors, "o-", label=f"Performer, $\\sigma = {sigma}$")
    axis.axhline(result["uniform_baseline"][sigma], color=line.get_color(), linestyle=":")
m = result["features"]
axis.loglog(m, [result["errors"][0.5][0] * (m[0] / n) ** 0.5 for n in m], color="grey", linestyle="--",
            label=r"$\propto 1/\sqrt{m}$")
axis.set_xlabel("number of random features $m$")
axis.set_ylabel("mean |error| vs softmax attention")
axis.legend()
show_figure("Log-log chart of the mean absolute error against softmax attention as the number of random features m grows, for several input scales sigma, with a 1 over square root of m guide.")

# %% [markdown]
# With $\sigma = 0.5$ the error follows $1/\sqrt m$ and ends far below the uniform baseline.
# With $\sigma = 1$ ($\|q + k\|^2$ about four times larger after the $d^{-1/4}$ scaling) even
# 4096 features barely beat ignoring the queries: the variance formula at work.
#
# ## Positive against sine/cosine features
#
# Two vectors of length 1.5 at 150°: the kernel $\exp(x^\top y) \approx 0.14$ is small, as most
# attention weights are. Both estimators are unbiased, but the trigonometric one is often negative.

# %%
import math

import torch

torch.manual_seed(0)
x, y = torch.randn(2, 12, dtype=torch.float64).unbind()
y = y - (y @ x) / (x @ x) * x                                  # orthogonal to x
x, y = 1.5 * x / x.norm(), 1.5 * y / y.norm()
y = math.cos(math.radians(150)) * x + math.sin(math.radians(150)) * y
W = mechanism.random_projection(2000 * 12, 12, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
W = W.reshape(2000, 12, 12)                                    # 2000 independent draws, m = 12
print(f"exp(xᵀy) = {math.exp(x @ y):.4f}")
samples = {}
for features in (mechanism.favor_features, mechanism.trig_features):
    phi = features(torch.stack([x, y]), W)
    samples[features.__name__] = (phi[:, 0] * phi[:, 1]).sum(-1)
    s = samples[features.__name__]
    print(f"{features.__name__:>15}: mean {s.mean():.4f} ± {s.std() / 2000 ** 0.5:.4f}, "
          f"negative in {(s < 0).float().mean():.0%} of draws")
figure, axis = plt.subplots(figsize=(5, 2.8))
for name, s in samples.items():
    axis.hist(s.numpy(), bins=90, range=(-3, 3), alpha=0.6, label=name)
axis.axvline(math.exp(x @ y), color="grey", linestyle="--")
axis.set_xlabel(r"estimate of $\exp(x^\top y)$ (m = 12)")
axis.set_yscale("log")
axis.set_ylabel("draws (of 2000)")
axis.legend()
show_figure("Histograms on a log scale of 2000 estimates of exp(x.y) with 12 features, one per feature map, with the true value dashed.")
