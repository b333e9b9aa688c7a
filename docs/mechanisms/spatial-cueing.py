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
# # Spatial cueing and the attentional spotlight (Posner)
#
# In [Posner's cueing task](../../entries/1980-posner-orienting/) the observer keeps the eyes
# on a central point, and a cue indicates where a target is likely to appear. After a *valid*
# cue (the target appears where cued) detection is faster than after a *neutral* cue, and after
# an *invalid* cue (the target appears elsewhere) it is slower. The eyes do not move, so the
# benefit and the cost come from moving attention covertly. Posner described this attention as
# a spotlight that improves processing inside its beam.
#
# ## A model: a spotlight in front of an accumulator
#
# Two boxes sit at $x = \pm 1$ either side of fixation. The cue puts the spotlight's centre $f$
# on the cued box, or at fixation between the boxes for a neutral cue. The spotlight scales the
# quality of the input at $x$ by a gain that falls off with distance from its centre:
#
# $$\text{gain}(x; f) = g_{\text{low}} + (g_{\text{high}} - g_{\text{low}})\,
#   \exp\!\Big(-\frac{(x - f)^2}{2w^2}\Big).$$
#
# When the target appears at $x^*$ the spotlight moves onto it. Moving takes time,
# $T_{\text{shift}} = \text{latency} + |x^* - f| / \text{speed}$, and nothing when the spotlight is
# already there. Detection is a noisy accumulator that rises to a threshold $a$ at a rate set by
# the gain at the target:
#
# $$dX = \mu\,\text{gain}\big(x^*; f(t)\big)\,dt + \sigma\,dW, \qquad
#   \text{RT} = t_0 + \min\{t : X_t \ge a\},$$
#
# with $f(t) = f$ before $T_{\text{shift}}$ and $f(t) = x^*$ after. Two closed forms check the
# simulation. Without noise, with $v_0 = \mu\,\text{gain}(x^*; f)$ and $v_1 = \mu g_{\text{high}}$,
# the decision time is $a/v_0$ if the threshold is reached before the spotlight arrives, and
# $T_{\text{shift}} + (a - v_0 T_{\text{shift}})/v_1$ otherwise. With noise and no shift (valid
# cues), the mean first-passage time of Brownian motion with drift $v$ to level $a$ is $a/v$.
#
# A valid cue gives full gain at once. A neutral cue gives an intermediate gain until a short
# move arrives. An invalid cue gives a low gain until a long move arrives. So the model's
# prediction is the ordering valid < neutral < invalid. All parameters are chosen for
# illustration, so the model reproduces this **qualitative** pattern (a benefit and a cost
# relative to neutral), not Posner's millisecond values.

# %% [markdown]
# ## Running it
#
# 2000 simulated trials per cue condition. Left: the spotlight's gain profile for each cue
# (the target box is at $x = +1$). Right: mean RT with its standard error; the crosses are the
# noiseless closed form.

# %%
from _setup import show_figure
import runnable.spatial_cueing as mechanism
import matplotlib.pyplot as plt
import torch

result = mechanism.demo("cpu")
observer = mechanism.Observer()
x = torch.linspace(-2.5, 2.5, 201)
figure, (left, right) = plt.subplots(1, 2, figsize=(8.5, 3), layout="constrained")
for k, (name, (focus, target)) in enumerate(mechanism.CONDITIONS.items()):
    left.plot(x, mechanism.spotlight_gain(x, focus, observer), color=f"C{k}", label=f"{name} (f = {focus:+g})")
    right.bar(k, 1000 * result["mean_rt"][name], yerr=1000 * result["stderr"][name], color=f"C{k}", capsize=3)
    right.plot(k, 1000 * mechanism.noiseless_rt(focus, target, observer), "x", color="#888888")
for box in (-1, 1):
    left.axvline(box, color="#888888", ls=":", lw=1)
left.set_xlabel("position $x$ (boxes at ±1, target at +1)")
left.set_ylabel("gain")
left.legend(fontsize=7, frameon=False)
right.set_xticks(range(3), result["conditions"])
right.set_ylabel("mean RT (ms)")
right.set_ylim(250, 450)
show_figure("Left, the spotlight's gain across positions for each cue condition, with the two boxes dotted; right, bars of mean reaction time per condition with standard errors and the noiseless prediction as crosses.")

# %% [markdown]
# ## The whole distributions
#
# Each condition gives the right-skewed RT distribution typical of an accumulator to a
# threshold. The cue shifts the whole distribution, not only its mean.

# %%
generator = torch.Generator().manual_seed(1)
figure, axis = plt.subplots(figsize=(5.5, 2.8))
for k, (name, (focus, target)) in enumerate(mechanism.CONDITIONS.items()):
    rts, _ = mechanism.reaction_times(focus, target, 4000, observer, generator)
    axis.hist(1000 * rts.numpy(), bins=60, range=(220, 700), histtype="step", color=f"C{k}", label=name)
    print(f"{name:>8}: median {1000 * rts.median():.0f} ms, 90th percentile {1000 * rts.quantile(0.9):.0f} ms")
axis.set_xlabel("RT (ms)")
axis.set_ylabel("trials")
axis.legend(fontsize=7, frameon=False)
show_figure("Step histograms of 4000 simulated reaction times for each cue condition, right-skewed and shifted by the cue.")

# %% [markdown]
# ## What machine attention took from it
#
# The spotlight is a weighting over locations that helps some inputs at the expense of others,
# steered by a cue. Machine attention kept both halves. The hard version chooses one location
# and processes only what falls there: the glimpses of
# [recurrent visual attention](../visual-attention/), which must also be moved from place to
# place, one step at a time. The soft version keeps a smooth profile like the Gaussian gain
# above. The [moving window of handwriting synthesis](../graves-window/) is a set of Gaussians
# that slides along the text. [DRAW's read and write operations](../draw-attention/) place a
# grid of Gaussian filters whose centre, spacing and width are predicted, like a zoomable
# spotlight. The cue's role, a signal that says where to look before the target arrives, is
# played in those models by the query or the decoder state that sets the weights.
