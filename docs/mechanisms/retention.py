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
# # Retention: one mechanism, three ways to compute it
#
# Sun, Dong, Huang, Ma, Xia, Xue, Wang and Wei (2023) asked for three things at once: training
# that runs in parallel over the sequence like a Transformer, inference at a constant cost per
# token like a recurrent network, and quality to match. Their retention starts from a linear
# recurrence on a matrix state, $S_n = A S_{n-1} + K_n^\top V_n$, read by the query as
# $o_n = Q_n S_n$. Diagonalising $A$ as $\gamma e^{i\theta}$ splits it in two: the phases
# $e^{in\theta}$ are absorbed into the queries and keys as a rotation by absolute position (a
# [rotary position embedding](../rotary-embeddings/)), and the modulus leaves one scalar decay
# $\gamma$ per head. What remains is
#
# $$S_n = \gamma S_{n-1} + K_n^\top V_n, \qquad \mathrm{Retention}(X_n) = Q_n S_n,$$
#
# which is [linear attention](../linear-attention/) with the identity feature map, no normaliser,
# and a state that fades by $\gamma$ per step. Unrolled over a sequence it is one matrix product,
#
# $$\mathrm{Retention}(X) = (Q K^\top \odot D)\, V, \qquad
#   D_{nm} = \begin{cases}\gamma^{\,n-m} & n \ge m\\ 0 & n < m,\end{cases}$$
#
# softmax-free causal attention whose mask also decays with distance. That is the parallel form,
# for training. For long inputs the paper adds a third form that mixes the two: within a chunk of
# $B$ tokens compute the parallel form; across chunks carry the state,
#
# $$R_i = K_{[i]}^\top (V_{[i]} \odot \zeta) + \gamma^B R_{i-1}, \qquad
#   \mathrm{Retention}(X_{[i]}) = (Q_{[i]} K_{[i]}^\top \odot D) V_{[i]} + (Q_{[i]} R_{i-1}) \odot \xi,$$
#
# with $\zeta_j = \gamma^{B-j-1}$ (each key decayed to the end of its chunk) and
# $\xi_j = \gamma^{j+1}$ (the carried state decayed to each query), for $j = 0, \dots, B-1$.
#
# ## Many heads, many time scales
#
# Multi-scale retention gives each head its own decay, $\gamma = 1 - 2^{-5-h}$ for head
# $h = 0, 1, \dots$: the first head's weights fall by a factor $e$ in about 32 tokens, and each
# further head remembers twice as long. In the paper a GroupNorm on each head's output follows;
# the normalisations it applies inside retention (a $1/\sqrt d$ scale and divisions by row sums) rescale whole
# rows of a head's output, which that GroupNorm undoes, so the module leaves them out.

# %% [markdown]
# ## Running it
#
# The three forms on the same rotated queries and keys with the paper's four decays, in float64,
# against a double loop over $\gamma^{n-m}(q_n \cdot k_m)\, v_m$; chunk sizes that divide the 50
# tokens and ones that do not. Then the rotation's effect (shifting every position by 1000 changes
# nothing) and the decays of eight heads.

# %%
from _setup import show_figure
import runnable.retention as mechanism
import matplotlib.pyplot as plt
import torch

result = mechanism.demo("cpu")

# %% [markdown]
# ## The decay masks
#
# For four heads, how much of a key at distance $n - m$ is left in a query's score: the rows of
# $D$. The fastest-forgetting head keeps little beyond a hundred tokens; the slowest of these four
# still holds a fifth of the weight at a distance of 400.

# %%
gammas = mechanism.head_decays(4)
distance = torch.arange(0, 1200)
figure, axis = plt.subplots(figsize=(6, 3))
for h, g in enumerate(gammas):
    axis.plot(distance, g ** distance, label=f"head {h}: γ = 1 − 2^−{5 + h}")
axis.set_xlabel("distance n − m (tokens)")
axis.set_ylabel("decay γ^(n−m)")
axis.legend(fontsize=8)
show_figure("Line chart of the decay factor against distance for four retention heads: head 0 falls to near zero "
            "within about 150 tokens, head 3 still keeps about a fifth of the weight at 400 tokens.")
print("weight left at distance 100: " + ", ".join(f"head {h} {(g ** 100).item():.3f}" for h, g in enumerate(gammas)))

# %% [markdown]
# And the mask of head 0 on a 48-token sequence, the matrix the parallel form multiplies into
# $QK^\top$:

# %%
D = mechanism.decay_mask(48, gammas[0])
figure, axis = plt.subplots(figsize=(3.6, 3.2))
image = axis.imshow(D, cmap="viridis", vmin=0, vmax=1)
axis.set_xlabel("key position m")
axis.set_ylabel("query position n")
figure.colorbar(image, ax=axis, fraction=0.046)
show_figure("Heatmap of retention's decay mask for 48 tokens and γ = 31/32: zero above the diagonal, one on it, "
            "fading smoothly below it with distance from the diagonal.")
print(f"D[47, 0] = γ^47 = {D[47, 0]:.3f}")

# %% [markdown]
# ## Where it sits
#
# Retention is gated linear attention with the gate frozen: [GLA](../gated-linear-attention/)
# computes a decay per key feature from each token, retention fixes one number per head. A
# decay that is a single number but computed from the input is Mamba-2's selective state-space
# model, which the [state-space duality](../state-space-duality/) page writes in exactly the
# parallel form above, $(L \circ C B^\top) X$, with $L$ built from the input-dependent decays.
