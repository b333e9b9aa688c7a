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
# # Differentiable neural computer: allocation and temporal links
#
# The [differentiable neural computer](../../entries/2016-graves-differentiable-neural-computer/)
# keeps the [Neural Turing Machine](../ntm-addressing/)'s arrangement: a controller reads and
# writes an $N \times W$ memory $M$ through soft weightings over its rows. Content lookup is
# unchanged, a softmax over cosine similarities $D$ sharpened by a strength $\beta$,
#
# $$C(M, k, \beta)[i] = \frac{\exp\big(\beta\, D(k, M[i])\big)}{\sum_j \exp\big(\beta\, D(k, M[j])\big)} ,$$
#
# but the NTM's location machinery (interpolation, shift, sharpening) is replaced by two new
# ways to address memory.
#
# **Dynamic allocation** answers "where is there room?". A usage value $u[i] \in [0, 1]$ per
# row goes up when the row is written and down when a read head, through its free gate
# $f^i \in [0, 1]$, says the row it just read may be released:
#
# $$\psi_t = \prod_{i=1}^{R} \big(1 - f^i_t\, w^{r,i}_{t-1}\big), \qquad
#   u_t = \big(u_{t-1} + w^w_{t-1} - u_{t-1} \odot w^w_{t-1}\big) \odot \psi_t .$$
#
# Sorting the rows by usage, least used first, gives the free list $\phi_t$, and allocation
# gives each row what it has free times how used every row before it in the list is:
#
# $$a_t[\phi_t[j]] = \big(1 - u_t[\phi_t[j]]\big) \prod_{i=1}^{j-1} u_t[\phi_t[i]] .$$
#
# If the least used row is entirely free it takes everything. The write head then chooses,
# with an allocation gate $g^a$, between a fresh row and a row found by content, and with a
# write gate $g^w$ whether to write at all; the write itself erases and adds as in the NTM:
#
# $$w^w_t = g^w_t \big(g^a_t\, a_t + (1 - g^a_t)\, C(M_{t-1}, k^w_t, \beta^w_t)\big), \qquad
#   M_t = M_{t-1} \odot \big(E - w^w_t e_t^\top\big) + w^w_t v_t^\top .$$
#
# **Temporal links** answer "what was written next?". The precedence $p_t[j]$ is the degree
# to which row $j$ was the last one written, and the link matrix $L_t[i, j]$ the degree to
# which row $i$ was written right after row $j$:
#
# $$p_t = \Big(1 - \sum_i w^w_t[i]\Big) p_{t-1} + w^w_t, \qquad
#   L_t[i, j] = \big(1 - w^w_t[i] - w^w_t[j]\big) L_{t-1}[i, j] + w^w_t[i]\, p_{t-1}[j],
#   \quad L_t[i, i] = 0 .$$
#
# From the rows a head read last step, $L_t w^r$ moves one write forwards in time and
# $L_t^\top w^r$ one backwards. Each read head mixes backward, content and forward with
# read modes $\pi_t$, a distribution over the three:
#
# $$w^{r}_t = \pi_t[1]\, L_t^\top w^{r}_{t-1} + \pi_t[2]\, C(M_t, k^{r}_t, \beta^{r}_t)
#   + \pi_t[3]\, L_t w^{r}_{t-1}, \qquad r_t = M_t^\top w^r_t .$$
#
# ## Where it sits
#
# Content lookup is the same soft, similarity-weighted read as in the NTM and in
# [end-to-end memory networks](../memory-networks/), and the same kind of weighted read that
# [attention over a source sentence](../bahdanau-attention/) performs. Allocation and links
# are what the DNC adds: the NTM could only move its head to neighbouring rows, so it relied
# on writing things next to each other; the DNC can put items anywhere free and still play
# them back in the order they were written.

# %% [markdown]
# ## Running it
#
# Ten rows, numbered from 0, of which rows 1, 4 and 5 already hold something (usage 1).
# Five items are written with the allocation gate open, so each goes to the least used row;
# the occupied rows are skipped. Then a read head looks up item 0 by content with a noisy key and follows
# the forward links four times, and afterwards looks up item 4 and follows the backward links.
# Allocation and the link matrix are checked against loops at every write.

# %%
from _setup import heatmap
import runnable.dnc_memory as mechanism
result = mechanism.demo("cpu")
heatmap(result["forward_weights"].numpy(), xlabel="memory row", ylabel="read step",
        ylabels=["content", "forward", "forward", "forward", "forward"],
        title="read weightings: item 0 by content, then forwards",
        alt="Heatmap of read weightings over memory rows: the first read step finds item 0 by content, the next four follow the forward links row by row.")
heatmap(result["link"].numpy(), xlabel="row $j$ (written earlier)", ylabel="row $i$ (written next)",
        title=r"temporal link matrix $L[i, j]$",
        alt="Heatmap of the temporal link matrix L[i, j]: a single strong entry for each pair of rows written one after the other.")
assert result["allocation_error"] < 1e-6 and result["link_error"] < 1e-6

# %% [markdown]
# ## Allocation with partly used rows
#
# With soft usage, allocation is a soft choice that still prefers the least used row. Each row
# in the free list receives its free fraction times the product of the usages before it, so
# the whole allocation sums to $1 - \prod_i u[i]$: a full memory has nothing to give.

# %%
import torch

u = torch.tensor([[0.9, 0.2, 0.7, 1.0, 0.4, 0.95]])
a = mechanism.allocation(u)
order = torch.sort(u, stable=True).indices[0].tolist()
print("usage u        ", [f"{x:.2f}" for x in u[0].tolist()])
print("free list φ    ", order)
print("allocation a   ", [f"{x:.3f}" for x in a[0].tolist()])
print(f"Σ a = {a.sum():.4f},  1 - Π u = {1 - u.prod():.4f}")

# %% [markdown]
# ## Freeing a row and reusing it
#
# A memory of three rows is filled. A read head then reads row 1 by content, and at the next
# write its free gate is open: row 1's usage drops to zero, and allocation puts the new item
# there. The link matrix records that the new item came after row 2, the last one written.

# %%
dnc = mechanism.DNCMemory(1, 3, 2, reads=1)
one, ones = torch.ones(1), torch.ones(1, 2)
values = torch.tensor([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]])
for t in range(3):
    w = dnc.write(ones, one, ones, values[t:t + 1], one, one)
    print(f"write {t}: to row {int(w.argmax())}")
dnc.read(values[None, 1:2], torch.full((1, 1), 100.0), torch.tensor([[[0.0, 1.0, 0.0]]]))
print(f"read by content: row {int(dnc.read_weights.argmax())}")
w = dnc.write(ones, one, ones, torch.tensor([[0.6, 0.8]]), one, one, free_gates=one[:, None])
print(f"write with the free gate open: usage it allocated from {[round(x, 2) for x in dnc.usage[0].tolist()]}, "
      f"to row {int(w.argmax())}; L[1, 2] = {dnc.link[0, 1, 2]:.2f}")
