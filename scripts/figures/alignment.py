"""An alignment matrix: the weights α_ij RNNsearch put on each source token while writing each
output token, from the run the Bahdanau Figure 2 page draws (docs/mechanisms/results/, written
by `python -m scripts.reproduce_bahdanau`, which trains runnable/bahdanau_attention.py)."""
from __future__ import annotations

import json
from pathlib import Path

from scripts.figures.diagram import Diagram, grid

CELL, LEFT, TOP = 24, 46, 58
RESULTS = Path(__file__).resolve().parents[2] / "docs" / "mechanisms" / "results"


def alignment_matrix(results: Path = RESULTS) -> Diagram:
    run = json.loads((results / "bahdanau-alignment.json").read_text(encoding="utf-8"))
    alpha, source, output = run["alpha"], run["source"], run["output"]
    n, m = len(alpha), len(alpha[0])
    peaks = sum(1 for i, row in enumerate(alpha) if max(range(m), key=row.__getitem__) == run["source_positions"][i])
    diagram = Diagram(
        "alignment-matrix", LEFT + CELL * m + 8, TOP + CELL * n + 8,
        alt=(f"Heatmap of the attention weights of a trained RNNsearch on one synthetic sentence: {n} output tokens "
             f"(rows) against {m} source tokens (columns). The weight falls mostly near the diagonal; outlined cells "
             f"mark the source token each output token translates, and the largest weight of {peaks} of the "
             f"{n} rows falls on it."),
        caption=(f"Alignment weights α of RNNsearch, trained on a synthetic translation task that swaps "
                 f"some neighbouring words: rows are output tokens, columns source tokens, stronger shading is more weight. "
                 f"Outlined: the source token each output translates ({peaks} of {n} rows peak there)."),
        source_href="mechanisms/bahdanau-figure-2/", source_label="From the Bahdanau reproduction page.")
    grid(diagram, LEFT, TOP, alpha, CELL, row_labels=[f"y{t}" for t in output], column_labels=[f"x{t}" for t in source],
         outlined=[(i, j) for i, j in enumerate(run["source_positions"])])
    diagram.add("text", x=LEFT + CELL * m / 2, y=14.0, class_="atlas-diagram__title atlas-diagram__title--centre",
                text="source token j →")
    return diagram
