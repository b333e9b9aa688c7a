"""FlashAttention-2's tiles, recorded from runnable/flash_attention.py itself: which
(query block, key block) tiles of the score matrix it computes, in which order, under a causal mask.

The recording reads the tiles off the scores the module passes to its online softmax: with
queries q_i = (i, 1), keys k_j = (1, W·j) and scale 1, the score of a pair is s_ij = i + W·j, so
every score names its own query and key, and a masked score is −∞."""
from __future__ import annotations

from unittest import mock

import torch

import runnable.flash_attention as flash
from scripts.figures.diagram import Diagram

CELL, TOP, LEFT = 16, 40, 30
_W = 1000  # larger than any query index: s_ij = i + W·j decodes uniquely


def computed_tiles(n: int, block: int, causal: bool = True) -> list[dict]:
    """Each tile flash_attention_2 computes, in order: its first query and key, and the
    (query, key) pairs inside it that the causal mask left unmasked."""
    tiles = []
    original = flash.online_update

    def recording(m, ell, acc, scores, values=None):
        finite = scores[0].isfinite()
        rows, columns = torch.nonzero(finite, as_tuple=True)
        pairs = {(int(s) % _W, int(s) // _W) for s in scores[0][rows, columns].tolist()}
        tiles.append({"pairs": sorted(pairs), "shape": tuple(scores.shape[-2:])})
        return original(m, ell, acc, scores, values)

    position = torch.arange(n, dtype=torch.float64)
    q = torch.stack([position, torch.ones(n, dtype=torch.float64)], -1)[None]
    k = torch.stack([torch.ones(n, dtype=torch.float64), _W * position], -1)[None]
    v = torch.zeros(1, n, 1, dtype=torch.float64)
    with mock.patch.object(flash, "online_update", recording):
        flash.flash_attention_2(q, k, v, block_q=block, block_k=block, causal=causal, scale=1.0)
    for tile in tiles:
        tile["query"] = min(i for i, _ in tile["pairs"]) // block * block
        tile["key"] = min(j for _, j in tile["pairs"]) // block * block
    return tiles


def flash_tiles(n: int = 16, block: int = 4) -> Diagram:
    tiles = computed_tiles(n, block)
    blocks = n // block
    skipped = blocks * blocks - len(tiles)
    diagram = Diagram(
        "flash-tiles", LEFT + CELL * n + 150, TOP + CELL * n + 8,
        alt=(f"A {n} by {n} grid of query rows against key columns, cut into {block} by {block} tiles. FlashAttention-2 "
             f"under a causal mask computes {len(tiles)} tiles, numbered in the order it visits them: along each block "
             f"of query rows from left to right, then the next block down. The {skipped} tiles above the diagonal are "
             "never computed, and inside the diagonal tiles only the pairs with key ≤ query are filled."),
        caption=(f"FlashAttention-2's causal forward pass on {n} positions in {block}×{block} tiles, as recorded from the "
                 "module: numbers give the order in which tiles of scores are computed (query blocks outside, key "
                 "blocks inside), filled cells the unmasked scores; empty tiles are skipped. Only one tile of scores "
                 "exists at a time."),
        source_href="mechanisms/flash-attention/", source_label="From the FlashAttention page.")
    for i in range(n):
        for j in range(n):
            diagram.add("rect", x=float(LEFT + j * CELL), y=float(TOP + i * CELL), width=CELL, height=CELL,
                        class_="atlas-cell atlas-cell--off")
    for order, tile in enumerate(tiles, start=1):
        for i, j in tile["pairs"]:
            diagram.add("rect", x=float(LEFT + j * CELL), y=float(TOP + i * CELL), width=CELL, height=CELL,
                        class_="atlas-cell atlas-cell--on", title=f"tile {order}: query {i}, key {j}")
        rows, columns = tile["shape"]
        diagram.add("rect", x=float(LEFT + tile["key"] * CELL), y=float(TOP + tile["query"] * CELL),
                    width=columns * CELL, height=rows * CELL, class_="atlas-tile")
        centre_x, centre_y = LEFT + (tile["key"] + columns / 2) * CELL, TOP + (tile["query"] + rows / 2) * CELL
        diagram.add("circle", cx=centre_x, cy=centre_y, r=9.0, class_="atlas-tile__badge")
        diagram.add("text", x=centre_x, y=centre_y + 4, class_="atlas-tile__order", text=str(order))
    diagram.add("text", x=LEFT + CELL * n / 2, y=14.0, class_="atlas-diagram__title atlas-diagram__title--centre",
                text="keys j →")
    diagram.add("text", x=float(LEFT - 8), y=float(TOP + 10), class_="atlas-diagram__label atlas-diagram__label--row",
                text="i ↓")
    legend = LEFT + CELL * n + 14
    for line, words in enumerate((f"{len(tiles)} tiles computed,", f"{skipped} skipped;", f"tiles of {block}×{block},",
                                  "one on chip at a time")):
        diagram.add("text", x=float(legend), y=float(TOP + 14 + 16 * line), class_="atlas-diagram__note", text=words)
    return diagram
