"""The MLP as attention over learned key–value slots (the feed-forward layer of Vaswani et al. 2017; bib: vaswani2017attention).

A two-layer perceptron with H hidden units, in nn.Linear's convention (W1 (H, d), W2 (d_out, H)):

    y = W2 σ(W1 x + b1) + b2 = Σ_i σ(k_iᵀ x + b1_i) v_i + b2

with k_i the i-th row of W1 (a key) and v_i the i-th column of W2 (a value). Read as attention,
the input x is the query, the H hidden units are memory slots holding a learned key and value,
σ(k_iᵀ x + b1_i) is how much slot i is read, and the output is the weighted sum of the values.
Two differences from softmax attention: the keys and values are parameters, the same for every
input, not computed from a sequence; and σ acts on each score alone (ReLU reads many slots with
unnormalised weights, most of them exactly 0) where the softmax normalises across slots. With
σ replaced by a softmax over the H slots (and b2 = 0) the layer becomes softmax attention over
learned slots:

    y = Σ_i softmax_i(k_iᵀ x + b1_i) v_i = SDPA(x, K, V, attn_mask=b1, scale=1)

The Transformer applies such a layer to every position separately (its position-wise
feed-forward network), so in a Transformer block attention reads the sequence and the MLP
reads a fixed memory.

`mlp` is the usual matrix form, `mlp_as_attention` the slot form; the tests check both against
`nn.Sequential` with the weights copied, and the softmax variant against
`scaled_dot_product_attention`.

Differences from the paper:
- None from a paper: the identity (hidden units as key–value slots) is shown on a plain two-layer
  MLP; the keys and values are parameters, the same for every input, not computed from a sequence.

Shapes: x (..., d); keys (H, d); key_bias (H,); values (H, d_out); value_bias (d_out,) → (..., d_out).
"""
from __future__ import annotations

import torch
from torch import nn


def mlp(x, W1, b1, W2, b2, activation=torch.relu):
    """y = W2 σ(W1 x + b1) + b2, in nn.Linear's convention: W1 (H, d), W2 (d_out, H)."""
    return activation(x @ W1.T + b1) @ W2.T + b2


def slot_weights(x, keys, key_bias, activation=torch.relu):
    """σ(k_iᵀ x + b1_i) for every slot i: (..., H)."""
    return activation(x @ keys.T + key_bias)


def mlp_as_attention(x, keys, key_bias, values, value_bias, activation=torch.relu):
    """y = Σ_i σ(k_iᵀ x + b1_i) v_i + b2, with keys (H, d) and values (H, d_out)."""
    return slot_weights(x, keys, key_bias, activation) @ values + value_bias


def softmax_over_slots(scores):
    """The softmax across the H slots, in place of an elementwise σ."""
    return torch.softmax(scores, dim=-1)


def naive_mlp_as_attention(x, keys, key_bias, values, value_bias, activation=torch.relu):
    """One input (d,) and one slot at a time."""
    out = value_bias.clone()
    scores = torch.stack([keys[i] @ x + key_bias[i] for i in range(keys.shape[0])])
    weights = activation(scores)
    for i in range(keys.shape[0]):
        out = out + weights[i] * values[i]
    return out


def demo(device: torch.device | str = "cpu", seed: int = 0) -> dict:
    torch.manual_seed(seed)  # the layer is built on the CPU, so every device sees the same numbers
    d, H, d_out = 8, 32, 4
    layer = nn.Sequential(nn.Linear(d, H), nn.ReLU(), nn.Linear(H, d_out)).double().to(device)
    keys, key_bias = layer[0].weight.detach(), layer[0].bias.detach()
    values, value_bias = layer[2].weight.detach().T, layer[2].bias.detach()      # columns of W2
    x = torch.randn(6, d, dtype=torch.float64).to(device)
    with torch.no_grad():
        reference = layer(x)
    errors = {
        "mlp vs nn.Sequential": (mlp(x, keys, key_bias, values.T, value_bias) - reference).abs().max().item(),
        "attention form vs nn.Sequential": (mlp_as_attention(x, keys, key_bias, values, value_bias) - reference).abs().max().item(),
        "attention form vs loop over slots": max((mlp_as_attention(x[n], keys, key_bias, values, value_bias)
                                                  - naive_mlp_as_attention(x[n], keys, key_bias, values, value_bias)).abs().max().item()
                                                 for n in range(6)),
    }
    soft = mlp_as_attention(x, keys, key_bias, values, torch.zeros_like(value_bias), softmax_over_slots)
    sdpa = torch.nn.functional.scaled_dot_product_attention(x, keys, values, attn_mask=key_bias.expand(6, H), scale=1.0)
    errors["softmax over slots vs SDPA(x, K, V, bias b1)"] = (soft - sdpa).abs().max().item()
    for name, error in errors.items():
        print(f"{name:<46} max error {error:.1e} (tolerance 1e-10, float64)")
    relu = slot_weights(x, keys, key_bias)
    softmax = slot_weights(x, keys, key_bias, softmax_over_slots)
    print(f"{H} slots read by 6 inputs:")
    print(f"  ReLU:    {(relu > 0).double().mean():.0%} of the weights are non-zero; "
          f"weights sum to {relu.sum(-1).min():.2f}–{relu.sum(-1).max():.2f} per input")
    print(f"  softmax: {(softmax > 0).double().mean():.0%} non-zero; sums {softmax.sum(-1).min():.6f}–{softmax.sum(-1).max():.6f}; "
          f"largest weight {softmax.max():.2f}")
    return {"errors": errors, "relu_weights": relu.cpu(), "softmax_weights": softmax.cpu()}


if __name__ == "__main__":
    from runnable._cli import device_from_args

    demo(device_from_args(__doc__.splitlines()[0]))
