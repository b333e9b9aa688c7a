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
# `RNNsearch` follows the paper's appendix. The bidirectional encoder reads each sentence
# packed to its own length, so the backward RNN starts at the last real word, not at the
# padding, and the first decoder state is $s_0 = \tanh(W_s \overleftarrow{h}_1)$. At each target
# position the decoder attends with its previous state $s_{i-1}$, predicts the next word from the
# same $s_{i-1}$, the previous word and the context through a maxout layer,
# $\tilde t_i = U_o s_{i-1} + V_o E y_{i-1} + C_o c_i$, and only then updates its state,
# $s_i = f(s_{i-1}, y_{i-1}, c_i)$. The tests compare it with these equations computed one
# sentence and one step at a time, and check that a source padded with `source_mask` gives the
# same logits and weights as the sentence alone. Untrained, its alignments are near uniform; the
# reproduced experiment trains it on a synthetic task.

# %%
import torch
torch.manual_seed(0)
model = mechanism.RNNsearch(source_vocab=12, target_vocab=12)
source, target_in = torch.randint(1, 12, (1, 7)), torch.randint(1, 12, (1, 6))
logits, alignments = model(source, target_in)
print("logits", tuple(logits.shape), "alignments", tuple(alignments.shape))
print("each row of α sums to", alignments.sum(-1)[0].tolist())
padded = torch.cat([source, torch.randint(1, 12, (1, 3))], 1)             # three junk tokens after the sentence
padded_logits, padded_alignments = model(padded, target_in, source_mask=torch.arange(10)[None] < 7)
print(f"padded to 10: max |Δ logits| = {(padded_logits - logits).abs().max().item():.1e}, "
      f"weight on the padding = {padded_alignments[..., 7:].abs().max().item()}")

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
