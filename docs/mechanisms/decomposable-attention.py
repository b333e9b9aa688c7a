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
# # Decomposable attention (Parikh et al.)
#
# Natural language inference asks whether a hypothesis follows from a premise, contradicts it, or
# neither. The models of the time read each sentence with a recurrent network and then attended
# between them. [Decomposable attention](../../entries/2016-parikh-decomposable-attention/) showed
# that for this task much of the work is simply lining the words up: it has no recurrence and no
# notion of word order, only attention between the two sentences and small feed-forward networks
# applied word by word. It works in three steps on the word vectors $a_1, \dots, a_{\ell_a}$ of
# the premise and $b_1, \dots, b_{\ell_b}$ of the hypothesis.
#
# **Attend.** A network $F$ maps every word on its own, and the score of a pair is a dot product;
# each word then receives a soft-aligned summary of the *other* sentence:
#
# $$e_{ij} = F(a_i)^\top F(b_j), \qquad
#   \beta_i = \sum_j \frac{\exp e_{ij}}{\sum_k \exp e_{ik}}\, b_j, \qquad
#   \alpha_j = \sum_i \frac{\exp e_{ij}}{\sum_k \exp e_{kj}}\, a_i .$$
#
# One score matrix serves both directions: normalised along a row it aligns $a_i$ to the
# hypothesis, along a column it aligns $b_j$ to the premise. Because $F$ sees one word at a time,
# it runs $\ell_a + \ell_b$ times instead of once per pair. This is
# [cross-attention](../cross-attention/) in both directions with
# [dot-product scores](../scaled-dot-product-attention/) (scale 1) on $F$-projected words.
#
# **Compare.** A second network $G$ looks at each word together with what it was aligned to:
# $v_{1,i} = G([a_i; \beta_i])$ and $v_{2,j} = G([b_j; \alpha_j])$.
#
# **Aggregate.** The comparisons are summed over each sentence and a third network $H$ classifies:
# $\hat y = H([\sum_i v_{1,i};\, \sum_j v_{2,j}])$.
#
# Every step treats the words as a bag, so shuffling either sentence leaves $\hat y$ unchanged.
# The paper's optional intra-sentence attention, which adds a little order information through
# distance-dependent biases, is not part of this module.

# %% [markdown]
# ## Running it: soft alignment of a toy pair
#
# Premise *a man plays a guitar on stage*, hypothesis *a person plays music*. The word vectors are
# random, but the same word gets the same vector in both sentences, and *person* and *music* are
# small perturbations of *man* and *guitar*, as trained word vectors would place near-synonyms
# close together. $F$ is set by hand rather than trained: it splits each vector into its positive
# and negative parts, so $e_{ij}$ adds up the products of coordinates with matching signs and is
# largest, $\lVert x \rVert^2$, for identical words. The matrix shows the row-wise softmax: each
# premise word's weights over the hypothesis.

# %%
from _setup import heatmap
import runnable.decomposable_attention as mechanism
result = mechanism.demo("cpu")
heatmap(result["alignment"].numpy(), xlabels=mechanism.HYPOTHESIS, ylabels=mechanism.PREMISE,
        xlabel="hypothesis word $b_j$", ylabel="premise word $a_i$",
        title=r"$\exp e_{ij} / \sum_k \exp e_{ik}$",
        alt="Heatmap of the soft alignment between premise words (rows) and hypothesis words (columns) of the toy sentence pair.")
assert result["max_error"] < 1e-5

# %% [markdown]
# Both copies of *a* align to the hypothesis's *a*, *plays* to *plays*, *man* to *person* and
# *guitar* to *music*. *On* and *stage* have no counterpart, and their weight lands on whatever
# happens to score highest; it is the compare step, with a trained $G$, that would have to judge
# such leftovers. An untrained $F$, by contrast, aligns nothing in particular:

# %%
import torch

torch.manual_seed(0)
a, b = mechanism.word_vectors(16)
untrained = mechanism.DecomposableAttention(16, 32)
with torch.no_grad():
    _, to_b, _ = untrained(a, b)
print("untrained F, each premise word's weights over", mechanism.HYPOTHESIS)
for word, row in zip(mechanism.PREMISE, to_b[0].tolist()):
    print(f"  {word:>7}: " + " ".join(f"{w:.2f}" for w in row))
