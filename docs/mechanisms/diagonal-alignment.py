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
# # The fixed diagonal alignment
#
# In the email that Karpathy published in 2024, Bahdanau recalls the steps before soft
# attention. A model with two cursors, one in the source and one in the target, whose paths
# would be summed out by dynamic programming, was too much for the weeks left of his
# internship. He then tried something simpler: the two cursors moving synchronously, in effect
# a hard-coded diagonal alignment. The next step was to let the decoder learn where to look.
#
# The email gives no formula. This page uses a plain reading of it: output position $i$ of
# $L$ reads source position $p_i$ of $T$, where the line from the first pair to the last pair
# crosses row $i$, rounded half up:
#
# $$p_i = \Big\lfloor \frac{i\,(T-1)}{L-1} + \frac12 \Big\rfloor, \qquad i = 0, \dots, L-1 .$$
#
# As an attention matrix, $\alpha_{ij}$ is uniform over a window of half-width $w$ around
# $p_i$, clipped at the ends, and zero elsewhere; the context is the usual weighted average:
#
# $$\alpha_{ij} = \frac{[\,|j - p_i| \le w\,]}{\#\{j' : |j' - p_i| \le w\}}, \qquad
#   c_i = \sum_j \alpha_{ij} h_j .$$
#
# It is attention whose scores ignore the content: $0$ inside the window and $-\infty$
# outside. With $w = 0$ each row holds a single 1, the rows step monotonically from
# $(0, 0)$ to $(L-1, T-1)$, and reading with $\alpha$ is plain indexing, $c_i = h_{p_i}$.
# Whatever the sentence says, output $i$ reads the same place.

# %% [markdown]
# ## Running it: where the diagonal reads, and where it should
#
# Eight source words produce nine output words. The output repeats source word 2 (one word
# translated as two) and reverses words 3 to 5 (as adjective–noun order flips between
# languages). The diagonal reads by position only. The contrast is a content-based soft
# alignment: the annotations are hand-made orthonormal vectors, and each output position's
# query is the annotation of the word it needs. This is not a trained model. It shows what a
# content-based alignment can express, not what training would find.

# %%
from _setup import heatmap
import runnable.diagonal_alignment as mechanism
result = mechanism.demo("cpu")
needed = result["needed"].tolist()
heatmap(result["diagonal"].numpy(), xlabel="source position $j$", ylabel="output position $i$",
        ylabels=[f"{i} (needs {n})" for i, n in enumerate(needed)], title=r"fixed diagonal $\alpha_{ij}$",
        alt="Heatmap of a fixed diagonal alignment: each output position puts its weight on the source position of the same index, whichever source word it actually needs.")
heatmap(result["soft"].numpy(), xlabel="source position $j$", ylabel="output position $i$",
        ylabels=[f"{i} (needs {n})" for i, n in enumerate(needed)], title=r"content-based soft $\alpha_{ij}$",
        alt="Heatmap of content-based soft alignment: each output position puts its weight on the source position it needs.")
assert result["max_error"] < 1e-6

# %% [markdown]
# The diagonal gets the monotone stretches right and misses the reordered ones; the soft
# alignment puts almost all the weight on the needed word in every row.
#
# ## A window around the cursor
#
# A window of half-width $w = 1$ averages the cursor's position with its neighbours. It
# blurs the read but still ignores the content; rows at the edges have fewer neighbours.

# %%
print("rows sum to", result["windowed"].sum(-1).tolist())
heatmap(result["windowed"].numpy(), xlabel="source position $j$", ylabel="output position $i$",
        title=r"diagonal with window $w = 1$",
        alt="Heatmap of a diagonal alignment with window w = 1: weight spread over the diagonal position and its neighbours.")
