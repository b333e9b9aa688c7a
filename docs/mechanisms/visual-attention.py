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
# # Visual attention: soft, hard and glimpses
#
# **Show, Attend and Tell** (Xu et al.) generates a caption while looking at different parts of
# the image. A convolutional encoder turns the image into $L$ annotation vectors $a_i$, one per
# cell of a feature grid. At word $t$ the decoder scores every cell against its previous state
# $h_{t-1}$ with a small network $f_{att}$ and normalises the scores:
#
# $$e_{ti} = f_{att}(a_i, h_{t-1}), \qquad \alpha_{ti} = \frac{\exp e_{ti}}{\sum_{k=1}^{L} \exp e_{tk}}.$$
#
# The weights $\alpha_t$ are a distribution over locations, used in two ways. *Hard* attention
# samples one location and reads only that cell,
#
# $$s_t \sim \operatorname{Multinoulli}_L(\{\alpha_{ti}\}), \qquad \hat z_t = \sum_i s_{ti}\, a_i = a_{s_t},$$
#
# and is trained with a sampling (REINFORCE-style) gradient estimate. *Soft* attention reads
# the expected context instead, which is differentiable:
#
# $$\hat z_t = \mathbb{E}_{p(s_t \mid a)}[\hat z_t] = \sum_{i=1}^{L} \alpha_{ti}\, a_i .$$
#
# So the soft context is the mean of the hard ones, which the demo checks by Monte Carlo.
# The paper only says $f_{att}$ is a multilayer perceptron; the module uses the additive form
# $w^\top \tanh(W_a a_i + W_h h_{t-1} + b)$.
#
# The paper's soft model adds two things ("doubly stochastic attention", section 4.2.1). A gating
# scalar predicted from the previous state scales the context (the authors report that it made the
# attention weights put more emphasis on the objects in the image):
#
# $$\beta_t = \sigma\big(f_\beta(h_{t-1})\big), \qquad \phi(\{a_i\}, \{\alpha_{ti}\}) = \beta_t \sum_i \alpha_{ti}\, a_i ,$$
#
# (`SoftAttention(gated=True)`, the default). And a penalty added to the caption's negative
# log-likelihood asks every cell to receive, over the $C$ words of the caption, a total weight of
# about one, so that the model looks at every part of the image at some point:
#
# $$\lambda \sum_{i=1}^{L} \Big(1 - \sum_{t=1}^{C} \alpha_{ti}\Big)^2$$
#
# (`doubly_stochastic_penalty`). The paper gives no value for $\lambda$; the authors' released
# training script for COCO uses 1, the module's default. The demos below use the ungated
# expectation, where the soft context is exactly the mean of the hard ones.
#
# Earlier, attention over images meant choosing where to put a small sensor. Larochelle and
# Hinton combined *foveal glimpses*, sharp at the centre and coarse around it, and the recurrent
# attention model of Mnih et al. reads each step through a *retina* $\rho(x_t, l_{t-1})$: $k$
# square patches centred on $l_{t-1}$, the first $g \times g$ pixels and each next one twice as
# wide, all resized to $g \times g$. The module's `glimpse` computes that retina (resizing by
# average pooling, with the location in integer pixels and zeros off the image).

# %% [markdown]
# ## Running it
#
# A 32 × 32 image holds a red square and a blue one on a dim, noisy background. In place of a
# CNN the "encoder" averages 4 × 4 pixel blocks, so each of the 8 × 8 = 64 annotations $a_i$ is
# the mean colour of its cell. $f_{att}$ is **set by hand**, not learned: the state
# $h = (1, 0)$ drives the green and blue units of $\tanh$ to $-1$ so only redness changes the
# score, and $h = (0, 1)$ does the same for blue. The weights land on the square each state
# asks for.

# %%
from _setup import show_figure
import runnable.visual_attention as mechanism
import matplotlib.pyplot as plt

result = mechanism.demo("cpu")
figure, axes = plt.subplots(1, 3, figsize=(9, 2.8), layout="constrained")
axes[0].imshow(result["image"].clamp(0, 1).numpy())
axes[0].set_title("image (32 × 32)")
for axis, weights, name in zip(axes[1:], result["weights"], ["red", "blue"]):
    image = axis.imshow(weights.numpy(), cmap="viridis", vmin=0)
    axis.set_title(rf"$\alpha$ for $h$ = look for {name}")
    figure.colorbar(image, ax=axis, fraction=0.046)
show_figure("The 32 by 32 image and the attention weights alpha over its locations when looking for each object.")
assert result["max_error"] < 1e-5 and result["mc_error"] < 0.02 and result["glimpse_error"] < 1e-6

# %% [markdown]
# ## Hard attention is soft attention on average
#
# With a random, untrained $f_{att}$ the weights spread over many cells, so single hard
# contexts $a_{s_t}$ differ a lot from the soft context. Their mean still converges to it, with
# an error shrinking like $1/\sqrt{n}$ in the number of samples $n$.

# %%
import torch
import torch.nn.functional as F

torch.manual_seed(0)
annotations = F.avg_pool2d(result["image"].permute(2, 0, 1)[None], 4).flatten(2).transpose(1, 2)
attention = mechanism.SoftAttention(annotation_size=3, state_size=2, align_size=8, gated=False)  # the expectation alone
with torch.no_grad():
    soft, alpha = attention(annotations, torch.randn(1, 2))
    generator = torch.Generator().manual_seed(0)
    counts, errors = [10, 100, 1_000, 10_000, 100_000], []
    for n in counts:
        hard, _ = mechanism.hard_context(annotations, alpha, samples=n, generator=generator)
        errors.append((hard.mean(1) - soft).abs().max().item())
        print(f"n = {n:6d}: max |mean of hard ẑ - soft ẑ| = {errors[-1]:.4f}")
figure, axis = plt.subplots(figsize=(4, 2.8))
axis.loglog(counts, errors, "o-", label="Monte-Carlo error")
axis.loglog(counts, [errors[0] * (counts[0] / n) ** 0.5 for n in counts], "--", label=r"$\propto 1/\sqrt{n}$")
axis.set_xlabel("samples $n$")
axis.legend()
show_figure("Log-log chart of the Monte-Carlo error against the number of samples n, with a 1 over square root of n guide.")

# %% [markdown]
# ## A glimpse
#
# The retina centred on the red square: three 4 × 4 patches covering 4, 8 and 16 pixels a side.
# The first is sharp and sees only red; the last sees the whole square and its surroundings at a
# quarter of the resolution.

# %%
retina, (row, col) = result["glimpse"], result["centre"]
figure, axes = plt.subplots(1, 4, figsize=(10, 2.8), layout="constrained")
axes[0].imshow(result["image"].clamp(0, 1).numpy())
for k in range(3):
    half = 4 * 2 ** k // 2
    axes[0].add_patch(plt.Rectangle((col - half - 0.5, row - half - 0.5), 2 * half, 2 * half,
                                    fill=False, edgecolor="#888888"))
    axes[k + 1].imshow(retina[k].permute(1, 2, 0).clamp(0, 1).numpy())
    axes[k + 1].set_title(f"{2 * half} × {2 * half} px → 4 × 4")
    axes[k + 1].set_xticks(range(4)), axes[k + 1].set_yticks(range(4))
axes[0].set_title(f"centre (row {row}, col {col})")
show_figure("The image with a glimpse centre and the retina's patches at growing scales, each reduced to 4 by 4 pixels.")
print("retina ρ(x, l) shape (scales, channels, g, g):", tuple(retina.shape))
