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
# # Cross-attention in the Transformer decoder
#
# The [Transformer](../../entries/2017-vaswani-attention-is-all-you-need/) uses one attention
# function, $\mathrm{Attention}(Q, K, V) = \mathrm{softmax}(QK^\top/\sqrt{d_k})\,V$, run as
# several heads on learned projections,
#
# $$\mathrm{head}_h = \mathrm{Attention}(Q W_h^Q, K W_h^K, V W_h^V), \qquad
#   \mathrm{MultiHead}(Q, K, V) = \mathrm{Concat}(\mathrm{head}_1, \dots, \mathrm{head}_H)\, W^O ,$$
#
# and what distinguishes its uses is only where $Q$, $K$ and $V$ come from and which entries
# the mask removes. The decoder uses it twice per layer:
#
# * **masked self-attention**: $Q = K = V$ = the decoder's own states $y$, with $-\infty$ added
#   to the score of every later position, so that position $t$ sees only positions $\le t$
#   and the decoder can be trained on whole target sentences at once without peeking ahead;
# * **cross-attention** (encoder–decoder attention): $Q = y$, while $K = V = m$, the encoder's
#   output. Each target position asks which source positions matter for it, exactly the
#   question that [additive attention](../bahdanau-attention/) and
#   [Luong's attention](../luong-attention/) asked of an RNN encoder, now with dot-product
#   scores and several heads.
#
# A batch of sentences of different lengths is padded to a common length, and the padding
# must not be attended to: a padded source position gets score $-\infty$, hence weight
# exactly $0$, whatever its vector holds. Nothing ties the two lengths together, so each
# cross-attention head produces an $L_q \times L_k$ alignment between target and source.
#
# The layer wraps each sub-layer in a residual connection followed by layer normalisation,
# and ends with a position-wise feed-forward network:
#
# $$y \leftarrow \mathrm{LN}\big(y + \mathrm{SelfAttn}(y)\big), \qquad
#   y \leftarrow \mathrm{LN}\big(y + \mathrm{CrossAttn}(y, m)\big), \qquad
#   y \leftarrow \mathrm{LN}\big(y + \max(0, y W_1 + b_1) W_2 + b_2\big).$$
#
# ## Where it sits
#
# Cross-attention is the Transformer's version of the encoder–decoder attention that began
# with [Bahdanau et al.](../bahdanau-attention/); queries still come from the decoder and
# keys and values from the encoder. The pieces it is built from, scaled dot-product
# attention and multiple heads, have their own pages:
# [scaled dot-product attention](../scaled-dot-product-attention/),
# [multi-head attention](../multi-head-attention/), and the encoder's
# [Transformer block](../transformer-block/). The heads here are that multi-head module,
# called with the decoder's queries and the encoder's keys and values.

# %% [markdown]
# ## Running it
#
# A source of six words is padded to eight positions, and a five-word target holds the same
# words in another order. The projections are set by hand, $W^Q \propto W^K \propto W^V =
# W^O = I$, so a query's score is highest for the source word equal to it: the map should
# be a permutation. The two padding rows are copies of a target word, a perfect match, and
# still get weight zero. The demo then compares, with random weights, this module with
# `torch.nn.MultiheadAttention` and the decoder layer with `torch.nn.TransformerDecoderLayer`.

# %%
from _setup import heatmap
import runnable.cross_attention as mechanism
result = mechanism.demo("cpu")
heatmap(result["weights"].numpy(), xlabels=[f"{w}" for w in result["source"]] + ["pad", "pad"],
        ylabels=result["target"], xlabel="source word (encoder memory)", ylabel="target word (query)",
        title="cross-attention weights, averaged over heads",
        alt="Heatmap of cross-attention weights, averaged over heads: each target word (row) over the source words of the encoder memory (columns); the two padding columns get zero weight.")
assert result["attention_gap"] < 1e-5 and result["layer_gap"] < 1e-5

# %% [markdown]
# ## The causal mask, seen from the outputs
#
# Changing a target token can only change the outputs at its own and later positions.
# Below, token 3 of a six-token target is replaced, and the change in each position's output
# of an untrained decoder layer is printed: positions 0 to 2 do not move at all.

# %%
import torch

torch.manual_seed(1)
layer = mechanism.DecoderLayer(16, 2, 32)
target, memory = torch.randn(1, 6, 16), torch.randn(1, 8, 16)
changed = target.clone()
changed[0, 3] = torch.randn(16)
with torch.no_grad():
    before, (self_weights, _) = layer(target, memory)
    after, _ = layer(changed, memory)
print("max |change| per target position:", [f"{x:.1e}" for x in (after - before).abs().amax(-1)[0].tolist()])
heatmap(self_weights.mean(1)[0].numpy(), xlabel="key position $s$", ylabel="query position $t$",
        title="causal self-attention weights (zero above the diagonal)",
        alt="Heatmap of causal self-attention weights, query position by key position: every weight above the diagonal is zero.")
