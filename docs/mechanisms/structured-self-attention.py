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
# # Structured self-attentive sentence embedding (Lin et al.)
#
# To turn a sentence into one fixed-size vector, a common recipe was to run a recurrent network and
# take the last state, or the mean or maximum over all states. The
# [structured self-attentive embedding](../../entries/2017-lin-structured-self-attentive-embedding/)
# pools with attention instead, and with several attention distributions at once, so that the
# sentence becomes a small matrix: one row per distribution.
#
# The words' hidden states (in the paper, those of a bidirectional LSTM) are stacked as
# $H \in \mathbb R^{n \times 2u}$. With no outside query, two learned matrices produce $r$ rows of
# attention weights, each a distribution over the $n$ words, and each row pools the states:
#
# $$A = \mathrm{softmax}\big(W_{s2} \tanh(W_{s1} H^\top)\big) \in \mathbb R^{r \times n},
#   \qquad M = A H \in \mathbb R^{r \times 2u}.$$
#
# Read row by row, this is attention whose $r$ queries are parameters: row $k$ of $W_{s2}$ is
# dotted with the "keys" $\tanh(W_{s1} h_t)$ (the tests check it against torch's
# [scaled_dot_product_attention](../scaled-dot-product-attention/) with scale 1). Several
# distributions reading the same states side by side foreshadow the heads of
# [multi-head attention](../multi-head-attention/).
#
# ## The penalty
#
# Nothing in $A$ itself stops all $r$ rows from settling on the same few words, which would waste
# the extra rows. The paper adds to the training loss
#
# $$P = \lVert A A^\top - I \rVert_F^2
#     = \sum_k \big(1 - \lVert a_k \rVert^2\big)^2 + \sum_{k \ne l} (a_k \cdot a_l)^2 .$$
#
# The off-diagonal terms punish rows that overlap. The diagonal terms punish flat rows: a row of
# non-negative weights summing to 1 has $\lVert a_k \rVert^2 = 1$ only when it is one-hot. So
# $P = 0$ exactly when the rows are one-hot on different words, $P = r(r-1)$ when they are all
# one-hot on the *same* word, and for $r$ uniform rows over $n$ words
# $P = r(1 - 1/n)^2 + r(r-1)/n^2$. Each row may still spread over a few words in practice, since
# the penalty is only one term of the loss.

# %% [markdown]
# ## Running it: four hops, before and after minimising the penalty
#
# Four hops attend over a random "sentence" of twelve states. Untrained, every row is close to
# uniform, and $P$ is near its value for four uniform rows, $4 (11/12)^2 + 12/144 \approx 3.44$.
# The demo then takes 100 Adam steps on $P$ alone, changing only $W_{s1}$ and $W_{s2}$: the rows
# sharpen and move to four different words. Without a task loss nothing decides *which* words,
# so this shows only what the penalty pushes towards.

# %%
from _setup import heatmap, show_figure
import runnable.structured_self_attention as mechanism
result = mechanism.demo("cpu")
heatmap(result["A_before"].numpy(), xlabel="word", ylabel="hop", title="$A$ before",
        alt="Heatmap of the annotation matrix A, hop by word, before training: the hops overlap.")
heatmap(result["A_after"].numpy(), xlabel="word", ylabel="hop", title="$A$ after 100 steps on $P$",
        alt="Heatmap of the annotation matrix A after 100 steps minimising the penalty: the hops attend to different words.")
assert result["max_error"] < 1e-5 and result["penalty"][-1] < 1e-2

# %%
import matplotlib.pyplot as plt

figure, axis = plt.subplots(figsize=(4.5, 2.6))
axis.plot(result["penalty"])
axis.set_yscale("log")
axis.set_xlabel("Adam step")
axis.set_ylabel("$P$")
axis.set_title(r"$\Vert AA^\top - I \Vert_F^2$ while minimising it")
show_figure("Line chart of the penalty ||AA^T - I||_F^2 falling over Adam steps.")
