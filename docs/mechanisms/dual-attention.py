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
# # Dual attention: positions and channels (DANet)
#
# In a segmentation network each pixel must be labelled, and the evidence for a label may be far
# away: two cars at opposite ends of the street, the same road surface in and out of shadow.
# [DANet](../../entries/2018-fu-danet-dual-attention/) (Fu and colleagues) adds two
# self-attention modules side by side on top of the backbone's feature map $A$, with $C$
# channels and $N = H \times W$ positions.
#
# **Position attention.** Three $1 \times 1$ convolutions give maps $B$ and $C'$ (with $C/8$
# channels) and $D$ (with $C$). Every position $j$ attends over all $N$ positions:
#
# $$s_{ji} = \frac{\exp(B_i \cdot C'_j)}{\sum_{i=1}^{N} \exp(B_i \cdot C'_j)}, \qquad
#   E_j = \alpha \sum_{i=1}^{N} s_{ji} D_i + A_j .$$
#
# (The paper names the second map $C$; it is $C'$ here so as not to clash with the channel
# count.) This is the [non-local block](../non-local-means/), or
# [scaled dot-product attention](../scaled-dot-product-attention/) with a scale of 1, over
# positions: the tests check it against `scaled_dot_product_attention` with `scale=1`.
#
# **Channel attention.** No convolutions this time. Each channel is a map of $N$ numbers, and the
# $C$ channels attend over each other by the inner products of those maps:
#
# $$x_{ji} = \frac{\exp(A_i \cdot A_j)}{\sum_{i=1}^{C} \exp(A_i \cdot A_j)}, \qquad
#   E_j = \beta \sum_{i=1}^{C} x_{ji} A_i + A_j .$$
#
# It is the same attention with the roles turned round: the channels are the tokens, and the
# positions are their features. $\alpha$ and $\beta$ are learned scalars that start at zero, so
# each module is eased in from the identity. The paper passes each module's output through a
# convolution and sums the two; this module sums them directly.
#
# ## The paper's channel softmax and the released code's
#
# The code the authors released (the `CAM_Module` of their DANet repository) does not compute
# the softmax above. It takes the
# energies $e_{ji} = A_j \cdot A_i$, subtracts each from its row's maximum, and applies the
# softmax to $\max_i e_{ji} - e_{ji}$. That looks like the usual trick for numerical stability,
# but the usual trick subtracts the maximum *from* the scores ($e_{ji} - \max_i e_{ji}$). A softmax
# ignores any constant added to a row, so the released form equals
# $\operatorname{softmax}_i(-e_{ji})$: the channels *least* similar to channel $j$ get the most
# weight. `channel_attention(a, released_code=True)` computes that form; the default, used in
# `DualAttention`, is the paper's equation. This page does not measure whether the difference
# matters once a network is trained around the module; the two are different operations.
#
# ## Where it sits
#
# DANet and [criss-cross attention](../criss-cross-attention/) appeared in the same season and
# both bring Transformer-style self-attention to dense prediction. CCNet makes position attention
# cheaper by restricting it to rows and columns; DANet keeps it dense and adds attention across
# channels.

# %% [markdown]
# ## Running it
#
# A $10 \times 10$ map has three classes: background, two small squares of class 1 in opposite
# corners, and a vertical bar of class 2. Each pixel's feature vector is its class's vector
# (three orthogonal vectors of length 2.5) plus a little noise. The query, key and value
# convolutions are set by hand to the identity, so the scores are plain inner products of the
# features and nothing is learned. A pixel in the top-left square should then attend to both
# squares, the far one included, and to little else.

# %%
from _setup import heatmap, show_figure
import runnable.dual_attention as mechanism
import matplotlib.pyplot as plt

result = mechanism.demo("cpu")
figure, axes = plt.subplots(1, 2, figsize=(7, 3))
for axis, image, title in [(axes[0], result["labels"], "classes"),
                           (axes[1], result["position"], "position weights of pixel (2, 2)")]:
    shown = axis.imshow(image.numpy(), cmap="viridis")
    axis.scatter([2], [2], marker="x", color="white", s=30)
    axis.set_title(title)
    figure.colorbar(shown, ax=axis, fraction=0.046)
plt.tight_layout()
show_figure("Row of images: the class map of the synthetic scene and the position-attention weights of the marked pixel.")

# %% [markdown]
# The channel weights of the same map, in the paper's form and in the released code's. In the
# paper's form a channel puts much of its weight on itself (its inner product with itself is
# large); in the released form almost none.

# %%
heatmap(result["channel"].numpy(), xlabel="channel $i$", ylabel="channel $j$", title="$x_{ji}$, the paper's softmax",
        alt="Heatmap of the channel attention weights x_ji with the paper's softmax, channel by channel.")
heatmap(result["channel_released"].numpy(), xlabel="channel $i$", ylabel="channel $j$",
        title="released code: softmax(max − e)",
        alt="Heatmap of the channel attention weights with the released code's softmax of max minus e, channel by channel.")
