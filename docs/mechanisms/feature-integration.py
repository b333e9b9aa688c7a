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
# # Feature and conjunction search (feature-integration theory)
#
# [Treisman and Gelade's feature-integration theory](../../entries/1980-treisman-feature-integration/)
# splits seeing into two stages. First, simple features such as colour and orientation are
# registered everywhere at once, each value in its own map of the visual field. Second,
# focused attention visits locations one at a time and binds the features found at each
# location into an object. In visual search this gives a clear prediction. A target that
# differs from every distractor in one feature (a red item among green ones) can be detected
# from one map, whatever the number of items. A target defined only by a *conjunction* (red
# and vertical, among green verticals and red horizontals) activates no map that the
# distractors leave silent. It has to be found by serial, item-by-item binding, so search time
# grows linearly with display size.
#
# ## A model: parallel maps, a serial spotlight
#
# A display puts $n$ items on random cells of a $6 \times 6$ grid. Stage one builds one binary map
# per feature value, $\text{map}_v(\text{cell}) = 1$ if the item there has value $v$.
# **Feature search** reads one map: present $\iff \max_{\text{cell}} \text{map}_{\text{red}} > 0$,
# which takes the same time for every $n$. **Conjunction search** moves a spotlight over the
# occupied cells in random order. At each cell it checks whether both target features are
# present there, and it stops at the target (self-terminating) or after the last item. With the
# target at a random place in a random order, the number of items examined $k$ is uniform on
# $\{1, \dots, n\}$ when the target is present, and equal to $n$ when it is absent:
#
# $$\mathbb E[k \mid \text{present}] = \frac{n + 1}{2}, \qquad k_{\text{absent}} = n, \qquad
#   \text{RT} = \text{base} + t_{\text{item}}\, k + \text{noise}.$$
#
# So the target-present slope is $t_{\text{item}}/2$ and the target-absent slope is $t_{\text{item}}$,
# a ratio of 2. The slope ratio comes from the model's structure. The base time, the time per
# item (50 ms) and the noise are chosen for illustration. The model reproduces the
# **qualitative** pattern that Treisman and Gelade reported (flat feature search; linear
# conjunction search with absent slopes about twice present ones), not their measured values.

# %% [markdown]
# ## Running it
#
# 500 simulated trials for each display size, search type and presence. Lines are
# least-squares fits, with their slopes in the legend.

# %%
from _setup import show_figure
import runnable.feature_integration as mechanism
import matplotlib.pyplot as plt
import numpy as np

result = mechanism.demo("cpu")
sizes = np.array(result["sizes"])
figure, axis = plt.subplots(figsize=(5.5, 3.4))
styles = {"feature present": ("C0", "o", "-"), "feature absent": ("C0", "s", "--"),
          "conjunction present": ("C1", "o", "-"), "conjunction absent": ("C1", "s", "--")}
for label, (colour, marker, line) in styles.items():
    means = 1000 * np.array(result["mean_rt"][label])
    slope = 1000 * result["slopes"][label]
    axis.plot(sizes, means, marker, color=colour)
    axis.plot(sizes, means.mean() + slope * (sizes - sizes.mean()), line, color=colour, lw=1,
              label=f"{label}: {slope:.1f} ms/item")
axis.set_xlabel("display size $n$")
axis.set_ylabel("mean RT (ms)")
axis.legend(fontsize=7, frameon=False)
show_figure("Line chart of mean reaction time against display size for feature and conjunction search, target present and absent, with fitted lines whose slopes are in the legend.")
assert result["errors"] == 0 and 1.7 < result["ratio"] < 2.3

# %% [markdown]
# ## One display, seen by each stage
#
# A conjunction display with the target present. The red map and the vertical map are both
# busy, so neither says where the target is, and only the item where they overlap is the
# target. The numbers are one random visiting order of the spotlight. It stops at the
# target.

# %%
import torch

generator = torch.Generator().manual_seed(3)
maps = mechanism.make_displays("conjunction", 12, True, 1, generator=generator)
order = torch.rand(1, 36, generator=generator)
found, examined = mechanism.serial_search(maps, order)
occupied = (maps[0, mechanism.RED] + maps[0, mechanism.GREEN]) > 0
rank = torch.full((36,), -1)
rank[torch.where(occupied, order[0], torch.inf).argsort()[: int(occupied.sum())]] = torch.arange(int(occupied.sum()))
figure, axes = plt.subplots(1, 3, figsize=(8, 2.8), layout="constrained")
for axis, (title, m) in zip(axes[:2], [("red map", maps[0, mechanism.RED]), ("vertical map", maps[0, mechanism.VERTICAL])]):
    axis.imshow(m.reshape(6, 6), cmap="gray", vmin=0, vmax=1)
    axis.set_title(title)
for cell in range(36):
    if occupied[cell]:
        y, x = divmod(cell, 6)
        red, vertical = maps[0, mechanism.RED, cell] > 0, maps[0, mechanism.VERTICAL, cell] > 0
        dx, dy = (0, 0.35) if vertical else (0.35, 0)
        axes[2].plot([x - dx, x + dx], [y - dy, y + dy], color="red" if red else "green", lw=3)
        if rank[cell] < examined[0]:
            axes[2].annotate(str(int(rank[cell]) + 1), (x + 0.2, y - 0.2), color="#888888", fontsize=7)
axes[2].set_xlim(-0.5, 5.5), axes[2].set_ylim(5.5, -0.5), axes[2].set_aspect("equal")
axes[2].set_title(f"spotlight: target after {int(examined[0])} of 12")
for axis in axes:
    axis.set_xticks([]), axis.set_yticks([])
show_figure("Three panels: the red feature map, the vertical feature map, and the display with the spotlight's order of examination up to the target.")
print(f"found: {bool(found[0])}, items examined: {int(examined[0])}, expected on average (n + 1)/2 = 6.5")

# %% [markdown]
# ## What machine attention took from it
#
# Two ideas from feature-integration theory reached machine attention almost unchanged. The
# first is a stack of feature maps computed in parallel over the whole field, which became the
# convolutional feature grid that [Show, Attend and Tell](../visual-attention/) attends over.
# The second is a single focus that selects among locations. It became the
# [saliency map's winner-take-all](../saliency-map/), and then the hard glimpse of recurrent
# visual attention, which visits locations one after another and pays for each visit, as the
# serial spotlight does here. Soft attention dropped the serial cost. It weighs all locations
# at once in a single differentiable step, paying instead with computation that grows with the
# number of locations. [Criss-cross attention](../criss-cross-attention/) is one later attempt
# to cut that cost.
