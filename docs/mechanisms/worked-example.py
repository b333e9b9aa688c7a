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
# # A worked example: one head, four tokens
#
# This page follows a four-word sentence through one head of scaled dot-product attention with
# every number shown, in the spirit of Jay Alammar's
# [Illustrated Transformer](../../entries/2018-alammar-illustrated-transformer/). The sizes are
# tiny on purpose: each token is a vector of $d_\text{model} = 4$ numbers, and the head works in
# $d_k = d_v = 4$ dimensions. The symbols are those of the [notation page](../../notation/);
# the attention itself is computed by the tested module of the
# [scaled dot-product page](../scaled-dot-product-attention/), and the steps below rebuild its
# result by hand.
#
# The embeddings and the three projection matrices are random numbers rounded to one decimal,
# fixed by a seed: in a trained model they would be learned, but the arithmetic is the same.

# %%
import math

import torch

from runnable.scaled_dot_product_attention import scaled_dot_product_attention

tokens = ["the", "cat", "sat", "down"]
generator = torch.Generator().manual_seed(3)


def rounded(*shape):
    """Random numbers with one decimal, easy to multiply by eye."""
    return torch.round(torch.randn(*shape, generator=generator, dtype=torch.float64) * 10) / 10


def show(name, matrix, rows, columns):
    """Print a small matrix with its row and column labels."""
    print(name)
    print("      " + "".join(f"{c:>7}" for c in columns))
    for label, row in zip(rows, matrix.tolist()):
        print(f"{label:>6}" + "".join(f"{x:7.2f}" for x in row))
    print()


X = rounded(4, 4)                      # one row per token: the input embeddings (n × d_model)
show("X: embeddings", X, tokens, ["x1", "x2", "x3", "x4"])

# %% [markdown]
# ## Step 1: queries, keys and values
#
# Each token's embedding is multiplied by three matrices, $W^Q$, $W^K$ and $W^V$
# ($d_\text{model} \times d_k$), giving its query (what it looks for), its key (what it offers to be
# found by) and its value (what it passes on when found): $Q = XW^Q$, $K = XW^K$, $V = XW^V$.

# %%
W_Q, W_K, W_V = rounded(4, 4), rounded(4, 4), rounded(4, 4)
Q, K, V = X @ W_Q, X @ W_K, X @ W_V     # each (n × d_k) = (4 × 4)
features = ["1", "2", "3", "4"]
show("Q = X W^Q", Q, tokens, features)
show("K = X W^K", K, tokens, features)
show("V = X W^V", V, tokens, features)

# %% [markdown]
# ## Step 2: scores
#
# Every query is compared with every key by a dot product: row $i$, column $j$ of $QK^\top$ is
# $q_i \cdot k_j$, how well token $j$'s key matches token $i$'s query.

# %%
scores = Q @ K.T                        # (n × m) = (4 × 4): queries down, keys across
show("S = Q K^T", scores, tokens, tokens)

# %% [markdown]
# ## Step 3: scaling
#
# The scores are divided by $\sqrt{d_k} = \sqrt 4 = 2$, which keeps their spread from growing
# with the head's width (the [Transformer essay](../../essays/transformers/) gives the
# variance argument).

# %%
scaled = scores / math.sqrt(Q.shape[-1])
show("S / sqrt(d_k)", scaled, tokens, tokens)

# %% [markdown]
# ## Step 4: softmax
#
# Each row is exponentiated and divided by its sum, so it becomes a set of weights $a_{ij}$
# that are positive and add up to one: how much of each token's value token $i$ will read.

# %%
weights = torch.exp(scaled) / torch.exp(scaled).sum(dim=-1, keepdim=True)
show("A = softmax(S / sqrt(d_k)), row by row", weights, tokens, tokens)
print("row sums:", [round(x, 6) for x in weights.sum(-1).tolist()])

# %% [markdown]
# ## Step 5: the weighted sum
#
# Each output row is the weighted average of the value rows, $o_i = \sum_j a_{ij} v_j$, that is
# $O = AV$: a new vector for each token, made mostly of the values of the tokens it attends to.

# %%
output = weights @ V                    # (n × d_v) = (4 × 4)
show("O = A V", output, tokens, features)

# %% [markdown]
# ## The same, from the module
#
# The project's [scaled dot-product attention](../scaled-dot-product-attention/) computes steps
# 2 to 5 in one call. Its weights and output agree with the hand-made ones to rounding error,
# and with the causal mask each token may read only itself and the tokens before it, so the
# weights above the diagonal become exactly zero.

# %%
module_output, module_weights = scaled_dot_product_attention(Q, K, V)
assert torch.allclose(module_weights, weights) and torch.allclose(module_output, output)
print("largest difference, weights:", f"{(module_weights - weights).abs().max().item():.1e}")
print("largest difference, output: ", f"{(module_output - output).abs().max().item():.1e}")
print()
_, causal_weights = scaled_dot_product_attention(Q, K, V, causal=True)
show("A with the causal mask", causal_weights, tokens, tokens)
