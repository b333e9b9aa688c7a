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
# # Attentional neural network: gating the input from the top down
#
# Most attention in this atlas is a weighted average over positions. The
# [attentional neural network](../../entries/2014-wang-attentional-neural-network/) of Wang,
# Zhang, Song and Zhang (2014) is attention of another kind: a *hypothesis* about what is in the
# image switches features on and off. A cognitive bias $b$, one entry per class, says which class
# the network is looking for. A learned map turns $b$ into a gate over hidden units, and the
# features the input evokes are multiplied by that gate before the network reconstructs what it
# believes it sees. The reconstruction is then laid over the raw input as a mask, and the masked
# input goes round the loop again.
#
# This page implements that scheme in its simplest form, and says so: the equations below are
# this module's, not a transcription of the paper's network, whose layer sizes, training and
# classification module are not reproduced. For an input $x \ge 0$ with $D$ features, $M$
# hidden units and a bias $b$,
#
# $$h = \sigma(W x_t + c), \qquad g = \sigma(U b), \qquad
#   z_t = \sigma\big(W' (h \odot g) + d\big), \qquad x_{t+1} = x \odot z_t, \quad x_0 = x .$$
#
# The mask $z_t$ has one entry per input feature, each in $(0, 1)$: it is a gate, not a
# distribution. Two choices carry the idea:
#
# - **The gate $g$ depends on the hypothesis alone.** The input decides which features respond;
#   the hypothesis decides which of those responses may shape the reconstruction.
# - **Every pass gates the raw input $x$**, not the previous pass's output. Since $z_t \le 1$,
#   the output never holds more than the input did: a wrong hypothesis can suppress ink but
#   cannot paint in the object it expects. The paper's authors give this as their guard against
#   such hallucination.
#
# ## Where it sits
#
# Soft attention over positions, as in [Bahdanau attention](../bahdanau-attention/) or the
# [image captioner of Xu et al.](../visual-attention/), chooses *where* to read and mixes what is
# there. Feedback gating chooses *which features* survive, by multiplying them by a gain set from
# above, closer to the gain-modulation accounts of attention in neuroscience. Multiplicative gates on
# features are common in later networks too, from gated recurrent units to per-channel weights,
# but there the gate is computed from the input itself, with no class hypothesis sent down from
# above. [Dual attention](../dual-attention/) has a channel branch that mixes feature maps by
# their similarity, a different operation again.

# %% [markdown]
# ## Running it: two superimposed strokes
#
# Six 8 × 8 stroke patterns (T, L, box, X, =, ||) stand in for digits. An input is two different
# patterns, each shifted by up to a pixel on its own, overlaid by taking the pixel-wise maximum,
# like the two overlaid digits the paper separated. The shift matters: with fixed patterns the
# mask could be recalled from the hypothesis without looking at the input, and the bottom-up path
# would have nothing to do. The module is trained for 300 steps to make each pass's mask
# reproduce the hypothesised pattern A; then, on fresh overlays, we measure the fraction of ink
# that survives on pixels belonging only to A, only to B, and to both.

# %%
from _setup import heatmap, show_figure
import runnable.attentional_neural_network as mechanism
result = mechanism.demo("cpu")

# %% [markdown]
# A single pass ($T = 1$) already keeps most of A and drops most of B; feeding the gated input
# back makes the second pass see a cleaner A, and what is left of B falls further. Asking for B
# instead, on the same inputs, reverses the roles. A hypothesis that is in neither pattern keeps
# only the ink it can explain, which is never more than what the input holds.

# %%
import matplotlib.pyplot as plt

examples, names = result["examples"], result["names"]
columns = ["input", "toward A", "toward B", "not there"]
figure, axes = plt.subplots(4, 4, figsize=(6.4, 6.6))
for row in range(4):
    a, b, absent = names[row]
    titles = [f"{a} + {b}", f"hypothesis {a}", f"hypothesis {b}", f"hypothesis {absent}"]
    for col, (key, title) in enumerate(zip(columns, titles)):
        axes[row, col].imshow(examples[key][row].numpy(), cmap="viridis", vmin=0, vmax=1)
        axes[row, col].set_title(title, fontsize=8)
        axes[row, col].axis("off")
figure.suptitle("gated input $x_3$ after three passes")
plt.tight_layout()
show_figure("Grid of images, one row per example: the two superposed patterns and the gated input x3 after three feedback passes under hypothesis A, hypothesis B and an absent hypothesis.")

# %% [markdown]
# ## The survival table, pass by pass

# %%
import numpy as np

table = np.array([[r["only A"], r["only B"], r["shared"]] for r in result["survival"].values()])
heatmap(table, xlabels=["only A", "only B", "shared"], ylabels=[f"T = {t}" for t in result["survival"]],
        xlabel="pixels of", ylabel="passes", title="fraction of ink kept, hypothesis A",
        alt="Heatmap of the fraction of ink kept under hypothesis A, for pixels only in A, only in B and shared, one row per number of passes.")
