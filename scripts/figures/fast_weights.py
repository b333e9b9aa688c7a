"""Fast weights and linear attention as one computation, drawn from the two modules: the fast
weight matrix W_t that runnable/fast_weights.py programs by outer products, and the output of
runnable/linear_attention.py (causal, unnormalised) that equals W_t φ(q_t)."""
from __future__ import annotations

import torch

from runnable.fast_weights import elu_plus_one, fast_weight_programmer
from runnable.linear_attention import linear_attention
from scripts.figures.diagram import Diagram, grid

CELL, TOP, LEFT, GAP = 18, 40, 10, 30


def fast_weight_data(steps: int = 3, size: int = 3, seed: int = 0) -> dict:
    """The outer products v_t φ(k_t)ᵀ, their sum W_T, and the last output computed both ways."""
    generator = torch.Generator().manual_seed(seed)
    q, k, v = (torch.randn(steps, size, generator=generator, dtype=torch.float64) for _ in range(3))
    phi_q, phi_k = elu_plus_one(q), elu_plus_one(k)
    outer = [v[t, :, None] * phi_k[t, None, :] for t in range(steps)]
    return {"outer": outer, "W": sum(outer),
            "fast_weights": fast_weight_programmer(phi_q, phi_k, v)[-1],                       # W_T φ(q_T)
            "linear_attention": linear_attention(q, k, v, causal=True, feature_map=elu_plus_one,
                                                 normalize=False)[-1]}                          # Σ_j φ(q_T)ᵀφ(k_j) v_j


def fast_weights_figure() -> Diagram:
    data = fast_weight_data()
    steps, size = len(data["outer"]), data["W"].shape[0]
    panel = CELL * size
    width = LEFT + (steps + 1) * (panel + GAP) + 2 * (CELL + GAP) + 60
    diagram = Diagram(
        "fast-weights-linear-attention", width, TOP + panel + 56,
        alt=(f"Left: {steps} small {size} by {size} heatmaps, the outer products of each value with its mapped key, "
             f"summed into the fast weight matrix W. Right: two {size}-element column vectors, W applied to the mapped "
             "query and causal linear attention's output for the same query, with identical entries."),
        caption=("One computation read two ways. A fast weight programmer writes W = Σ v_t φ(k_t)ᵀ one outer product at a "
                 "time and reads it with the query, W φ(q); unnormalised causal linear attention computes "
                 "Σ_t (φ(q)ᵀφ(k_t)) v_t. Both modules give the same vector (shading: magnitude; the accent colour: "
                 "negative)."),
        source_href="mechanisms/fast-weights/", source_label="From the fast weights page.")
    x = LEFT
    for t, product in enumerate(data["outer"], start=1):
        grid(diagram, x, TOP, product.tolist(), CELL, title=f"v{t} φ(k{t})ᵀ", signed=True)
        diagram.add("text", x=x + panel + GAP / 2, y=TOP + panel / 2 + 5, class_="atlas-diagram__operator",
                    text="+" if t < steps else "=")
        x += panel + GAP
    grid(diagram, x, TOP, data["W"].tolist(), CELL, title=f"W{steps}", signed=True)
    x += panel + GAP
    for key, label in (("fast_weights", f"W{steps} φ(q{steps})"), ("linear_attention", "linear attn")):
        grid(diagram, x, TOP, [[value] for value in data[key].tolist()], CELL, title=label, signed=True)
        x += CELL + GAP + 30
    diagram.add("text", x=float(LEFT), y=float(TOP + panel + 30), class_="atlas-diagram__note",
                text=f"largest difference between the two outputs: {(data['fast_weights'] - data['linear_attention']).abs().max().item():.1e}")
    return diagram
