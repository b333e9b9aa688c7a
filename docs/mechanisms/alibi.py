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
# # ALiBi: attention with linear biases
#
# Attention by itself cannot tell where a token stands: permute the keys and values and each
# query gets the same answer. The original Transformer fixes this by adding a
# [sinusoidal position vector](../transformer-block/) to each word embedding; later models
# rotate queries and keys instead ([RoPE](../rotary-embeddings/)). Press, Smith and Lewis (2021)
# asked what happens when such a model meets a sequence longer than any it was trained on, and
# found that sinusoidal models degrade quickly while rotary ones degrade more slowly.
#
# Their proposal, **ALiBi**, puts no position information into the embeddings at all. Each head
# instead subtracts from its causal attention scores a penalty proportional to how far back the
# key lies:
#
# $$s_{ij} = \frac{q_i \cdot k_j}{\sqrt d} + m_h\,(j - i), \qquad j \le i,$$
#
# so query $i$'s bias row is $m_h\,[-i, \dots, -2, -1, 0]$. The slopes $m_h$ are constants chosen
# before training: for $n$ heads, the geometric sequence that starts at $2^{-8/n}$ and keeps
# multiplying by $2^{-8/n}$ (for eight heads $\tfrac12, \tfrac14, \dots, \tfrac1{256}$). Steep
# heads look at the last few tokens only, shallow ones far back. Because the bias depends on
# $j - i$ alone, a position the model has never seen is no different from one it has: that is
# what lets a model trained on short inputs read long ones.
#
# The tests compare `alibi_attention` with a loop written from the equation above and with
# PyTorch's `scaled_dot_product_attention` given the bias as its `attn_mask`.

# %% [markdown]
# ## Running it
#
# The slopes for eight heads and for twelve (not a power of two: the first eight are the
# eight-head slopes, the other four fall between them), the bias of the steepest head, and the
# agreement with PyTorch.

# %%
from _setup import show_figure
import runnable.alibi as mechanism
import matplotlib.pyplot as plt
import torch

result = mechanism.demo("cpu")
assert result["error"] < 1e-5
slopes = torch.tensor(mechanism.alibi_slopes(8))
bias = mechanism.alibi_bias(slopes, 12, 12)
figure, axes = plt.subplots(1, 2, figsize=(8, 3), layout="constrained")
for axis, head in zip(axes, [0, 7]):
    image = axis.imshow(bias[head].masked_fill(bias[head].isinf(), float("nan")), cmap="viridis")
    axis.set_title(f"head {head + 1}: m = 1/{1 / slopes[head].item():.0f}")
    axis.set_xlabel("key position j")
    axis.set_ylabel("query position i")
    figure.colorbar(image, ax=axis, fraction=0.046)
show_figure("Two 12 by 12 heat maps of the ALiBi bias, blank above the diagonal (masked). For the steepest head, slope one half, "
            "the bias falls to minus 5.5 at the far corner; for the shallowest, slope 1/256, it stays within a few hundredths of zero.")

# %% [markdown]
# ## Train short, test long
#
# A small experiment in the spirit of the paper's first figure. The data are sequences over eight
# symbols in which each token is a fixed random function of the two before it, replaced by a random
# symbol one time in ten (so no model can do better than a loss of about 0.47). Two one-layer
# models, identical except for how they learn position, are trained for 150 steps on sequences of
# 24 tokens: one with ALiBi, one with sinusoidal position vectors. Then both read sequences of the
# same kind, up to eight times longer.

# %%
lengths = [24, 48, 96, 192]
losses = mechanism.train_short_test_long(train_length=24, test_lengths=lengths)
print(f"{'tokens':>8} {'ALiBi':>8} {'sinusoidal':>11}   (cross-entropy, nats)")
for L, a, s in zip(lengths, losses["alibi"], losses["sinusoidal"]):
    print(f"{L:>8} {a:>8.3f} {s:>11.3f}")
figure, axis = plt.subplots(figsize=(4.8, 3))
axis.plot(lengths, losses["alibi"], "o-", label="ALiBi")
axis.plot(lengths, losses["sinusoidal"], "s-", label="sinusoidal")
axis.axvline(24, color="grey", linestyle=":", label="training length")
axis.set_xscale("log", base=2)
axis.set_xticks(lengths, [str(L) for L in lengths])
axis.set_xlabel("tokens read")
axis.set_ylabel("next-token loss")
axis.legend()
show_figure("Line chart of next-token loss against sequence length, 24 to 192 tokens. The sinusoidal model's loss climbs "
            "steeply past the training length of 24; the ALiBi model's loss rises at 48 tokens and then stays almost level.")

# %% [markdown]
# The sinusoidal model has only ever seen the position vectors of positions 0 to 23; further on it
# adds vectors it has no use for, and its predictions fall apart. The ALiBi model's loss rises
# somewhat once the input is longer than in training and then holds: its shallow heads average over
# more tokens than they ever did in training, while the steep heads, which carry the two previous
# tokens, see exactly what they always saw. This is a toy with a rule that needs only two tokens
# of context. In the paper, on real text, ALiBi models read inputs longer than their training
# length with perplexity no worse (often better) than at the training length, and a model trained
# on 1,024 tokens matched a sinusoidal one trained on 2,048.
