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
# # Native sparse attention
#
# Most sparse attention schemes were added to a model after training, to save time at inference.
# Native sparse attention (NSA; Yuan et al., 2025, from DeepSeek and Peking University) is sparse
# while the model is trained, and its sparsity comes in contiguous blocks, the unit in which a GPU
# reads memory efficiently. Each query reads three small sets of keys, one per branch, and a gate
# computed from the token mixes the three results:
#
# $$o_t = \sum_{c \in \{\text{cmp},\,\text{slc},\,\text{win}\}} g_t^c\;
#   \mathrm{Attention}\big(q_t, \tilde K_t^c, \tilde V_t^c\big), \qquad g_t^c \in [0, 1].$$
#
# **Compression.** Keys are cut into blocks of $l$ tokens every $d$ tokens, and a small learned map
# turns each block into a single key (and likewise for values). A query attends to the summaries of
# the blocks that are already complete: about $t/d$ coarse keys covering the whole past.
#
# **Selection.** The compressed branch's attention weights tell which regions of the past this query
# cares about, at no extra cost. They are added up over larger selection blocks of $l'$ tokens, and
# over all query heads that share a key-value head, so that a [grouped-query](../grouped-query-attention/)
# group fetches one set of blocks from memory. The $n$ highest-scoring blocks are kept (the first block
# and the two blocks nearest the query are always kept), and the query attends to every original
# key inside them, at full resolution.
#
# **Sliding window.** The last $w$ keys, as in [sliding-window attention](../sliding-window-attention/).
# The authors give local context its own branch because local patterns are learned quickly and
# would otherwise dominate the other two. Each branch also has its own key and value projections.
#
# With the paper's settings ($l = 32$, $d = 16$, $l' = 64$, $n = 16$, $w = 512$) a query reads at most
# $\lfloor (t-l)/d \rfloor + 1 + n l' + w$ keys, a number that grows only through the compressed
# branch. The tests check each branch against dense attention under the mask it stands for, and the
# whole layer against a loop written from the paper's equations.

# %% [markdown]
# ## Running it
#
# Keys read per query at the paper's settings; then a small random layer, whose selected branch is
# compared with dense attention restricted to the chosen blocks.

# %%
from _setup import show_figure
import runnable.native_sparse_attention as mechanism
import matplotlib.pyplot as plt
import torch

result = mechanism.demo("cpu")
assert result["error"] < 1e-12

# %% [markdown]
# ## What each query reads
#
# The same random layer (96 tokens, compression blocks of 4 every 2 tokens, selection blocks of 8,
# 4 of them chosen, a window of 6): for every query (row), the keys (columns) each branch lets it
# read, for the first key-value group. The selected blocks change from query to query, following the
# compressed scores; the forced first and local blocks make the left column and the diagonal band.

# %%
L, block, stride, select_block, window = 96, 4, 2, 8, 6
rows, keys = torch.arange(L)[:, None], torch.arange(L)[None, :]
starts = mechanism.block_starts(L, block, stride)
finished = (starts[None, :] + block - 1 <= rows)                                  # (L, C): block summaries
compressed = torch.zeros(L, L)
for i, start in enumerate(starts.tolist()):                                      # draw a summary over its tokens
    compressed[:, start:start + block] = torch.maximum(compressed[:, start:start + block], finished[:, i:i + 1].float())
selected = (result["chosen"][0, 0].repeat_interleave(select_block, -1) & (keys <= rows)).float()
sliding = ((keys <= rows) & (keys > rows - window)).float()
figure, axes = plt.subplots(1, 3, figsize=(8.4, 3.0), sharey=True)
for axis, (title, mask) in zip(axes, [("compressed", compressed), ("selected", selected), ("sliding window", sliding)]):
    axis.imshow(mask, cmap="viridis", vmin=0, vmax=1)
    axis.set_title(title)
    axis.set_xlabel("key")
axes[0].set_ylabel("query")
show_figure("Three 96 by 96 masks of which keys each query reads. Compressed: blocks summarised once they are "
            "complete, covering nearly the whole past. Selected: a few blocks of eight keys per query, always "
            "the first block and the two on the diagonal, plus one more that varies from query to query. "
            "Sliding window: a narrow band of six keys along the diagonal.")
