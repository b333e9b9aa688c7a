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
# # Gated linear attention: a forget gate for the linear-attention state
#
# Causal [linear attention](../linear-attention/) is a recurrent network whose state is a matrix,
# $S_t = S_{t-1} + k_t v_t^\top$, read by the query as $o_t^\top = q_t^\top S_t$. Nothing ever
# leaves that state: every key–value pair written stays at full strength, so a long sequence fills
# a fixed-size memory with interference. Recurrent networks solved the same problem decades ago
# with a forget gate. Yang, Wang, Shen, Panda and Kim (2023) give the linear-attention state one,
# computed from the input at every step and separate for each key feature:
#
# $$S_t = \mathrm{Diag}(\alpha_t)\, S_{t-1} + k_t v_t^\top, \qquad
#   o_t^\top = q_t^\top S_t, \qquad \alpha_t \in (0, 1)^{d_k}.$$
#
# Unrolling the recurrence shows what a query sees: key $k_j$ arrives multiplied, feature by
# feature, by every gate written since,
#
# $$o_t^\top = \sum_{j \le t} \Big(q_t \odot \tfrac{b_t}{b_j}\Big)^\top k_j\, v_j^\top, \qquad
#   b_t = \prod_{s \le t} \alpha_s .$$
#
# So GLA is causal linear attention whose mask is not fixed but data-dependent. The gate is
# $\alpha_t = \sigma(z_t)^{1/\tau}$ for a low-rank projection $z_t$ of the input, with a
# temperature $\tau = 16$ that keeps the gates close to 1: memories fade over tens of tokens
# rather than one or two.
#
# ## Training in chunks
#
# The recurrence runs one token at a time, which wastes the matrix units of a GPU. The unrolled
# sum is parallel but needs the ratio $b_t / b_j$, and dividing by a product of gates that has
# underflowed to zero is not an option. The chunkwise form sits between them. Cut the sequence
# into chunks of $C$ tokens; inside a chunk let $\Lambda_t$ be the running sum of $\log\alpha$.
# A query then reads the state carried into the chunk, decayed to its position, plus the chunk's
# own keys through a small masked attention:
#
# $$o_t^\top = (q_t \odot e^{\Lambda_t})^\top S
#   + \sum_{j \le t,\ j \in \text{chunk}} \Big[\sum_d q_{t,d}\, k_{j,d}\, e^{\Lambda_{t,d} - \Lambda_{j,d}}\Big] v_j^\top,$$
#
# and the chunk hands on $S' = \mathrm{Diag}(e^{\Lambda_C}) S + \sum_j (k_j \odot e^{\Lambda_C - \Lambda_j}) v_j^\top$.
# Every exponent is a difference of log-gates from later to earlier, never positive, so nothing
# overflows. The sequential work drops from $L$ steps to $L/C$, and each step is a few matrix
# products. Below, the module computes all three forms: the recurrence, the chunks, and the
# unrolled double sum as the reference.

# %% [markdown]
# ## Running it
#
# The agreements first, in float64, for several chunk sizes (1, a size that does not divide the
# 40 tokens, and one longer than the sequence); then the effect of the temperature on a typical
# gate; then the count of sequential steps.

# %%
from _setup import show_figure
import runnable.gated_linear_attention as mechanism
import matplotlib.pyplot as plt
import torch

result = mechanism.demo("cpu")

# %% [markdown]
# ## What the gate does to the attention matrix
#
# GLA applies an $L \times L$ matrix to the values, $A_{tj} = \sum_d q_{t,d} k_{j,d}\, e^{\Lambda_{t,d} - \Lambda_{j,d}}$
# for $j \le t$. With every gate at 1 it is the causal matrix $q_t^\top k_j$ of plain linear
# attention, whose entries do not shrink with distance. With gates, old keys fade. Below, the
# average size of $A_{tj}$ against the distance $t - j$, over 200 random sequences of 64 tokens
# with random gate inputs $z$: no gate, the paper's gate with $\tau = 16$, and the same gate
# without the temperature ($\tau = 1$).

# %%
generator = torch.Generator().manual_seed(1)
q, k, z = (torch.randn(200, 64, 8, generator=generator) for _ in range(3))
distance = torch.arange(64)[:, None] - torch.arange(64)[None, :]
settings = {"no gate (linear attention)": torch.zeros_like(z), "σ(z)^(1/16), the paper's gate": mechanism.gate_log_decay(z),
            "σ(z), τ = 1": mechanism.gate_log_decay(z, 1.0)}
figure, axis = plt.subplots(figsize=(6, 3))
size_at = {}
for label, log_alpha in settings.items():
    A = mechanism.implied_attention(q, k, log_alpha).abs().mean(0)
    size_at[label] = torch.stack([A[distance == n].mean() for n in range(64)])
    axis.plot(range(64), size_at[label], label=label)
axis.set_xlabel("distance t − j (tokens)")
axis.set_ylabel("mean |A_tj|")
axis.set_ylim(bottom=0)
axis.legend(fontsize=8)
show_figure("Line chart of the mean size of GLA's attention weights against the distance between query and key: "
            "flat without a gate, falling over a few tens of tokens with the paper's gate, and to almost zero "
            "within a few tokens without the temperature.")
print("mean |A_tj| at distance 0, 16 and 48: " + "; ".join(
    f"{label}: " + ", ".join(f"{curve[n]:.3f}" for n in (0, 16, 48)) for label, curve in size_at.items()))

# %% [markdown]
# ## Where it sits
#
# GLA's state is the outer-product memory of the [fast weight programmers](../fast-weights/),
# with a decay applied before each write. A gate that is the same for every feature and fixed
# rather than computed from the input gives [retention](../retention/); a scalar gate computed from
# the input is the selective state-space model of [state-space duality](../state-space-duality/);
# replacing the decay by an erase of what the key currently retrieves gives the delta rule of
# [DeltaNet](../deltanet/). All of them share the chunkwise strategy shown here: a recurrence
# between chunks, masked attention inside them.
