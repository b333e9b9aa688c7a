"""A Transformer encoder block with the shape of every intermediate tensor, recorded by running
runnable/transformer_block.py at the paper's base sizes (Vaswani et al. 2017, section 3 and Table 3:
d_model = 512, h = 8, d_k = d_v = 64, d_ff = 2048) on a batch of one 10-token sequence."""
from __future__ import annotations

from unittest import mock

import torch

from runnable.transformer_block import TransformerBlock, sinusoidal_positions
from scripts.figures.diagram import Diagram

D_MODEL, HEADS, D_FF, LENGTH = 512, 8, 2048, 10
WIDTH, BOX, STEP, TOP, LEFT = 600, 30, 42, 20, 150


def recorded_shapes() -> dict[str, tuple[int, ...]]:
    """The shape of each stage's output, in the order the block computes them."""
    torch.manual_seed(0)
    block = TransformerBlock(D_MODEL, HEADS, D_FF).eval()
    shapes: dict[str, tuple[int, ...]] = {}

    def keep(name):
        def hook(module, inputs, output) -> None:  # returns None: a hook's return value would replace the output
            first = output[0] if isinstance(output, tuple) else output
            shapes.setdefault(name, tuple(first.shape))
            if isinstance(output, tuple):           # multi-head attention also returns its weights
                shapes.setdefault("weights", tuple(output[1].shape))
        return hook

    split = block.self_attn.split_heads

    def split_heads(x):
        heads = split(x)
        shapes.setdefault("heads", tuple(heads.shape))
        return heads

    for name, module in (("attention", block.self_attn), ("norm1", block.norm1), ("linear1", block.linear1),
                         ("linear2", block.linear2), ("norm2", block.norm2)):
        module.register_forward_hook(keep(name))
    x = torch.randn(1, LENGTH, D_MODEL) + sinusoidal_positions(LENGTH, D_MODEL)
    shapes["input"] = tuple(x.shape)
    with torch.no_grad(), mock.patch.object(block.self_attn, "split_heads", split_heads):
        block(x)
    return shapes


def transformer_block_figure() -> Diagram:
    shapes = recorded_shapes()
    stages = [
        ("input", "embeddings + positional encoding", "input"),
        ("heads", "Q, K, V: projected, split into h heads", "heads"),
        ("weights", "softmax(QKᵀ/√d_k) per head: weights", "weights"),
        ("attention", "heads · V, concatenated, × Wᴼ", "attention"),
        ("norm1", "add input, layer norm", "norm1"),
        ("linear1", "feed-forward: ReLU(x W₁ + b₁)", "linear1"),
        ("linear2", "× W₂ + b₂", "linear2"),
        ("norm2", "add, layer norm: the block's output", "norm2"),
    ]
    height = TOP + STEP * len(stages) + 34

    def shape_text(shape):
        return "(" + ", ".join(str(size) for size in shape) + ")"

    diagram = Diagram(
        "transformer-block", WIDTH, height,
        alt=("Diagram of one Transformer encoder block as a column of eight stages, each with the shape of its output "
             "for one sequence of 10 tokens at the base model's sizes: "
             + "; ".join(f"{label}, {shape_text(shapes[key])}" for _, label, key in stages)
             + ". Two residual connections skip the attention and the feed-forward network."),
        caption=(f"One encoder block at the base model's sizes (d_model = {D_MODEL}, h = {HEADS}, "
                 f"d_k = {D_MODEL // HEADS}, d_ff = {D_FF}) on a batch of one {LENGTH}-token sentence. Shapes are "
                 "recorded while the module runs, axes (batch, heads, positions, features)."),
        source_href="mechanisms/transformer-block/", source_label="From the Transformer block page.", min_width=500)
    for row, (name, label, key) in enumerate(stages):
        y = TOP + STEP * row
        diagram.add("rect", x=float(LEFT), y=float(y), width=WIDTH - LEFT - 40, height=BOX, rx=4,
                    class_="atlas-box" + (" atlas-box--attention" if name in ("heads", "weights", "attention") else ""))
        diagram.add("text", x=float(LEFT + 10), y=float(y + 19), class_="atlas-diagram__entry", text=label)
        diagram.add("text", x=float(LEFT - 12), y=float(y + 19), class_="atlas-diagram__shape", text=shape_text(shapes[key]))
        if row:
            diagram.add("line", x1=float(LEFT + 60), x2=float(LEFT + 60), y1=float(y - STEP + BOX), y2=float(y),
                        class_="atlas-diagram__flow")
    # The residual connections: input → first add, first add → second add.
    box_right = WIDTH - 40
    for start, end, x in ((0, 4, WIDTH - 10), (4, 7, WIDTH - 24)):
        y0, y1 = TOP + STEP * start + BOX / 2, TOP + STEP * end + BOX / 2
        diagram.add("path", d=f"M {box_right} {y0} H {x} V {y1} H {box_right}", class_="atlas-diagram__residual")
    diagram.add("text", x=float(LEFT), y=float(height - 8), class_="atlas-diagram__note",
                text="dashed: the residual connections")
    return diagram
