"""Attention masks drawn from the modules that make them: which key (column) each query (row)
may attend to. A filled cell is a pair the module lets through, an empty one a masked pair."""
from __future__ import annotations

import torch

from runnable.criss_cross_attention import reachability
from runnable.reformer_lsh import lsh_hash, random_rotations, visible_pairs
from runnable.scaled_dot_product_attention import causal_mask, padding_mask
from scripts.figures.diagram import Diagram, grid

CELL, GAP, TOP, LEFT = 12, 30, 30, 6


def mask_panels(name: str, panels: list[tuple[str, torch.Tensor]], *, alt: str, caption: str,
                source_href: str, source_label: str) -> Diagram:
    """Boolean (n, m) masks side by side, each under its title."""
    width = LEFT + sum(CELL * mask.shape[1] + GAP for _, mask in panels)
    height = TOP + max(CELL * mask.shape[0] for _, mask in panels) + 6
    diagram = Diagram(name, width, height, alt=alt, caption=caption, source_href=source_href,
                      source_label=source_label, min_width=min(width, 480))
    x = LEFT
    for title, mask in panels:
        grid(diagram, x, TOP, mask.tolist(), CELL, title=title, mask=True)
        x += CELL * mask.shape[1] + GAP
    return diagram


def attention_masks() -> Diagram:
    """The Transformer's two masks and their combination, for 8 positions of which 5 are real."""
    n, length = 8, 5
    causal = causal_mask(n, n)
    padding = padding_mask(torch.tensor([length]), n)[0, 0].expand(n, n)   # (1, 1, 1, n) → (n, n)
    return mask_panels(
        "attention-masks", [("causal", causal), ("padding", padding), ("both", causal & padding)],
        alt=(f"Three {n} by {n} grids of queries (rows) against keys (columns). Causal: the lower triangle is filled, "
             f"so query i sees keys 0 to i. Padding: only the first {length} columns are filled, the real tokens. "
             f"Both: the lower triangle restricted to the first {length} columns."),
        caption=(f"The causal and padding masks of scaled dot-product attention, {n} positions, the last {n - length} "
                 "of them padding: filled cells are the (query, key) pairs that get weight, empty ones are set to −∞ "
                 "before the softmax."),
        source_href="mechanisms/scaled-dot-product-attention/", source_label="From the scaled dot-product page.")


def sparse_masks(seed: int = 0) -> Diagram:
    """Patterns that give each query fewer than all keys: criss-cross (one pass) and Reformer's LSH."""
    side, n = 4, 16
    criss_cross = reachability(side, side, passes=1)
    generator = torch.Generator().manual_seed(seed)
    vectors = torch.randn(n, 8, generator=generator)
    buckets = lsh_hash(vectors, 4, random_rotations(8, 4, generator=generator))
    lsh = visible_pairs(buckets, chunk_size=4)
    full = torch.ones(n, n, dtype=torch.bool)
    return mask_panels(
        "sparse-masks", [("full", full), ("criss-cross", criss_cross), ("LSH (Reformer)", lsh)],
        alt=(f"Three {n} by {n} grids of queries against keys. Full attention fills every cell ({n * n}). "
             f"Criss-cross attention on a {side} by {side} image fills {int(criss_cross.sum())} cells: each pixel "
             f"sees its own row and column. Reformer's LSH attention fills {int(lsh.sum())} cells, scattered: a "
             "query sees only keys hashed to its bucket in its own or the previous chunk."),
        caption=(f"Who attends to whom for {n} positions: full attention, criss-cross attention on a {side}×{side} "
                 "image (row and column of each pixel, one pass), and Reformer's LSH attention (4 buckets, chunks "
                 "of 4) on random vectors. Filled cells are the pairs each module computes."),
        source_href="mechanisms/criss-cross-attention/", source_label="From the criss-cross attention page.")


def cache_masks(seed: int = 0) -> Diagram:
    """What a decoder keeps or reads of its past: a sliding window, sinks beside a window, and the
    blocks native sparse attention selects."""
    from runnable.attention_sinks import cache_layout
    from runnable.native_sparse_attention import select_blocks
    from runnable.sliding_window_attention import window_mask

    n, window, sinks, block = 16, 4, 2, 4
    sliding = window_mask(n, n, window)
    with_sinks, _ = cache_layout(n, sinks, window + sinks)
    generator = torch.Generator().manual_seed(seed)
    scores = torch.rand(1, 1, n, n // block, generator=generator)
    indices, valid = select_blocks(scores, block, num_selected=2, initial=1, local=1)
    query = torch.arange(n)[:, None]
    chosen = torch.zeros(n, n // block, dtype=torch.bool)
    chosen.scatter_(1, indices[0, 0], valid[0, 0])
    selected = chosen.repeat_interleave(block, dim=1) & (torch.arange(n)[None, :] <= query)
    return mask_panels(
        "cache-masks", [(f"window ({window})", sliding), (f"{sinks} sinks + window", with_sinks),
                        ("selected blocks", selected)],
        alt=(f"Three {n} by {n} grids of queries (rows) against earlier keys (columns). Sliding window: a diagonal "
             f"band {window} cells wide. Sinks and window: the same band plus the first {sinks} columns, filled in "
             f"every row. Selected blocks: for each query, whole blocks of {block} keys, the first block, the "
             "query's own block and one more chosen by score, cut off at the query."),
        caption=(f"Which earlier tokens a decoder reads, for {n} positions: Mistral's sliding window of {window}, "
                 f"StreamingLLM's {sinks} attention sinks kept beside the window, and native sparse attention's "
                 f"selected branch (blocks of {block}: the first, the local one and the top-scoring other, on random "
                 "scores). Filled cells are the pairs each module computes."),
        source_href="mechanisms/sliding-window-attention/", source_label="From the sliding-window attention page.")
