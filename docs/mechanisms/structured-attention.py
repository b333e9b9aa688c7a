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
# # Structured attention: a CRF's marginals as weights
#
# Read as a probability model, softmax attention says: exactly one position $z \in \{1, \dots, n\}$
# is the relevant one, with $p(z = i \mid x, q) \propto \exp \theta_i$, and the context is the
# expected input, $c = \sum_i p(z = i \mid x, q)\, x_i$. Kim, Denton, Hoang and Rush's
# [structured attention networks](../../entries/2017-kim-structured-attention-networks/) keep
# the second half, the context as an expectation under a distribution, and replace the first
# with a richer distribution: a graphical model over several latent choices at once.
#
# For *segmentation* attention each position gets its own binary variable $z_i \in \{0, 1\}$,
# selected or not, and the variables form a linear-chain conditional random field:
#
# $$p(z_1, \dots, z_n \mid x, q) \propto
#   \exp\Big(\sum_{i=1}^{n} \theta_i(z_i) + \sum_{i=1}^{n-1} \theta_{i,i+1}(z_i, z_{i+1})\Big), \qquad
#   c = \sum_{i=1}^{n} p(z_i = 1 \mid x, q)\, v_i .$$
#
# The unary potential is a query–key score, here $\theta_i(1) = x_i^\top W q$ and
# $\theta_i(0) = 0$. The pairwise potential is one learned $2 \times 2$ table; when it favours
# equal neighbours, selected positions come in runs, so the layer can attend to a whole phrase
# rather than one word. The weights $p(z_i = 1)$ are *marginals*: each lies in $[0, 1]$, and
# together they need not sum to one. Without the pairwise term the variables are independent
# and each marginal is a sigmoid of its own score, a Bernoulli ("sigmoid") attention the paper
# also compares with.
#
# ## Forward–backward
#
# The marginals sum over $2^n$ assignments, but the chain lets a dynamic program do it in
# $O(n)$. Writing $\psi_i(z, z') = \theta_{i,i+1}(z, z') + \theta_{i+1}(z')$, the forward and
# backward messages in log space are
#
# $$\alpha_1(z) = \theta_1(z), \quad
#   \alpha_{i+1}(z') = \log\sum_{z} e^{\alpha_i(z) + \psi_i(z, z')}, \qquad
#   \beta_n(z) = 0, \quad
#   \beta_i(z) = \log\sum_{z'} e^{\psi_i(z, z') + \beta_{i+1}(z')},$$
#
# and $p(z_i = k) = \exp\big(\alpha_i(k) + \beta_i(k) - \log Z\big)$ with
# $\log Z = \log\sum_z e^{\alpha_n(z)}$. Every step is a log-sum-exp, so the whole layer is
# differentiable and trains by backpropagation like any other attention. The marginals are
# also the gradient of $\log Z$ with respect to the unary potentials, which the tests check.
#
# ## Where it sits
#
# The scores are those of [additive](../bahdanau-attention/) or
# [multiplicative](../luong-attention/) attention; only the normalisation changes, from a
# softmax over positions to inference in a CRF. The same style of dynamic program, a
# log-space sum over paths through a lattice, is what the
# [RNN transducer](../rnn-transducer/) computes. The paper's other instance, attention over
# the subtrees of a parse computed with the inside–outside algorithm, is not implemented here.

# %% [markdown]
# ## Running it
#
# Twelve positions; the scores mark positions 4 to 8 as relevant, except position 6, which
# scores low on its own, and there is an isolated high score at position 11. Softmax spreads
# one unit of weight over the high scores and leaves position 6 almost empty. Independent
# sigmoids select every high score, including the stray one. The CRF, with a pairwise table
# that rewards equal neighbours ($+1$ for equal, $-1$ for different), fills the gap at 6 and
# drops the isolated 11: it selects a segment.

# %%
from _setup import heatmap
import runnable.structured_attention as mechanism
result = mechanism.demo("cpu")
heatmap(result["weights"].numpy(), xlabels=range(1, 13), ylabels=result["names"],
        xlabel="position $i$", title=r"attention weights: softmax, sigmoid, $p(z_i = 1)$",
        alt="Heatmap of attention weights over 12 positions under softmax, independent sigmoids and the structured model's marginals p(z_i = 1).")
assert result["max_error"] < 1e-5

# %% [markdown]
# ## From independent choices to one choice for the whole chain
#
# The strength $c$ of the agreement potential, $\theta_{i,i+1}(z, z') = c$ if $z = z'$ and
# $-c$ otherwise, moves the CRF between two limits. At $c = 0$ the marginals are the
# independent sigmoids. As $c$ grows, changing state anywhere gets expensive, and in the
# limit only "select everything" and "select nothing" remain, so every marginal becomes the
# same number, the sigmoid of the total score. Here the scores add up to a negative number, so
# "nothing" wins and the segment fades: a useful coupling is strong enough to close small gaps
# and weak enough that a part of the sequence can still be picked out.

# %%
import torch

score = result["score"]
unary = torch.stack([torch.zeros_like(score), score], -1)
strengths = [0.0, 0.5, 1.0, 2.0, 4.0, 20.0]
rows = torch.stack([mechanism.crf_marginals(unary, torch.tensor([[c, -c], [-c, c]]))[:, 1] for c in strengths])
heatmap(rows.numpy(), xlabels=range(1, 13), ylabels=[f"c = {c:g}" for c in strengths],
        xlabel="position $i$", title=r"$p(z_i = 1)$ as the agreement strength grows",
        alt="Heatmap of the marginals p(z_i = 1) over 12 positions as the agreement strength c grows.")
print(f"sigmoid of the total score {score.sum():.1f}: {torch.sigmoid(score.sum()):.3f}; "
      f"marginals at c = 20: {rows[-1].min():.3f}..{rows[-1].max():.3f}")
