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
# # Attention sinks and the StreamingLLM cache
#
# A chat model that should keep talking indefinitely cannot keep every token's keys and values:
# memory is finite, and a model trained on a few thousand tokens is not reliable beyond them. The
# natural compromise is a [sliding window](../sliding-window-attention/): keep the last $W$ tokens
# and drop the oldest whenever a new one arrives. Xiao et al. (2023) measured what that does to
# pretrained language models such as Llama-2, and the answer was surprising: perplexity stays fine
# until the very first tokens of the text are dropped, then shoots up.
#
# Looking at the attention maps, they found that in most layers past the first two, many heads send
# a large share of their weight to the first token or first few, whatever those tokens say. They
# called these tokens **attention sinks**. Their explanation: softmax weights must add up to one, so
# a head with nothing relevant to read must still put its weight somewhere, and causal training
# makes the first tokens the only ones that every later query can see. Once a model has learned to
# park weight there, evicting those tokens spreads the parked weight over the recent tokens instead,
# and every head's output shifts.
#
# **StreamingLLM** therefore keeps the first few tokens (four in the paper) for good, together with
# a window of recent ones:
#
# $$\text{cache}(t) = \{0, \dots, n_\text{sink} - 1\} \;\cup\; \{t - (W - n_\text{sink}) + 1, \dots, t\}.$$
#
# Positions are counted inside the cache, not in the text: the sinks are positions
# $0, \dots, n_\text{sink} - 1$ and the recent tokens follow them without a gap, so the model never
# sees a distance larger than it met in training. The paper also suggests pre-training with one
# dedicated sink token at the start of every sample, so that a single kept token is enough.
#
# This page uses the tiny [ALiBi](../alibi/) model, with a BOS token at the start of every training
# sample in the place of the dedicated sink, and compares three ways to read a stream longer than
# anything it was trained on, each with room for 32 tokens: a window alone, four sinks plus a window,
# and re-reading BOS and the last 31 tokens from scratch for every new token (exact but slow; the
# paper's strong baseline).

# %% [markdown]
# ## Running it
#
# Which tokens a query may read with two sinks and room for five, a check that the one-pass masked
# form equals decoding token by token through caches that really evict, and the three policies on
# a trained model (described below).

# %%
from _setup import heatmap, show_figure
import runnable.attention_sinks as mechanism
import matplotlib.pyplot as plt
import numpy as np
import torch

result = mechanism.demo("cpu")
assert result["error"] < 1e-5

# %% [markdown]
# ## The cache over a stream
#
# Four sinks and room for eight tokens: row $t$ lights the tokens query $t$ can still read. The
# first four columns stay lit all the way down; the rest is a band that slides.

# %%
allowed, distance = mechanism.cache_layout(16, 4, 8)
heatmap(allowed.float().numpy(), xlabel="key (token in the stream)", ylabel="query t",
        title="4 sinks + 4 recent tokens",
        alt="A 16 by 16 grid. The first four columns are lit from the diagonal down to the last row; from the ninth row "
            "on, the other lit cells form a band of four ending on the diagonal.")

# %% [markdown]
# ## A tiny model reading a long stream
#
# The model the demo trained: the one from the ALiBi page, with two layers, trained for 120 steps
# on BOS followed by 31 tokens of the same synthetic sequences (each token a fixed function of the
# two before it, or random one time in ten). It reads eight streams of 160 tokens, five times its
# training length, with room for 32 tokens under each policy. The curves are the loss at each
# position, averaged over the streams and smoothed over eight positions.

# %%
model, tokens, losses = result["model"], result["tokens"], result["per_token"]
smooth = np.ones(8) / 8
figure, axis = plt.subplots(figsize=(5.5, 3.2))
for (name, per_token), style in zip(losses.items(), ["-", "--", ":"]):
    axis.plot(np.arange(8, 160), np.convolve(per_token.numpy(), smooth, mode="valid"), style, label=name)
    print(f"{name:<18} mean loss, tokens 48-159: {per_token[48:].mean().item():.3f}")
axis.axvline(32, color="grey", linewidth=0.8)
axis.text(33, axis.get_ylim()[1], "first eviction", va="top", fontsize=8)
axis.set_xlabel("position in the stream")
axis.set_ylabel("next-token loss")
axis.legend()
show_figure("Line chart of next-token loss along a 160-token stream for three cache policies: window only, four sinks "
            "plus window, and recompute. The three lines lie on top of each other before and after the first eviction "
            "at token 32, all three moving together between about 0.2 and 1.3 as the tokens vary.")

# %% [markdown]
# ## Where the attention goes
#
# The share of each head's attention that lands on the BOS token, for queries at positions 16 to 31
# of a 32-token sample (the length the model was trained on). A head that spread its weight evenly
# would give BOS about $1/24$, roughly 0.04.

# %%
weights = []
with torch.no_grad():
    mechanism.streaming_forward(model, tokens[:, :32], 0, 32, weights)
on_bos = torch.stack([w[:, :, 16:, 0].mean((0, 2)) for w in weights])      # (layers, heads)
print("share of attention on BOS, rows = layers, columns = heads:")
print(np.round(on_bos.numpy(), 3))
heatmap(on_bos.numpy(), xlabels=[f"head {h + 1}" for h in range(4)], ylabels=["layer 1", "layer 2"],
        title="attention on BOS", alt="A 2 by 4 grid of the share of attention each head puts on the BOS token; "
        "every cell is small, at most a few hundredths, about what an even spread would give.")

# %% [markdown]
# ## What this tiny model does and does not show
#
# It shows no sink, and so no difference between the policies: no head of this model puts more
# weight on BOS than an even spread would, and the three curves coincide after the first eviction
# just as before it. That is an honest negative, not the paper's result, and it has plain reasons.
# The model has two layers and 120 training steps; its task needs only the two previous tokens, and
# its ALiBi slopes make distant tokens, BOS included, expensive to attend to. Its attention layers
# have bias terms, and a feedforward layer follows each of them, so a head that has nothing to read
# can be made harmless without a parking place. Longer training of a model like it (1,500 steps,
# on another synthetic task, tried while writing this page) showed no sink either.
#
# The sinks that Xiao et al. report live in models with billions of parameters trained on trillions
# of tokens, and there they are large: in Llama-2, heads in every layer above the first two
# concentrate on the first tokens. For those models evicting the first tokens is ruinous, and keeping
# four is enough to stream millions of tokens at the memory cost of the window alone. What the page does establish
# is the machinery: the cache policy, positions counted within the cache, and the proof (in the
# tests) that a masked forward pass computes exactly what token-by-token decoding with eviction
# computes.
