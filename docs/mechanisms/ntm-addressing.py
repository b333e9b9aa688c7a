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
# # Neural Turing Machine addressing
#
# A Neural Turing Machine couples a controller network to a memory matrix $M_t$ of $N$ rows.
# Its heads never pick a row outright: each produces a weighting $w_t$ over the rows,
# non-negative and summing to one, and reads or writes a blend. The weighting comes from
# four differentiable steps. First, *content*: compare a key $k_t$ with every row by cosine
# similarity and sharpen with a key strength $\beta_t \ge 0$,
#
# $$K[u, v] = \frac{u \cdot v}{\lVert u \rVert \lVert v \rVert}, \qquad
#   w^c_t(i) = \frac{\exp\big(\beta_t K[k_t, M_t(i)]\big)}{\sum_j \exp\big(\beta_t K[k_t, M_t(j)]\big)} .$$
#
# Then *location*: a gate $g_t \in (0, 1)$ chooses between the content weighting and the
# previous one, a shift distribution $s_t$ over a few integer offsets rotates the result
# (circular convolution, indices modulo $N$), and $\gamma_t \ge 1$ re-sharpens what the
# shift blurred:
#
# $$w^g_t = g_t w^c_t + (1 - g_t) w_{t-1}, \qquad
#   \tilde w_t(i) = \sum_{j=0}^{N-1} w^g_t(j)\, s_t(i - j), \qquad
#   w_t(i) = \frac{\tilde w_t(i)^{\gamma_t}}{\sum_j \tilde w_t(j)^{\gamma_t}} .$$
#
# A read is the weighted sum of rows; a write erases with $e_t \in (0, 1)^M$ and then adds
# $a_t$:
#
# $$r_t = \sum_i w_t(i) M_t(i), \qquad
#   M_t(i) = M_{t-1}(i)\,[\mathbf{1} - w_t(i)\, e_t] + w_t(i)\, a_t .$$
#
# Content addressing is attention over memory by similarity, as in later key–value
# attention; the gate and shift add something attention over a sequence does not have, a
# head that keeps its place and moves from it.

# %% [markdown]
# ## Running it
#
# The first step looks a row up by content: the key is a noisy copy of row 3. Every later
# step closes the gate ($g = 0$), keeps the previous weighting and shifts it by $+1$ with
# some blur ($s = 0.05, 0.1, 0.85$ for shifts $-1, 0, +1$), sharpened with $\gamma = 2$:
# the head walks along the memory as in the copy task. Each weighting is checked against the
# equations written as a loop.

# %%
from _setup import heatmap
import runnable.ntm_addressing as mechanism
result = mechanism.demo("cpu")
heatmap(result["weightings"].numpy(), xlabel="memory row $i$", ylabel="step $t$",
        title="head weighting $w_t(i)$",
        alt="Heatmap of the head's weighting over memory rows at each step t.")
assert result["max_error"] < 1e-5

# %% [markdown]
# ## The four stages of one step
#
# Switching stages off in turn ($g = 1$ keeps only content, $s = \delta_0$ shifts by
# nothing, $\gamma = 1$ does not sharpen) shows each stage's effect on one weighting: the
# content lookup, the blend with the previous weighting, the blurred shift, and the
# sharpening that restores a focus.

# %%
import torch

torch.manual_seed(1)
N = 8
memory = torch.randn(1, N, 5)
key = memory[:, 2] + 0.5 * torch.randn(1, 5)
w_prev = torch.softmax(3 * torch.randn(1, N), -1)
beta, g, gamma = torch.tensor([8.0]), torch.tensor([0.7]), torch.tensor([3.0])
s, none = torch.tensor([[0.1, 0.2, 0.7]]), torch.tensor([[0.0, 1.0, 0.0]])
one = torch.tensor([1.0])
stages = {r"$w^c$": mechanism.address(memory, w_prev, key, beta, one, none, one),
          r"$w^g$": mechanism.address(memory, w_prev, key, beta, g, none, one),
          r"$\tilde w$": mechanism.address(memory, w_prev, key, beta, g, s, one),
          r"$w$": mechanism.address(memory, w_prev, key, beta, g, s, gamma)}
rows = torch.cat([w_prev, *stages.values()]).numpy()
heatmap(rows, ylabels=[r"$w_{t-1}$", *stages], xlabel="memory row $i$", title="one addressing step, stage by stage",
        alt="Heatmap of one addressing step, stage by stage: the previous weighting, then after content addressing, interpolation, shift and sharpening.")
print("each stage sums to one:", [round(row.sum().item(), 6) for row in rows])
