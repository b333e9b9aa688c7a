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
# # Global and local attention (Luong et al.)
#
# Luong, Pham and Manning simplified and extended the soft alignment of
# [additive attention](../bahdanau-attention/). The decoder first computes its current
# top-layer state $h_t$, then compares it with every source state $\bar h_s$. They tried three
# scores:
#
# $$\mathrm{score}(h_t, \bar h_s) =
#   \begin{cases}
#     h_t^\top \bar h_s & \text{dot} \\
#     h_t^\top W_a \bar h_s & \text{general} \\
#     v_a^\top \tanh\big(W_a [h_t; \bar h_s]\big) & \text{concat}
#   \end{cases}$$
#
# A softmax over the source turns them into alignment weights, and the weighted average of
# the source states is the context $c_t$:
#
# $$a_t(s) = \frac{\exp \mathrm{score}(h_t, \bar h_s)}{\sum_{s'} \exp \mathrm{score}(h_t, \bar h_{s'})},
#   \qquad c_t = \sum_s a_t(s)\, \bar h_s .$$
#
# Context and state are combined into the *attentional hidden state*, which feeds the softmax
# over target words:
#
# $$\tilde h_t = \tanh\big(W_c [c_t; h_t]\big).$$
#
# ## Local attention with predicted position (local-p)
#
# Global attention looks at every source word. The local variant predicts a source position
# $p_t$ from the state, looks only at a window $[p_t - D, p_t + D]$ around it, and favours
# positions near the centre with a Gaussian:
#
# $$p_t = S \cdot \mathrm{sigmoid}\big(v_p^\top \tanh(W_p h_t)\big), \qquad
#   a_t(s) = \mathrm{align}(h_t, \bar h_s) \exp\!\Big(-\frac{(s - p_t)^2}{2\sigma^2}\Big), \qquad
#   \sigma = \frac{D}{2},$$
#
# where $S$ is the source length and $\mathrm{align}$ is the softmax above, taken over the
# window. Positions outside the window get a score of $-\infty$, so their weight is exactly
# zero. The Gaussian is applied after the softmax, so the local weights sum to less than one.
# The Gaussian is what makes $p_t$ differentiable: the hard window edges pass no gradient, but
# the Gaussian factor does, so $W_p$ and $v_p$ are trained by backpropagation. Here positions
# are counted $s = 1, \dots, S$, which is where $p_t \in (0, S)$ lands.

# %% [markdown]
# ## Running it
#
# One decoder state attends over twelve source states, once with each score and once with
# local-p attention ($D = 2$, general score). The weights are untrained, so the patterns show
# only how each variant distributes weight, not a learned alignment. Each variant is checked
# against a loop over the equations.

# %%
from _setup import heatmap
import runnable.luong_attention as mechanism
result = mechanism.demo("cpu")
heatmap(result["weights"].numpy(), xlabels=range(1, 13), ylabels=result["names"],
        xlabel="source position $s$", ylabel="variant", title=r"alignment weights $a_t(s)$",
        alt="Heatmap of alignment weights over 12 source positions, one row per Luong attention variant.")
assert result["max_error"] < 1e-5

# %% [markdown]
# ## A wide window is global attention
#
# With $D$ much larger than the sentence, the window covers every position and
# $\sigma = D/2$ makes the Gaussian factor nearly 1, so local-p attention gives the global
# weights. With a narrow window, everything outside $[p_t - D, p_t + D]$ is exactly zero.

# %%
import torch

torch.manual_seed(0)
h, source = torch.randn(1, 8), torch.randn(1, 12, 8)
global_attention = mechanism.LuongAttention(8, "general")
for D in [1, 3, 10_000]:
    local = mechanism.LuongAttention(8, "general", window=D)
    local.load_state_dict(global_attention.state_dict(), strict=False)  # same W_a and W_c
    with torch.no_grad():
        _, _, weights, p = local(h, source)
        gap = (weights - global_attention(h, source)[2]).abs().max().item()
    print(f"D = {D:>6}: p_t = {p.item():5.2f}, nonzero weights {int((weights > 0).sum())}/12, "
          f"sum {weights.sum().item():.4f}, max |local - global| = {gap:.1e}")
