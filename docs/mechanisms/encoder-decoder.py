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
# # The fixed-vector encoder–decoder
#
# Before attention, neural translation read the source sentence with one RNN and wrote the
# translation with another, and the only thing passed between them was the encoder's last
# state: a fixed-size vector $c = h_T$.
#
# $$h_t = f(h_{t-1}, x_t), \qquad c = h_T, \qquad s_i = g(s_{i-1}, y_{i-1}, c), \qquad
#   p(y_i \mid y_{<i}, x) = \mathrm{softmax}\big(W_o [s_i; c; y_{i-1}]\big).$$
#
# A three-word sentence and a forty-word one are squeezed into the same number of values, so
# quality falls as sentences grow. Bahdanau et al. measured exactly this and removed the
# bottleneck with [additive attention](../bahdanau-attention/); the
# [reproduction](../bahdanau-figure-2/) shows both on a synthetic task.

# %% [markdown]
# ## Running it
#
# The fused `nn.GRU` computation is checked against the same equations run one token at a
# time with `nn.GRUCell`s that share its weights.

# %%
import runnable.encoder_decoder as mechanism
result = mechanism.demo("cpu")
assert result["max_error"] < 1e-10
