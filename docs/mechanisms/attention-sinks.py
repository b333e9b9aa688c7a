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
# This page trains the tiny [ALiBi](../alibi/) model on a stream built so that its heads usually
# have nothing to read, watches a sink form on the BOS token that starts every training sample
# (standing in for the paper's dedicated sink token), and then compares three ways to read a
# stream five times longer than anything it was trained on, each with room for 32 tokens: a window
# alone, four sinks plus a window, and re-reading BOS and the last 31 tokens from scratch for every
# new token (exact but slow; the paper's strong baseline).
#
# With ALiBi, "positions counted inside the cache" means that the bias a head adds for a key is its
# slope times the key's distance from the query *in the cache*: the sinks sit just before the
# oldest recent token, so BOS is never further than 31 places from any query, as in training.

# %% [markdown]
# ## Running it
#
# Which tokens a query may read with two sinks and room for five; a check that the one-pass masked
# form equals decoding token by token through caches that really evict; then the trained model's
# share of attention on BOS and its loss under the three policies (both described below).

# %%
from _setup import heatmap, show_figure
import runnable.attention_sinks as mechanism
import math
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
# ## A task where heads have nothing to read
#
# The training stream is noise with a rare signal. Every token is drawn uniformly from 32, except
# after one of four "trigger" tokens: there the next token repeats the one just before the
# trigger. One token in eight can thus be predicted, by a head that looks one place back; for the
# other seven the best a model can do is the uniform guess, $\log 32 \approx 3.47$ nats, and
# anything a head reads from the context and passes on only makes the guess worse. The model (two
# layers, four heads each, ALiBi, the one from the ALiBi page) trains for 400 steps on BOS followed
# by 31 such tokens, a few seconds on one CPU thread.
#
# A head that should copy after a trigger and stay silent elsewhere has a problem the softmax makes
# for it: it cannot attend to nothing. The grid shows where the trained heads put their weight
# instead: the share of attention on BOS, for queries at positions 16 to 31 of a 32-token sample.
# Spread evenly, BOS would get at most 1/17 of it.

# %%
on_bos = result["on_bos"]                                   # printed by the demo above
heatmap(on_bos.numpy(), xlabels=[f"head {h + 1}" for h in range(4)], ylabels=["layer 1", "layer 2"],
        title="attention on BOS", alt="A 2 by 4 grid of the share of attention each head puts on the BOS token. In "
        "layer 1, three heads put a large share on BOS, one of them most of its attention; the fourth and all four "
        "heads of layer 2 put next to none there.")

# %% [markdown]
# The same shares in layer 1, split by the token at the query: a head that parks its weight on
# BOS should leave it when the current token is a trigger, the one place where there is something
# to copy.

# %%
sample = result["tokens"][:, :32]
is_trigger = sample < 4                                      # trigger ids are 0 … 3; BOS is 32
print(f"{'layer 1':<19}", " ".join(f"head {h + 1}" for h in range(4)))
for label, queries in [("query is a trigger", is_trigger), ("any other query", ~is_trigger)]:
    share = mechanism.attention_on_first_token(result["model"], sample, 16, queries)[0]
    print(f"{label:<19}", " ".join(f"{x:6.2f}" for x in share.tolist()))

# %% [markdown]
# ## Reading a long stream
#
# Thirty-two streams of 160 tokens, each with room for 32 under each policy. The curves are the loss at
# each position, averaged over the streams and smoothed over eight positions; the grey line is the
# uniform guess.

# %%
losses = result["per_token"]
smooth = np.ones(8) / 8
figure, axis = plt.subplots(figsize=(5.5, 3.2))
for (name, per_token), style in zip(losses.items(), ["-", "--", ":"]):
    axis.plot(np.arange(8, 160), np.convolve(per_token.numpy(), smooth, mode="valid"), style, label=name)
axis.axhline(math.log(32), color="grey", linewidth=0.8)
axis.axvline(32, color="grey", linewidth=0.8, linestyle=":")
axis.text(33, axis.get_ylim()[1], "first eviction", va="top", fontsize=8)
axis.set_xlabel("position in the stream")
axis.set_ylabel("next-token loss")
axis.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=3, fontsize=8)
show_figure("Line chart of next-token loss along a 160-token stream for three cache policies: window only, four sinks "
            "plus window, and recompute. Until the first eviction at token 32 the three lines coincide, below the "
            "uniform guess. After it the window-only line climbs above the uniform guess and stays above it, while the "
            "four-sinks line keeps lying on the recompute line, below the uniform guess.")

# %% [markdown]
# ## What the tiny model shows and what it does not
#
# The sink forms, and it matters. In the first layer, heads send a large share of their attention
# to BOS whenever the current token is not a trigger, and leave BOS when it is. Evict
# BOS, as the plain window does once the stream passes 32 tokens, and that parked weight lands on
# recent tokens, so those heads' outputs no longer hold the near-constant value they read from BOS
# but vary with whatever the recent tokens are. The loss rises above that of the uniform guess,
# which knows nothing at all (the demo's printout above gives the means over tokens 48 to 159).
# Keeping the first four tokens brings back the model's own loss: the StreamingLLM cache matches
# recomputing every prediction from scratch, at the memory of the window alone. The test file
# checks all of this for the seed shown here: a head with more than half of its attention on BOS
# that drops below a tenth from trigger queries, window only more than 0.2 nats worse per token
# than the cache with sinks and worse than the uniform guess, and the cache with sinks within 0.02
# of recompute.
#
# It is still a toy. Its sinks sit in the first layer, while in large models Xiao et al. find
# them in nearly every layer above the first two. How strong the sink gets
# depends on the training run: in our checks most other seeds give the same picture, but a run can
# also end with a weak sink and no gap. And the task was chosen to leave the heads idle most of the
# time, which a language model's heads are too, but for reasons far less simple.
