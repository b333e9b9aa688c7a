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
# # Additive attention (RNNsearch)
#
# Bahdanau, Cho and Bengio replaced the encoder–decoder's single summary vector with a
# *soft alignment*: at every output step the decoder scores each source annotation $h_j$
# against its previous state $s_{i-1}$ with a small feed-forward network, turns the scores
# into weights with a softmax, and reads the weighted average of the annotations.
#
# $$e_{ij} = v_a^\top \tanh(W_a s_{i-1} + U_a h_j), \qquad
#   \alpha_{ij} = \frac{\exp e_{ij}}{\sum_k \exp e_{ik}}, \qquad
#   c_i = \sum_j \alpha_{ij} h_j .$$
#
# The annotations come from a bidirectional RNN, so $h_j = [\overrightarrow{h}_j;
# \overleftarrow{h}_j]$ summarises the whole sentence with a focus on word $j$. Padding
# positions get a score of $-\infty$, so their weight is exactly zero.

# %% [markdown]
# ## Running it
#
# One decoder state attends over five annotations; in the second example the last position
# is padding. The batched computation is checked against a loop over the equations.

# %%
from _setup import heatmap
import runnable.bahdanau_attention as mechanism
result = mechanism.demo("cpu")
heatmap(result["weights"].numpy(), xlabel="source position $j$", ylabel="example",
        title=r"attention weights $\alpha_{j}$",
        alt="Heatmap of attention weights over five source positions for two examples; in the second example the last, padded position has weight zero.")
assert result["max_error"] < 1e-5

# %% [markdown]
# ## A whole decoder
#
# `RNNsearch` runs the bidirectional encoder and, for each target position, attends, updates
# its state and predicts the next word. Untrained, its alignments are near uniform; the
# reproduced experiment trains it on a synthetic task.

# %%
import torch
torch.manual_seed(0)
model = mechanism.RNNsearch(source_vocab=12, target_vocab=12)
source = torch.randint(1, 12, (1, 7))
logits, alignments = model(source, torch.randint(1, 12, (1, 6)))
print("logits", tuple(logits.shape), "alignments", tuple(alignments.shape))
print("each row of α sums to", alignments.sum(-1)[0].tolist())

# %% [markdown]
# ## The alignment readers remember
#
# The picture usually drawn for attention in translation: English *I love you* becomes French
# *je t'aime*, where the object pronoun moves before the verb. Writing *je* the decoder looks
# at *I*; writing *t'* it looks ahead to *you*; writing *aime* it looks back at *love*. The
# weights below are set by hand to show that pattern: they illustrate what a trained model's
# $\alpha_{ij}$ look like, they are not the output of one (the
# [reproduction](../bahdanau-figure-2/) shows learned alignments).

# %%
import numpy as np
illustration = np.array([[0.90, 0.04, 0.06],   # je   ← I
                         [0.08, 0.10, 0.82],   # t'   ← you
                         [0.05, 0.88, 0.07]])  # aime ← love
heatmap(illustration, xlabels=["I", "love", "you"], ylabels=["je", "t'", "aime"],
        xlabel="English (source)", ylabel="French (output)", title=r"illustrative $\alpha_{ij}$",
        alt="Heatmap of hand-set alignment weights between English I love you and French je t'aime: je looks at I, t' at you, aime at love.")
print("each row sums to one:", illustration.sum(1).round(6).tolist())
