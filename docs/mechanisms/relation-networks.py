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
# # Relation networks: every pair, equal weight
#
# A [relation network](../../entries/2017-santoro-relation-networks/) (Santoro and colleagues,
# 2017) is a module for questions about how things relate: which object is closest to the red
# one, are these two the same shape, how many pairs touch. It takes a set of objects
# $O = \{o_1, \dots, o_n\}$ and, optionally, a question $q$, applies one small network $g_\theta$ to
# every ordered pair and a second network $f_\phi$ to the total:
#
# $$\mathrm{RN}(O) = f_\phi\Big(\sum_{i,j} g_\theta(o_i, o_j, q)\Big).$$
#
# Three things follow from the form. The same $g_\theta$ is used for every pair, so what it learns
# about one pair applies to all. The sum does not care in which order the objects come, so
# $\mathrm{RN}(O)$ is invariant to permuting them. And the cost is $n^2$ evaluations of $g_\theta$,
# $i = j$ included. The objects need not be given as such: in the paper they are the cells of a
# convolutional feature map tagged with their coordinates, or sentence encodings from an LSTM.
#
# ## Not attention, but next to it
#
# An attention head also computes something for every pair, a score $s_{ij}$, and then a
# weighted average $\sum_j \operatorname{softmax}_j(s_{ij})\, v_j$. The relation network has no
# weights: every pair enters the sum with coefficient 1. So an RN's sum grows with the number of
# pairs, which suits counting, while an attention output is an average that stays put when every
# object is duplicated. The tests check both directions: with a $g_\theta$ that ignores $o_i$,
# the RN sum is $n$ times attention with all scores equal, and duplicating the set multiplies the
# RN sum by four and leaves [scaled dot-product attention](../scaled-dot-product-attention/)
# unchanged. What an RN shares with attention is the stance: the input is a set of entities,
# and the interesting computation happens between pairs of them, with shared weights. That is
# the stance of [memory networks](../memory-networks/) reading a story one sentence at a time,
# and later of the [Set Transformer](../set-transformer/), which does weight pairs by attention.

# %% [markdown]
# ## Running it: counting close pairs
#
# Six points are dropped in a square; the answer is how many of the 15 unordered pairs lie
# closer than 1.2. The answer is a sum over pairs of a yes/no about each pair, exactly the shape
# of the RN, whose $g_\theta$ only has to learn "is this pair close". For comparison, a
# per-object model $\rho(\sum_i \varphi(o_i))$ (the sum-pooling form of Deep Sets) gets the same
# training. It is order-invariant too, but it must encode every point's position in the sum so
# that $\rho$ can recover all pairwise distances from it, a much harder thing to learn. Both are
# trained for 400 steps on the squared error.

# %%
from _setup import heatmap, show_figure
import runnable.relation_networks as mechanism
result = mechanism.demo("cpu")

# %%
import matplotlib.pyplot as plt
import torch

count, guess = result["count"], result["guess"]
figure, axis = plt.subplots(figsize=(5, 3.2))
jitter = 0.15 * torch.randn(len(count))
axis.scatter(count + jitter, guess, s=6)
axis.plot([0, count.max()], [0, count.max()], color="#888888", linewidth=1)
axis.set_xlabel("true number of close pairs (jittered)")
axis.set_ylabel("relation network's output")
axis.set_title("300 test sets")
show_figure("Scatter of the relation network's output against the true number of close pairs for 300 test sets, with the identity line.")

# %% [markdown]
# ## Order does not matter, size does
#
# Shuffling the objects leaves the output as it was (up to the order of floating-point
# additions). Doubling the set, each point twice, is more instructive. Every ordered pair of the
# twelve points is a copy of an ordered pair of the six, four times over, so the pair sum is
# *exactly* four times the old one, and the output is $f_\phi$ of that. The true count for twelve
# points is $4c + 6$: each close pair four times, plus the six pairs of a point and its copy at
# distance zero. Those six look to $g_\theta$ exactly like the pairs $(o_i, o_i)$ it learned to
# ignore, so a network trained on six points answers about four times its earlier answer: near
# $4c$, not $4c + 6$.

# %%
torch.manual_seed(1)
rn = result["model"]                                   # the relation network trained above
points, count = mechanism.close_pairs("cpu", 3)
with torch.no_grad():
    for b in range(3):
        one = points[b:b + 1]
        shuffled, doubled = one[:, torch.randperm(6)], torch.cat([one, one], 1)
        ratio = (rn.relation_sum(doubled) / rn.relation_sum(one)).mean().item()
        print(f"set {b}: true c = {int(count[b])}, RN {rn(one).item():5.2f}, shuffled {rn(shuffled).item():5.2f} | "
              f"each point twice: pair sum x {ratio:.3f}, RN {rn(doubled).item():6.2f}, true 4c + 6 = {int(4 * count[b] + 6)}")
