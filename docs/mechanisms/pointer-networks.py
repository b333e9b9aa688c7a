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
# # Pointer networks
#
# Some problems ask for an answer made of positions in the input: the points of a convex
# hull, the order of a travelling-salesman tour, a sorted list. A decoder with a fixed output
# vocabulary cannot name "input 7" when the next input has nine elements. Vinyals, Fortunato
# and Jaitly kept the attention step and dropped what comes after it. They did not blend the
# encoder states into a context. The attention weights themselves are the output distribution.
#
# With encoder states $e_1, \dots, e_n$ for the input $\mathcal{P}$ and decoder states
# $d_1, \dots, d_m$, the scores are additive attention's, and the softmax runs over input
# positions:
#
# $$u^i_j = v^\top \tanh(W_1 e_j + W_2 d_i), \quad j \in (1, \dots, n), \qquad
#   p(C_i \mid C_1, \dots, C_{i-1}, \mathcal{P}) = \mathrm{softmax}(u^i).$$
#
# The number of possible outputs is $n$, so it grows with the input. The decoder's next input
# is the point it just chose.
#
# When the answer must be a permutation, the module's greedy decoder masks positions already
# chosen: their score is $-\infty$, so their probability is exactly zero. This is a decoding
# choice made here, not part of the equations above.

# %% [markdown]
# ## Running it: pointing with hand-set weights
#
# Nothing here is trained. The first part sets the weights by hand: each encoder state is the
# number itself, $e_j = x_j$, with $W_2 = 0$ and positive $W_1$ and $v$. Then
# $u^i_j = v \tanh(W_1 x_j)$ rises with $x_j$, the pointer picks the largest remaining number,
# and masking makes the next step pick the next largest. The result is a sort. It shows the
# mechanics of pointing and masking, not that a pointer network *learns* to sort. The paper
# trained its networks for that. The second part runs an untrained network to check that
# greedy decoding returns a permutation.

# %%
from _setup import heatmap
import runnable.pointer_networks as mechanism
result = mechanism.demo("cpu")
values = [f"{v:.2f}" for v in result["values"].tolist()]
heatmap(result["probabilities"].numpy(), xlabels=values, xlabel="input $x_j$", ylabel="output step $i$",
        title=r"$p(C_i \mid C_{<i}, \mathcal{P})$ with chosen positions masked",
        alt="Heatmap of the pointer network's output distribution at each step over the input values, with already chosen positions masked.")
assert result["max_error"] < 1e-6
assert result["order"] == result["values"].argsort(descending=True).tolist()

# %% [markdown]
# Each row is one output step. The row's largest entry is the chosen input, and its column
# stays zero in every row below.
#
# ## A whole network, teacher-forced
#
# In training, the decoder is fed the target points. The output length $m$ need not equal
# $n$, and without masking an index may come back, as it must when a closed loop, such as
# the boundary of a convex hull, is listed ending at its first point.

# %%
import torch

torch.manual_seed(0)
network = mechanism.PointerNetwork(point_size=2, hidden=16, align=16)
points = torch.rand(2, 5, 2)
targets = torch.tensor([[0, 3, 1, 0], [2, 4, 2, 1]])
probabilities, _ = network(points, targets)
loss = -probabilities.gather(-1, targets[..., None]).log().mean()
print("distributions", tuple(probabilities.shape), "(batch, output step, input position)")
print("each sums to", [round(v, 4) for v in probabilities.sum(-1).flatten().tolist()])
print(f"teacher-forced negative log-likelihood (untrained) = {loss.item():.3f}; uniform would be {torch.log(torch.tensor(5.0)).item():.3f}")
