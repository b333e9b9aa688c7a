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
# # Dichotic listening: filter, attenuation and late selection
#
# In [Cherry's shadowing experiments](../../entries/1953-cherry-cocktail-party/) each ear hears
# a different message and the listener repeats one of them aloud. Afterwards almost nothing of
# the other message can be reported. [Moray](../../entries/1959-moray-own-name/) found the
# exception that every later theory had to explain: the listener's own name in the rejected
# ear is noticed far more often than other material. Three classic theories place selection
# at different points, and here they are written as one model with two settings.
#
# **Channels and gain.** Two ears $c$ carry one word per time step $t$. A selective filter,
# set by a physical cue (which ear), scales each channel before recognition: gain 1 for the
# attended ear and $g$ for the other. The word on channel $c$ reaches its unit in the
# mental dictionary as noisy evidence, and the unit fires when the evidence passes the word's
# threshold:
#
# $$e_{ct} = g_c\,(1 + \varepsilon_{ct}), \quad \varepsilon_{ct} \sim \mathcal N(0, \sigma^2), \qquad
#   \text{recognised}_{ct} = \big[e_{ct} > \theta_{w}\big].$$
#
# The noise belongs to the sound in the ear, so the filter scales it together with the
# signal: with $g = 0$ nothing of that ear reaches the dictionary. For $g > 0$ the
# probability that a presented word is recognised has a closed form,
#
# $$P(\text{recognised}) = 1 - \Phi\!\Big(\frac{\theta_w / g - 1}{\sigma}\Big),$$
#
# so turning an ear down by $g$ has the same effect as raising every threshold on it by $1/g$.
# Important words such as one's own name have a lower threshold $\theta_{\text{name}} < \theta_{\text{word}}$.
#
# **Where selection happens.** With *early* selection, everything that is recognised reaches
# awareness: the filter has already done the selecting. With *late* selection, every input is
# recognised and then weighed: word $w$ on channel $c$ has importance
# $I_{ct} = \text{task}_c + \text{importance}_w$ (the shadowed ear is important for the task; the
# own name is important in itself), a reference level rises to the largest importance among
# the recognised words of that moment, and only words at that level get through.
#
# The three theories are three settings of the same model:
#
# | theory | gain $g$ of the unattended ear | selection |
# |---|---|---|
# | [Broadbent's filter](../../entries/1958-broadbent-filter-theory/) | $0$ | early |
# | [Treisman's attenuation](../../entries/1964-treisman-attenuation/) | $0 < g < 1$ (here $0.25$) | early, with low thresholds for important words |
# | [Deutsch and Deutsch](../../entries/1963-deutsch-late-selection/) | $1$ | late, by importance |
#
# All three share one dictionary (word threshold $0.5$, own-name threshold $0.28$,
# $\sigma = 0.3$). These numbers are chosen for illustration. The model reproduces the
# **qualitative** findings only (the rejected message is lost; the own name sometimes gets
# through); the rates it prints are not fits to Cherry's or Moray's data.

# %% [markdown]
# ## Running it
#
# Each of 2000 simulated trials has ten word pairs; the own name arrives once, at a random
# moment, in the unattended ear. All three theories hear the same streams with the same noise.

# %%
from _setup import show_figure
import runnable.dichotic_listening as mechanism
import matplotlib.pyplot as plt
import numpy as np

result = mechanism.demo("cpu")
measures = ["shadowed", "own name", "other words"]
labels = ["attended words\nshadowed", "unattended\nown name", "other unattended\nwords"]
figure, axis = plt.subplots(figsize=(6.5, 3))
for k, name in enumerate(result["names"]):
    values = [result["rates"][name][m] for m in measures]
    bars = axis.bar(np.arange(3) + (k - 1) * 0.27, values, width=0.27, label=name)
    axis.bar_label(bars, fmt="%.2f", fontsize=7, color="#888888")
axis.set_xticks(range(3), labels)
axis.set_ylabel("fraction reaching awareness")
axis.set_ylim(0, 1.15)
axis.legend(fontsize=7, frameon=False, loc="upper center", ncols=3)
show_figure("Grouped bar chart, one colour per model: the fraction reaching awareness of the attended words shadowed, the unattended own name and other unattended words.")
assert result["max_error"] < 0.04

# %% [markdown]
# All three theories explain Cherry's finding: the attended message is shadowed, and almost
# nothing of the other ear gets through. They differ on the own name. The filter never passes
# it, because with $g = 0$ no evidence reaches the dictionary. Attenuation passes it on
# roughly a third of trials: the weakened signal passes the name's low threshold but almost
# never the ordinary words' threshold. Late selection passes it almost every time, and
# predicts something the early theories do not. When the name wins, the attended word at
# that moment loses, so shadowing drops by about the one word in ten that coincides with the
# name. Ordinary unattended words get through when the attended word of that moment was
# missed (a few per cent), because then they are the most important signal left.
#
# ## How much to attenuate
#
# Treisman's account depends on the gain being neither 0 nor 1. Sweeping $g$ for the early
# selection model shows the window: the own name is recognised well before ordinary words are.
# Points are simulated; lines are the closed form $1 - \Phi((\theta/g - 1)/\sigma)$.

# %%
import torch

thresholds, importance = mechanism.dictionary()
generator = torch.Generator().manual_seed(1)
words = mechanism.make_streams(2000, 10, 50, generator)
noise = 0.3 * torch.randn(words.shape, generator=generator)
gains = np.linspace(0.0, 1.0, 21)
simulated = [mechanism.rates(words, mechanism.listen(mechanism.SelectionTheory("early", g), words, noise,
                                                      thresholds, importance)) for g in gains]
fine = np.linspace(0.005, 1.0, 200)
figure, axis = plt.subplots(figsize=(5, 3))
for key, theta, colour in [("own name", 0.28, "C1"), ("other words", 0.5, "C0")]:
    axis.plot(gains, [s[key] for s in simulated], "o", color=colour, markersize=3, label=f"{key} (simulated)")
    axis.plot(fine, [mechanism.expected_recognition(g, theta, 0.3) for g in fine], color=colour, lw=1,
              label=rf"closed form, $\theta$ = {theta}")
axis.axvline(0.25, color="#888888", ls=":", lw=1)
axis.set_xlabel("gain $g$ of the unattended ear")
axis.set_ylabel("recognised in the unattended ear")
axis.legend(fontsize=7, frameon=False)
show_figure("Scatter and line chart: the share recognised in the unattended ear against that ear's gain g, simulated points and the closed-form curves for each threshold theta.")
print(f"g = 0.25: own name {simulated[5]['own name']:.3f}, other words {simulated[5]['other words']:.4f}")

# %% [markdown]
# ## What machine attention took from it
#
# The three settings are the three ways machine attention later handled many inputs at once:
#
# - **A hard gate on a channel label.** Broadbent's filter picks one source on a surface
#   feature and discards the rest, like the hard glimpses of
#   [recurrent visual attention](../visual-attention/), which take one location and see nothing
#   else.
# - **A graded weight on every input.** Attenuation lets everything through, scaled. That is
#   the soft weighting of [additive attention](../bahdanau-attention/) and of
#   [scaled dot-product attention](../scaled-dot-product-attention/), where no input is
#   entirely cut off and a strong enough input can make itself felt.
# - **Selection by content after full analysis.** Deutsch and Deutsch score every fully
#   analysed input by its importance and keep the most important one. Content-based
#   addressing in [neural Turing machines](../ntm-addressing/) and
#   [memory networks](../memory-networks/) scores every stored item by its content. It uses a
#   softmax in place of the hard comparison, so the choice can be learned by gradient descent.
