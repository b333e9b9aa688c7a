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
# # State-space duality: a selective SSM is masked attention
#
# State-space models came to sequence modelling from signal processing: a hidden state updated by
# a linear recurrence, read out linearly. Mamba made the recurrence *selective*, its parameters
# computed from each input, and Mamba-2 (Dao and Gu, 2024) restricted the state transition to a
# scalar per step, $A_t = a_t I$. For an input channel block $x_t \in \mathbb{R}^P$ and a state
# $h_t \in \mathbb{R}^{N \times P}$,
#
# $$h_t = a_t\, h_{t-1} + B_t\, x_t^\top, \qquad y_t = h_t^\top C_t, \qquad a_t \in (0, 1],\ B_t, C_t \in \mathbb{R}^N .$$
#
# Unroll it, as for any linear recurrence:
#
# $$y_t = \sum_{s \le t} \big(C_t^\top B_s\big)\,\big(a_{s+1} \cdots a_t\big)\, x_s,
#   \qquad\text{that is}\qquad Y = (L \circ C B^\top)\, X, \quad
#   L_{ts} = \begin{cases} a_{s+1}\cdots a_t & s \le t \\ 0 & s > t. \end{cases}$$
#
# Read $C$ as queries, $B$ as keys and $X$ as values: this is causal
# [linear attention](../linear-attention/) with the identity feature map, no normaliser, and a
# mask $L$ that decays with distance at an input-dependent rate. The *duality* is that the two
# readings are one function. Computed as a recurrence it costs time linear in the length with a
# state of fixed size; computed as masked attention it is a few matrix products that a GPU runs
# well, at quadratic cost.
#
# ## Why the mask is special
#
# Writing $c_t = \sum_{r \le t} \log a_r$, every entry is $L_{ts} = e^{c_t}\, e^{-c_s}$: any block
# of $L$ taken from below the diagonal is an outer product, of rank one. Matrices with this
# property are called 1-semiseparable, and the paper's point is that they are exactly the masks
# that come from such a recurrence. Going back is immediate: the subdiagonal gives the decays,
# $a_t = L_{t,t-1}$, and the rest of $L$ follows. Multiplying by $C B^\top$ raises the rank of
# those blocks to at most $N$, the state size.
#
# ## The chunked algorithm
#
# Mamba-2 computes neither form alone. It cuts the sequence into chunks of $Q$ steps and
# (1) applies the attention form inside each chunk; (2) computes each chunk's final state from a
# zero start; (3) passes states from chunk to chunk, which is the same recurrence one level up,
# and itself a small semiseparable matrix product; (4) adds each chunk's contribution from the
# state it inherited. Every step is a batched matrix product; the module's `ssd_chunked` follows
# these four steps.

# %% [markdown]
# ## Running it
#
# Four heads with their own $A < 0$ and input-dependent steps $\Delta_t$ (so $\log a_t = \Delta_t A$),
# sharing $B$ and $C$ as Mamba-2's heads do. The recurrence against the unrolled triple sum, the
# masked-attention form and the chunked algorithm against the recurrence (chunk sizes that do and
# do not divide the 45 steps), in float64; then the ranks of blocks below the diagonal, and the
# decays read back from the mask.

# %%
from _setup import show_figure
import runnable.state_space_duality as mechanism
import matplotlib.pyplot as plt
import torch

result = mechanism.demo("cpu")

# %% [markdown]
# ## The attention matrix of an SSM
#
# For one head over 32 steps: the mask $L$ on its own, built from input-dependent decays, and the
# full matrix $L \circ CB^\top$ that multiplies the inputs. Step 20 has a large $\Delta_t$, so the
# state forgets almost everything there, and the block of the mask that reaches across that step
# (outputs from 20 on, inputs before 20) drops to near zero.

# %%
torch.manual_seed(3)
steps = torch.nn.functional.softplus(torch.randn(32) - 1)
steps[20] = 4.0                                                  # one step that wipes the state
log_a = steps * -1.5
B, C = torch.randn(32, 4), torch.randn(32, 4)
mask = mechanism.segment_sums(log_a).exp()
figure, axes = plt.subplots(1, 2, figsize=(7.5, 3.6))
for axis, (title, M, colours) in zip(axes, [("mask L", mask, "viridis"), ("|L ∘ CBᵀ|", (mask * (C @ B.T)).abs(), "viridis")]):
    axis.imshow(M, cmap=colours, vmin=0)
    axis.set_title(title, fontsize=9)
    axis.set_xlabel("input step s")
axes[0].set_ylabel("output step t")
show_figure("Two lower-triangular heatmaps over 32 steps. The mask fades below the diagonal and is almost zero for "
            "every output after step 20 looking before it, where a large step wiped the state; the full matrix "
            "multiplies this mask by query–key products.")
print(f"L[31, 19] = {mask[31, 19]:.2e} (across the wiping step), L[19, 8] = {mask[19, 8]:.2e} (before it)")

# %% [markdown]
# ## Where it sits
#
# With $a_t = 1$ the mask is all ones below the diagonal and SSD is plain causal linear attention;
# with $a_t = \gamma$ fixed it is [retention](../retention/); with a decay per key feature instead
# of one number it is [gated linear attention](../gated-linear-attention/). The identity is also
# checked, in both directions, on the [equivalences page](../equivalences/).
