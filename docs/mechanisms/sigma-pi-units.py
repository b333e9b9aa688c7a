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
# # Sigma-pi units: one input gating another
#
# The framework chapter of the first PDP volume
# ([Rumelhart, Hinton and McClelland, 1986](../../entries/1986-rumelhart-hinton-mcclelland-pdp-framework/))
# mostly works with units whose net input is a weighted sum, $\mathrm{net} = \sum_i w_i x_i$.
# It also describes a more general unit whose net input is a weighted sum of *products* of
# inputs. In our own notation, with conjuncts $S_k$ (small sets of input indices),
#
# $$\mathrm{net} = \sum_k w_k \prod_{i \in S_k} x_i + b, \qquad \text{output} = f(\mathrm{net}).$$
#
# The name says it: a sum ($\Sigma$) of products ($\Pi$). A conjunct with one index is an
# ordinary connection. A conjunct with two, say $w\, x_g x_a$, is a connection from $a$ whose
# strength is set, moment by moment, by another input $g$. That is gating, and it is the
# germ of attention: an attention layer multiplies values by weights that other signals computed.
#
# ## A switch
#
# Three conjuncts over inputs $(g, a, b)$ make a multiplexer:
#
# $$\mathrm{mux}(g, a, b) = g\,a + b - g\,b = g\,a + (1 - g)\, b .$$
#
# With $g = 1$ the unit passes $a$, with $g = 0$ it passes $b$, and for $g$ between 0 and 1 it
# mixes them. Give every value $v_j$ its own gate $\alpha_j$ and the unit computes
# $\sum_j \alpha_j v_j$, which is the read-out of attention once the gates are softmax weights.
#
# ## What a single linear threshold unit cannot do
#
# Products also buy expressive power. XOR on $\{0,1\}^2$ is
# $x_1 + x_2 - 2\,x_1 x_2$, one sigma-pi unit, but no unit $\mathbb 1[w^\top x + b > 0]$
# computes it. The inputs $(0,1)$ and $(1,0)$ (output 1) have the same sum as $(0,0)$ and
# $(1,1)$ (output 0), and an affine $f$ respects sums:
# $f(0,1) + f(1,0) = f(0,0) + f(1,1)$. The left side would have to be positive and the right side
# not. The multiplexer fails in the same way: $(1,1,0) + (0,0,1) = (1,0,1) + (0,1,0)$, with
# outputs 1, 1 on the left and 0, 0 on the right.

# %% [markdown]
# ## Running it
#
# The demo prints the truth tables of XOR and the multiplexer computed by one sigma-pi unit each,
# then searches every linear threshold unit with integer weights in $[-3, 3]$ for the best one:
# it gets 3 of 4 XOR cases and 7 of 8 multiplexer cases right, never all (the argument above
# says no weights could). It then runs the soft switch and checks that a row of sigma-pi units
# gating values by softmax weights reproduces `scaled_dot_product_attention`.

# %%
from _setup import heatmap, show_figure
import runnable.sigma_pi_units as mechanism
import matplotlib.pyplot as plt
import torch

result = mechanism.demo("cpu")

grid = torch.linspace(0, 1, 41)
x1, x2 = torch.meshgrid(grid, grid, indexing="xy")
points = torch.stack([x1, x2], -1)
figure, axes = plt.subplots(1, 2, figsize=(7.5, 3.2))
for axis, (title, net) in zip(axes, [("sigma-pi: $x_1 + x_2 - 2x_1x_2$", mechanism.sigma_pi(points, *mechanism.XOR)),
                                     ("linear: $x_1 + x_2$", points.sum(-1))]):
    image = axis.contourf(grid, grid, net, levels=12, cmap="viridis")
    axis.contour(grid, grid, net, levels=[0.5], colors="white", linewidths=2)
    for (a, b), label in zip([(0, 0), (0, 1), (1, 0), (1, 1)], [0, 1, 1, 0]):
        axis.text(a, b, str(label), ha="center", va="center", fontsize=14, color="red")
    axis.set_title(title)
    axis.set_xlabel("$x_1$")
    axis.set_ylabel("$x_2$")
    figure.colorbar(image, ax=axis, fraction=0.046)
plt.tight_layout()
show_figure("Two contour maps over the unit square of x1 and x2 with the four XOR targets marked: the sigma-pi unit x1 + x2 - 2 x1 x2 separates them at 0.5, the linear sum x1 + x2 cannot.")

# %% [markdown]
# The white line is where the net input crosses the threshold 0.5, the red digits are the XOR
# targets. The product term bends the sigma-pi unit's net input into a saddle:
# $x_1 + x_2 - 2x_1x_2 - \tfrac12 = -2\,(x_1 - \tfrac12)(x_2 - \tfrac12)$, so the threshold is
# crossed on the two lines $x_1 = \tfrac12$ and $x_2 = \tfrac12$, and the unit fires in the two
# off-diagonal quadrants, where $(0,1)$ and $(1,0)$ lie. A linear unit's threshold is always one
# straight line, and no straight line puts $(0,1)$ and $(1,0)$ on one side and $(0,0)$ and
# $(1,1)$ on the other.
#
# ## The gate as a weight
#
# With several values, one gate each, the unit's output is a weighted sum of the values. Here
# the gates are a softmax over three scores, so the gate vector is a distribution, and sweeping
# one score moves the output from value to value, exactly as a query moving between keys would.

# %%
values = torch.tensor([[1.0, 0.0], [0.0, 1.0], [-1.0, -1.0]])
for score in [-4.0, 0.0, 2.0, 6.0]:
    gates = torch.softmax(torch.tensor([score, 2.0, 0.0]), -1)
    out = mechanism.gated_sum(gates, values)
    print(f"scores ({score:+.0f}, +2, 0) → gates {[round(g, 3) for g in gates.tolist()]} → "
          f"Σ_j g_j v_j = {[round(o, 3) for o in out.tolist()]}")

# %% [markdown]
# ## Where it leads
#
# Multiplicative connections reappear wherever one signal sets another's weight. In
# [fast weight programmers](../fast-weights/) a slow network writes the weights of a fast one
# with outer products, products of two activations, and the fast net's read-out is the kind of
# gated sum shown here. In [scaled dot-product attention](../scaled-dot-product-attention/) the
# gates are a softmax of query–key scores and the values are gated by them;
# [Nadaraya–Watson regression](../nadaraya-watson/) computes the same gated average with a
# fixed kernel in place of learned scores.
