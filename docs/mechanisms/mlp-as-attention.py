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
# # The MLP as attention over learned slots
#
# Every layer of the [Transformer](../../entries/2017-vaswani-attention-is-all-you-need/) has two
# parts: attention, which mixes information across positions, and a position-wise feed-forward
# network, a two-layer MLP applied to each position on its own,
# $\mathrm{FFN}(x) = W_2\, \max(0, W_1 x + b_1) + b_2$. The second looks like a different kind of
# thing. Written out hidden unit by hidden unit, it is not so different:
#
# $$y = W_2\, \sigma(W_1 x + b_1) + b_2 = \sum_{i=1}^{H} \sigma\big(k_i^\top x + b_{1,i}\big)\, v_i + b_2,$$
#
# where $k_i$ is the $i$-th row of $W_1$ and $v_i$ the $i$-th column of $W_2$. Read it as
# attention: the input $x$ is the query, each hidden unit is a memory slot with a key $k_i$ and a
# value $v_i$, the score $k_i^\top x + b_{1,i}$ says how well the query matches the slot, and the
# output is a weighted sum of the values.
#
# Two things differ from the attention of the same layer:
#
# - **The keys and values are parameters.** They are learned once and are the same for every
#   input; attention's keys and values are computed from the sequence being read.
# - **The weights are not normalised.** $\sigma$ acts on each score alone. With a ReLU, slots
#   whose score is negative are not read at all and the others are read in proportion to their
#   score, with no budget that sums to one. A softmax makes the slots compete.
#
# Replace $\sigma$ by a softmax over the $H$ slots (and drop $b_2$) and the layer *is* softmax
# attention over learned slots, with $b_1$ as a per-key bias and scale 1:
#
# $$y = \sum_i \operatorname{softmax}_i\big(k_i^\top x + b_{1,i}\big)\, v_i
#     = \mathrm{SDPA}\big(x, K{=}W_1, V{=}W_2^\top, \text{mask}{=}b_1, \text{scale}{=}1\big).$$
#
# Others have taken this reading further: Sukhbaatar and colleagues (2019) replaced the
# feed-forward layer by attention over learned "persistent memory" vectors, and Geva and
# colleagues (2021) analysed trained feed-forward layers as key–value memories.

# %% [markdown]
# ## Running it
#
# An untrained layer with $d = 8$, $H = 32$ slots and $d_{out} = 4$, read by six inputs. Both
# forms agree with `nn.Sequential`; the softmax form agrees with `scaled_dot_product_attention`.
# Then the slot weights: with the ReLU about half of them are exactly zero and each input's
# weights sum to several units; with the softmax every slot gets a little and they sum to one.

# %%
from _setup import heatmap, show_figure
import runnable.mlp_as_attention as mechanism
import matplotlib.pyplot as plt

result = mechanism.demo("cpu")
figure, axes = plt.subplots(2, 1, figsize=(8, 3.6))
for axis, (name, weights) in zip(axes, [("ReLU: σ(k_iᵀx + b_i)", result["relu_weights"]),
                                        ("softmax over slots", result["softmax_weights"])]):
    image = axis.imshow(weights, cmap="viridis", aspect="auto")
    axis.set_title(name, fontsize=9)
    axis.set_ylabel("input")
    figure.colorbar(image, ax=axis, fraction=0.03)
axes[1].set_xlabel("slot i (hidden unit)")
plt.tight_layout()
show_figure("Two heatmaps of each input's weight on every slot (hidden unit): ReLU slots above, softmax over slots below.")

# %% [markdown]
# ## Reading one slot
#
# A query equal to a slot's key, scaled up, reads mostly that slot under the softmax; under
# the ReLU it reads that slot strongly but every slot whose key has a positive score too,
# because nothing makes the slots compete.

# %%
import torch

torch.manual_seed(0)
keys, bias, values = torch.randn(32, 8), torch.zeros(32), torch.randn(32, 4)
query = 3 * keys[5]
for name, activation in [("ReLU", torch.relu), ("softmax", mechanism.softmax_over_slots)]:
    w = mechanism.slot_weights(query, keys, bias, activation)
    print(f"{name:>7}: weight of slot 5 {w[5]:.2f} = {w[5] / w.sum():.0%} of the total; "
          f"slots read: {(w > 1e-3 * w.max()).sum().item()}")

# %% [markdown]
# ## Where it leads
#
# In a [Transformer block](../transformer-block/) the two readings sit side by side:
# [multi-head attention](../multi-head-attention/) reads keys and values computed from the
# sequence, the feed-forward layer reads keys and values fixed by training. The
# [equivalences page](../equivalences/) checks the slot form beside the other identities. For
# the elementwise weights without normalisation in attention over a sequence, see
# [linear attention](../linear-attention/), whose weights are also not a softmax.
