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
# # Fast weight programmers: the sum rule and the delta rule
#
# A recurrent network keeps its memory of the past in a hidden state vector.
# [Schmidhuber (1992)](../../entries/1992-schmidhuber-fast-weight-memories/) proposed keeping it
# in the *weights* of a second network instead. A slow network, trained by gradient descent,
# reads each input and emits signals that change the weights of a fast network; the fast
# weights then hold a short-term memory of the sequence. In the additive outer-product form
# (as restated in modern notation by Schlag, Irie and Schmidhuber, 2021) the slow net emits a
# key $k_t$, a value $v_t$ and a query $q_t$, and
#
# $$W_t = W_{t-1} + v_t k_t^\top, \qquad y_t = W_t\, q_t = \sum_{\tau \le t} v_\tau\, (k_\tau^\top q_t).$$
#
# The last form is causal attention without a softmax: every past value, weighted by how well
# its key matches the current query. The matrix $W_t$ is a running sum, so the cost of a step
# does not grow with $t$.
#
# ## Interference, and the delta rule
#
# As a memory, the sum rule has two faults. Reading key $k_i$ returns
# $v_i \lVert k_i\rVert^2 + \sum_{j \ne i} v_j (k_j^\top k_i)$: unless the keys are orthogonal, the
# other values leak in. For random unit keys in $d$ dimensions each overlap $k_j^\top k_i$ has a
# spread of about $1/\sqrt d$, so the leak is about $\sqrt{(N-1)/d}$ times the size of a value.
# And a key written twice returns the *sum* of its two values: the rule can only add.
#
# [Schlag, Irie and Schmidhuber (2021)](../../entries/2021-schlag-linear-transformers-fast-weights/)
# replaced the write by a delta rule. First read what the memory currently holds for the key,
# $\bar v_t = W_{t-1} k_t$, then move it towards the new value with a strength
# $\beta_t \in (0, 1)$ that the slow net also emits:
#
# $$W_t = W_{t-1} + \beta_t\, (v_t - W_{t-1} k_t)\, k_t^\top .$$
#
# Afterwards $W_t k_t = \bar v_t + \beta_t \lVert k_t\rVert^2 (v_t - \bar v_t)$. So the new value
# replaces the old one exactly, $W_t k_t = v_t$ whatever was stored before, only when
# $\beta_t \lVert k_t \rVert_2^2 = 1$: a unit-length key and $\beta_t = 1$. That is a property of how
# the keys are normalised, not of the rule. Schlag, Irie and Schmidhuber pass queries and keys
# through a feature map $\phi$ (their DPFP, among others) and then *sum*-normalise them,
# $k \leftarrow \phi(k) / \sum_j \phi(k)_j$; such a key is non-negative with entries summing to one,
# so $\lVert k \rVert_2 < 1$ unless it is one-hot, and each write moves $W k$ only part of the way
# to $v$. The exact overwrite belongs to the convention of DeltaNet as Yang et al. (2024)
# parallelised it, which scales $q$ and $k$ to unit $L_2$ length; the module's
# `FastWeightProgrammer` uses that by default and offers Schlag et al.'s form with `keys="dpfp"`
# (`dpfp`, `sum_normalise` and `schlag_delta_rule` are the pieces). The demos below use unit keys.

# %% [markdown]
# ## Running it
#
# With orthonormal keys both rules retrieve exactly. With random unit keys the sum rule's error
# follows the crosstalk estimate $\sqrt{(N-1)/d}$ even far below $N = d$. One pass of the delta
# rule does better, and the pair written last is always held exactly. Writing the same pairs
# several times lets each pass repair what later writes disturbed, and below capacity
# ($N < d$) the error falls towards zero. Beyond $N = d$ no $d \times d$ matrix can hold all
# the pairs, and both rules fail.

# %%
from _setup import heatmap, show_figure
import runnable.fast_weights as mechanism
import matplotlib.pyplot as plt

result = mechanism.demo("cpu")
table = result["table"]
N = list(table)
figure, axis = plt.subplots(figsize=(6, 3.3))
for key, label, style, color in [("sum", "sum rule", "o-", "C0"), ("crosstalk", r"$\sqrt{(N-1)/d}$", "--", "#888888"),
                                 ("delta", "delta rule, 1 pass", "s-", "C1"), ("delta5", "delta rule, 5 passes", "^-", "C2")]:
    axis.plot(N, [table[n][key] for n in N], style, color=color, label=label)
axis.axvline(16, color="#888888", lw=0.8)
axis.text(16.5, 0.05, "N = d", color="#888888")
axis.set_xscale("log", base=2)
axis.set_xlabel("stored pairs N (d = 16)")
axis.set_ylabel("relative retrieval error")
axis.legend(fontsize=7)
show_figure("Line chart of relative retrieval error against the number of stored pairs N, for the outer-product rule and the delta rule.")

# %% [markdown]
# ## Rewriting a key
#
# Key 0 is written with value $a$, two other (orthogonal) keys follow, and then key 0 is written
# again with value $b$. The sum rule returns $a + b$; the delta rule returns $b$.

# %%
for rule in ("sum", "delta"):
    y = result["rewrite"][rule]
    print(f"{rule:>5} rule: distance to a + b {(y - result['a'] - result['b']).norm():.2e}, "
          f"to b {(y - result['b']).norm():.2e}")

# %% [markdown]
# ## A slow net driving the fast weights
#
# `FastWeightProgrammer` is the whole scheme with a linear slow net: from each input it computes
# $q_t$, $k_t$, $v_t$ and $\beta_t = \sigma(w_\beta^\top x_t)$. The output at step $t$ depends only
# on inputs up to $t$, and gradients reach every slow weight through the fast weights, which is
# how the slow net learns what to write.

# %%
import torch

torch.manual_seed(0)
net = mechanism.FastWeightProgrammer(d_in=6, d_key=4, d_value=3, rule="delta")
x = torch.randn(1, 10, 6)
y = net(x)
x_later = x.clone()
x_later[:, 7:] += 1.0
print(f"output {tuple(y.shape)}; changing inputs 7..9 changes outputs 0..6 by "
      f"{(net(x_later)[:, :7] - y[:, :7]).abs().max().item():.1e}")
y.square().sum().backward()
print("gradient norms:", {name: round(p.grad.norm().item(), 3) for name, p in net.named_parameters() if "weight" in name})

# %% [markdown]
# ## Where it leads
#
# Normalise the sum rule's read-out and map queries and keys through a positive feature map,
# and it is [linear attention](../linear-attention/): Schlag, Irie and Schmidhuber's observation
# is that the two are the same computation. Put a softmax over the inner products
# $k_\tau^\top q_t$ instead and it is causal
# [scaled dot-product attention](../scaled-dot-product-attention/), which keeps every key and
# value instead of folding them into one matrix. The outer-product write is itself a product of
# two activations, the multiplicative connection of the [sigma-pi unit](../sigma-pi-units/).
