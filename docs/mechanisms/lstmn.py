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
# # Long short-term memory-networks (Cheng, Dong & Lapata)
#
# [Additive attention](../bahdanau-attention/) let a decoder look back over another sequence, the
# encoded source. The [LSTMN](../../entries/2016-cheng-lstmn-machine-reading/) points the same kind
# of attention at the sequence being read: while reading token $t$, the network looks back over
# its own earlier tokens. The authors called this *intra-attention*; it is one of the early forms
# of what became self-attention.
#
# An ordinary LSTM carries one hidden state $h_{t-1}$ and one memory cell $c_{t-1}$ from step to
# step, and everything it has read must fit in them. The LSTMN keeps every earlier pair on a tape
# (as [memory networks](../memory-networks/) keep their memories) and, before each step, forms a
# summary of the tape by attention. The score of an earlier token $i$ depends on its hidden state,
# the current input and the previous summary:
#
# $$a^t_i = v^\top \tanh\big(W_h h_i + W_x x_t + W_{\tilde h} \tilde h_{t-1}\big), \qquad
#   s^t = \mathrm{softmax}(a^t), \qquad
#   \tilde h_t = \sum_{i<t} s^t_i\, h_i, \quad \tilde c_t = \sum_{i<t} s^t_i\, c_i .$$
#
# The summaries then stand in for $h_{t-1}$ and $c_{t-1}$ in the usual LSTM step:
#
# $$[i_t; f_t; o_t] = \sigma\big(W [\tilde h_t; x_t] + b\big), \quad
#   \hat c_t = \tanh\big(W_c [\tilde h_t; x_t] + b_c\big), \quad
#   c_t = f_t \odot \tilde c_t + i_t \odot \hat c_t, \quad h_t = o_t \odot \tanh c_t .$$
#
# If the attention always put all its weight on the previous token, this would be an LSTM. Instead
# the forget gate acts on a *mixture* of earlier cells chosen by content, so the recurrence can
# reach straight back to the token that matters.
#
# **The first step.** At the first token the tape is empty. This module starts it from
# $\tilde h = \tilde c = 0$, as an LSTM starts from a zero state, and leaves that row of the
# attention matrix empty. At the second token the tape has one entry, which takes all the
# weight, so the first two steps are exactly those of a plain LSTM; the tests check this against
# `torch.nn.LSTM`. How the authors' own code initialises the tape is not something this page
# claims.

# %% [markdown]
# ## Running it: intra-attention over a short sequence
#
# An untrained LSTMN reads ten random input vectors. Row $t$ of the matrix is the distribution
# $s^t$ that step $t$ puts over the steps before it (positions counted from 0 here): everything on
# and above the diagonal is zero, the first row is empty and every other row sums to 1. The score
# vector $v$ is scaled up in the demo so that the untrained weights are not all flat; trained
# on a task, the rows would pick out the tokens relevant to the current word.

# %%
from _setup import heatmap
import runnable.lstmn as mechanism
result = mechanism.demo("cpu")
heatmap(result["attention"].numpy(), xlabel="earlier position $i$", ylabel="current position $t$",
        title="intra-attention $s^t_i$",
        alt="Heatmap of intra-attention weights: each current position t over the earlier positions i.")
assert result["max_error"] < 1e-5 and result["upper"] == 0

# %% [markdown]
# ## Flat scores: the running mean
#
# With $v = 0$ every score is zero, each step reads the plain average of the tape, and the model is
# an LSTM whose state is replaced by the mean of all earlier states. A long memory averaged this
# way forgets nothing but also singles out nothing; the learned scores are what let the model
# choose. The cell prints the first rows of the attention matrix in that case.

# %%
import torch

torch.manual_seed(0)
flat = mechanism.LSTMN(6, 8)
torch.nn.init.zeros_(flat.v.weight)
with torch.no_grad():
    _, weights = flat(torch.randn(1, 5, 6))
for t, row in enumerate(weights[0].tolist()):
    print(f"t = {t}: " + " ".join(f"{w:.3f}" for w in row[:t]) + ("(empty tape)" if t == 0 else ""))
