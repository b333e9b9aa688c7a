"""Sigma-pi units (Rumelhart, Hinton & McClelland 1986; bib: rumelhart1986general).

An ordinary unit sums weighted inputs, net = Σ_i w_i x_i + b. A sigma-pi unit sums weighted
products of inputs, one product for each conjunct S_k (a set of input indices):

    net = Σ_k w_k Π_{i ∈ S_k} x_i + b,        output = f(net)

(the notation is ours, not the chapter's). A term w x_g x_a lets input x_g scale the connection
from input x_a: x_g gates x_a. Three terms make a switch between two inputs a and b,

    mux(g, a, b) = g a + b − g b = g a + (1 − g) b,

which passes a when g = 1, b when g = 0 and mixes them for g in between. Attention's output
Σ_j α_j v_j is this sum of gate-times-value products with one gate per value. Products also
compute what no linear threshold unit can: XOR(x_1, x_2) = x_1 + x_2 − 2 x_1 x_2 on {0, 1}.

`sigma_pi` replaces every input outside a conjunct by 1 and takes the product, so all conjuncts are
computed at once; `naive_sigma_pi` is the loop the tests compare it with.

Differences from the paper:
- The notation is ours, not the chapter's, and the units are shown alone: the chapter's learning
  rules for them (generalised back-propagation through products) are left to autograd.

Shapes: x (..., n) inputs; conjuncts, a list of K tuples of distinct indices into the last axis;
weights (K,); the net input has shape (...).
"""
from __future__ import annotations

import itertools

import torch

XOR = ([(0,), (1,), (0, 1)], [1.0, 1.0, -2.0])          # x_1 + x_2 − 2 x_1 x_2
MUX = ([(0, 1), (2,), (0, 2)], [1.0, 1.0, -1.0])        # inputs (g, a, b): g a + b − g b


def conjunct_mask(conjuncts, n: int, device=None) -> torch.Tensor:
    """(K, n) boolean: row k is True at the inputs in S_k."""
    mask = torch.zeros(len(conjuncts), n, dtype=torch.bool, device=device)
    for k, inputs in enumerate(conjuncts):
        mask[k, list(inputs)] = True
    return mask


def sigma_pi(x, conjuncts, weights, bias=0.0):
    """net = Σ_k w_k Π_{i∈S_k} x_i + b for x (..., n); returns (...)."""
    mask = conjunct_mask(conjuncts, x.shape[-1], x.device)
    # Inputs outside S_k are replaced by 1, the identity of the product.
    terms = torch.where(mask, x[..., None, :], torch.ones((), dtype=x.dtype, device=x.device)).prod(-1)
    return terms @ torch.as_tensor(weights, dtype=x.dtype, device=x.device) + bias


def naive_sigma_pi(x, conjuncts, weights, bias=0.0):
    """The same sum one input vector, one conjunct and one factor at a time."""
    flat, out = x.reshape(-1, x.shape[-1]).tolist(), []
    for row in flat:
        net = float(bias)
        for inputs, w in zip(conjuncts, weights):
            term = float(w)
            for i in inputs:
                term *= row[i]
            net += term
        out.append(net)
    return torch.tensor(out, dtype=x.dtype, device=x.device).reshape(x.shape[:-1])


def gated_sum(gates, values):
    """Σ_j g_j v_j as one sigma-pi unit per output feature: inputs [g ; v_{:, c}], conjuncts {g_j, v_j}.
    gates (..., N), values (..., N, c); returns (..., c)."""
    (N, c), batch = values.shape[-2:], torch.broadcast_shapes(gates.shape[:-1], values.shape[:-2])
    x = torch.cat([gates[..., None, :].expand(*batch, c, N),
                   values.transpose(-1, -2).expand(*batch, c, N)], dim=-1)        # (..., c, 2N)
    return sigma_pi(x, [(j, N + j) for j in range(N)], [1.0] * N)


def boolean_inputs(n: int, device=None, dtype=torch.float32) -> torch.Tensor:
    """All 2^n points of {0, 1}^n, (2^n, n)."""
    return torch.tensor(list(itertools.product([0.0, 1.0], repeat=n)), dtype=dtype, device=device)


def best_threshold_unit(x, target, span: int = 3) -> tuple[int, list]:
    """Exhaustive search over linear threshold units 1[w·x + b > 0] with integer w in [−span, span]
    and half-integer b: the most points any of them gets right, and one unit that does."""
    grid = torch.arange(-span, span + 1, dtype=x.dtype, device=x.device)
    w = torch.cartesian_prod(*[grid] * x.shape[-1]).reshape(-1, x.shape[-1])   # (G, n)
    b = torch.arange(-span, span + 1, dtype=x.dtype, device=x.device) + 0.5    # never exactly on a point
    out = (x @ w.T)[:, :, None] + b > 0                                         # (points, G, B)
    correct = (out == target.bool()[:, None, None]).sum(0)
    best = int(correct.max())
    g, k = divmod(int(correct.argmax()), len(b))
    return best, w[g].tolist() + [b[k].item()]


def demo(device: torch.device | str = "cpu", seed: int = 0) -> dict:
    torch.manual_seed(seed)
    result = {}
    for name, (conjuncts, weights), names in [("XOR", XOR, ["x1", "x2"]), ("MUX", MUX, ["g", "a", "b"])]:
        x = boolean_inputs(len(names), device)
        net = sigma_pi(x, conjuncts, weights)
        target = (net > 0.5).float()
        best, unit = best_threshold_unit(x, target)
        terms = [f"{w:+g} " + "·".join(names[i] for i in s) for s, w in zip(conjuncts, weights)]
        print(f"{name}: net = {' '.join(terms)}   ({', '.join(names)}) → net:")
        print("   " + "   ".join(f"{''.join(str(int(v)) for v in row)} → {value:.0f}"
                                 for row, value in zip(x.tolist(), net.tolist())))
        print(f"   best linear threshold unit (|w| ≤ 3, grid search): {best}/{len(x)} right, e.g. w, b = {unit}")
        result[name] = {"net": net.cpu(), "threshold_best": best, "points": len(x)}
    g = torch.linspace(0, 1, 5, device=device)
    a, b = torch.full_like(g, 2.0), torch.full_like(g, -1.0)
    soft = sigma_pi(torch.stack([g, a, b], -1), *MUX)
    print("soft switch, a = 2, b = -1:", ", ".join(f"g={gi:.2f} → {s:+.2f}" for gi, s in zip(g.tolist(), soft.tolist())))
    # A softmax attention read Σ_j α_j v_j is a layer of sigma-pi units gating values by weights.
    q, k, v = torch.randn(3, 1, 4, device=device), torch.randn(3, 6, 4, device=device), torch.randn(3, 6, 5, device=device)
    alpha = torch.softmax(q @ k.transpose(-1, -2) / 2.0, dim=-1)[:, 0]    # (3, 6)
    sdpa = torch.nn.functional.scaled_dot_product_attention(q, k, v)[:, 0]
    attention_error = (gated_sum(alpha, v) - sdpa).abs().max().item()
    x = torch.randn(7, 5, device=device)
    conjuncts, weights = [(0,), (1, 2), (0, 3, 4), (1, 3)], [0.5, -1.0, 2.0, 0.3]
    loop_error = (sigma_pi(x, conjuncts, weights, 0.1) - naive_sigma_pi(x, conjuncts, weights, 0.1)).abs().max().item()
    print(f"Σ_j α_j v_j as sigma-pi units vs scaled_dot_product_attention: max error {attention_error:.1e} (tolerance 1e-5)")
    print(f"vectorised vs loop on random inputs: max error {loop_error:.1e} (tolerance 1e-5)")
    result.update(soft=soft.cpu(), gates=g.cpu(), attention_error=attention_error, loop_error=loop_error)
    return result


if __name__ == "__main__":
    from runnable._cli import device_from_args

    demo(device_from_args(__doc__.splitlines()[0]))
