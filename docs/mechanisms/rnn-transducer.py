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
# # The RNN transducer's forward algorithm
#
# Graves's transducer turns an input sequence $x$ of length $T$ into an output sequence
# $y^*$ of length $U$ without being told which input step produced which output. A
# transcription network reads $x$, a prediction network reads the outputs so far, and
# together they give, at every node $(t, u)$ with $1 \le t \le T$ and $0 \le u \le U$, a
# distribution over the labels and a *blank* $\varnothing$. Write $\varnothing(t, u)$ for the
# blank's probability there and $y(t, u)$ for the probability of the next target label
# $y^*_{u+1}$.
#
# An alignment is a path through this lattice from $(1, 0)$: emitting a label moves up
# ($u \to u + 1$), emitting a blank moves on to the next input step ($t \to t + 1$), and the
# path ends with the blank that leaves $(T, U)$. Every path has exactly $T$ blanks and $U$
# labels, so there are $\binom{T+U-1}{U}$ of them, too many to enumerate. The forward
# variables sum over all of them at once:
#
# $$\alpha(1, 0) = 1, \qquad
#   \alpha(t, u) = \alpha(t-1, u)\,\varnothing(t-1, u) + \alpha(t, u-1)\, y(t, u-1), \qquad
#   \Pr(y^* \mid x) = \alpha(T, U)\, \varnothing(T, U).$$
#
# Training minimises $-\ln \Pr(y^* \mid x)$. The alignment is never chosen, only summed
# over, and it is monotone by construction: this is the hard, monotone cousin of the soft
# alignments that attention models would learn.

# %% [markdown]
# ## Running it
#
# Random output distributions over 4 labels and the blank on a $6 \times 4$ lattice, scored
# for a 3-label target, and checked against the sum over all 56 alignments. The gradient of
# $\ln \Pr$ with respect to each log-probability is the posterior probability that an
# alignment uses that transition, so adding a node's blank and label gradients gives the
# probability that an alignment passes through the node: the heatmap shows where the
# alignments go.

# %%
from _setup import heatmap
import runnable.rnn_transducer as mechanism
result = mechanism.demo("cpu")
occupancy = result["occupancy"].numpy()
heatmap(occupancy, xlabel="labels emitted $u$", ylabel="input step $t$ (from 0)",
        title="probability an alignment visits $(t, u)$",
        alt="Heatmap of the probability that an alignment passes through each cell (input step t, labels emitted u).")
assert result["max_error"] < 1e-5

# %% [markdown]
# ## Why not enumerate
#
# The lattice costs $T(U+1)$ additions; the number of alignments grows combinatorially.
# With a padded batch each example ends at its own $(T_b, U_b)$, and since $\alpha$ there
# never looks beyond it, padding needs no mask.

# %%
import math
import torch

for T, U in [(4, 3), (20, 5), (100, 20), (500, 50)]:
    print(f"T = {T:<4} U = {U:<3} lattice nodes {T * (U + 1):>6,}   alignments {math.comb(T + U - 1, U):.3g}")

torch.manual_seed(0)
log_probs = torch.randn(2, 5, 4, 6).log_softmax(-1)
labels = torch.randint(1, 6, (2, 3))
padded = mechanism.log_likelihood(log_probs, labels, torch.tensor([5, 3]), torch.tensor([3, 2]))
alone = mechanism.log_likelihood(log_probs[1:, :3, :3], labels[1:, :2])
print(f"second example, padded in the batch {padded[1].item():.6f}, on its own {alone.item():.6f}")
