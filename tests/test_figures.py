"""The figures generated at build time (scripts/figures/): each is drawn, has alt text, and shows
its data — the cells a mask figure fills are the module's mask, the tiles FlashAttention's figure
numbers are the ones its loop computes — and every essay has at least one."""
from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

import pytest
import torch

from scripts.figures import FROM_MODULES, MARKER, PageContext, UnknownFigure, fill_figure_markers
from scripts.figures.cache import cached_diagram
from scripts.figures.diagram import render
from scripts.validate import Paths, load_knowledge_base
from tests.conftest import ROOT

ESSAYS = sorted((ROOT / "docs" / "essays").glob("*.md"))


@pytest.fixture(scope="module")
def kb():
    return load_knowledge_base(Paths.of_project(ROOT))


def drawn(name):
    module, function = FROM_MODULES[name]
    return cached_diagram(name, module, function)


def on_cells(diagram, left, top, cell, rows, columns) -> torch.Tensor:
    """The (rows, columns) boolean grid of the filled cells whose corner is (left, top) + cell offsets."""
    grid = torch.zeros(rows, columns, dtype=torch.bool)
    for shape in diagram.filled("atlas-cell--on"):
        i = round((float(shape.get("y")) - top) / cell)
        j = round((float(shape.get("x")) - left) / cell)
        if 0 <= i < rows and 0 <= j < columns:
            grid[i, j] = True
    return grid


@pytest.mark.parametrize("name", FROM_MODULES)
def test_figure_is_drawn_with_alt_text_and_caption(name, tmp_path):
    module, function = FROM_MODULES[name]
    diagram = cached_diagram(name, module, function, cache_dir=tmp_path)
    html = render(diagram, "../../")
    assert diagram.alt.strip() and diagram.caption.strip()
    assert re.search(r'<svg [^>]*role="img" aria-label="[^"]{40,}"', html), "the SVG needs a real text alternative"
    assert "<figcaption>" in html and html.count("<svg") == 1
    # Drawn again from the cache: the same figure, byte for byte (the build is reproducible).
    assert render(cached_diagram(name, module, function, cache_dir=tmp_path), "../../") == html
    assert list(tmp_path.glob(f"*/{name}.json")), "the figure was not cached"


def test_attention_mask_figure_fills_the_modules_masks():
    from runnable.scaled_dot_product_attention import causal_mask, padding_mask
    from scripts.figures.masks import CELL, GAP, LEFT, TOP
    diagram = drawn("attention-masks")
    n = 8
    causal = causal_mask(n, n)
    padding = padding_mask(torch.tensor([5]), n)[0, 0].expand(n, n)
    for panel, expected in enumerate((causal, padding, causal & padding)):
        left = LEFT + panel * (CELL * n + GAP)
        assert torch.equal(on_cells(diagram, left, TOP, CELL, n, n), expected), panel
    assert len(diagram.filled("atlas-cell--on")) == int(causal.sum() + padding.sum() + (causal & padding).sum())


def test_sparse_mask_figure_fills_the_modules_masks():
    from runnable.criss_cross_attention import reachability
    from scripts.figures.masks import CELL, GAP, LEFT, TOP
    diagram = drawn("sparse-masks")
    n = 16
    criss_cross = on_cells(diagram, LEFT + CELL * n + GAP, TOP, CELL, n, n)
    assert torch.equal(criss_cross, reachability(4, 4, passes=1))
    # Negative control: the criss-cross panel is not simply full.
    assert not torch.equal(criss_cross, torch.ones(n, n, dtype=torch.bool))
    lsh = on_cells(diagram, LEFT + 2 * (CELL * n + GAP), TOP, CELL, n, n)
    assert lsh.diagonal().all() and 0 < lsh.sum() < n * n


def test_flash_tiles_are_the_tiles_the_loop_computes():
    from scripts.figures.flash_tiles import computed_tiles
    n, block = 16, 4
    tiles = computed_tiles(n, block)
    # Causal FlashAttention-2: query blocks outside, key blocks inside, stopping at the diagonal.
    expected = [(i0, j0) for i0 in range(0, n, block) for j0 in range(0, i0 + 1, block)]
    assert [(t["query"], t["key"]) for t in tiles] == expected
    for tile in tiles:
        inside = [(i, j) for i in range(tile["query"], tile["query"] + block)
                  for j in range(tile["key"], tile["key"] + block) if j <= i]
        assert tile["pairs"] == inside
    without_mask = computed_tiles(n, block, causal=False)
    assert len(without_mask) == (n // block) ** 2   # negative control: nothing skipped
    diagram = drawn("flash-tiles")
    assert len(diagram.filled("atlas-tile")) == len(tiles)
    assert len(diagram.filled("atlas-cell--on")) == n * (n + 1) // 2


def test_fast_weight_figure_shows_one_computation_two_ways():
    from scripts.figures.fast_weights import fast_weight_data
    data = fast_weight_data()
    assert torch.allclose(data["W"], sum(data["outer"]))
    torch.testing.assert_close(data["fast_weights"], data["linear_attention"], rtol=1e-12, atol=1e-12)
    diagram = drawn("fast-weights-linear-attention")
    drawn_values = [float(s.title) for s in diagram.shapes if s.tag == "rect" and s.title]
    size = data["W"].shape[0]
    assert drawn_values[3 * size * size:4 * size * size] == pytest.approx(data["W"].flatten().tolist(), abs=1e-4)
    assert drawn_values[-2 * size:-size] == pytest.approx(data["fast_weights"].tolist(), abs=1e-4)


def test_transformer_block_figure_carries_the_recorded_shapes():
    from scripts.figures.transformer_block import recorded_shapes
    shapes = recorded_shapes()
    assert shapes["heads"] == (1, 8, 10, 64) and shapes["weights"] == (1, 8, 10, 10)
    assert shapes["linear1"] == (1, 10, 2048) and shapes["norm2"] == (1, 10, 512)
    texts = [s.text for s in drawn("transformer-block").filled("atlas-diagram__shape")]
    assert "(1, 8, 10, 64)" in texts and "(1, 10, 2048)" in texts


def test_alignment_figure_shades_the_stored_weights():
    import json
    run = json.loads((ROOT / "docs" / "mechanisms" / "results" / "bahdanau-alignment.json").read_text())
    diagram = drawn("alignment-matrix")
    values = [float(s.title) for s in diagram.filled("atlas-cell--value")]
    assert values == pytest.approx([x for row in run["alpha"] for x in row], abs=1e-4)
    assert len(diagram.filled("atlas-cell--outlined")) == len(run["alpha"])


def test_thread_timeline_has_one_linked_dot_per_work(kb):
    from scripts.figures.thread_timeline import thread_timeline
    works = [e for e in kb.entries.values() if e.thread == "alignment"]
    diagram = thread_timeline(kb, "alignment")
    for layout in (diagram, diagram.narrow):
        assert len(layout.filled("atlas-diagram__dot")) == len(works)
        assert {s.href for s in layout.shapes if s.href} == {f"entries/{e.id}/" for e in works}
    html = render(diagram, "../../")
    assert html.count("<svg") == 2 and "atlas-diagram__canvas--narrow" in html
    assert 'href="../../entries/2014-bahdanau-align-and-translate/"' in html
    assert 'role="group"' in html, "an SVG with links cannot be role=img (its children would be presentational)"


@pytest.mark.parametrize("essay", ESSAYS, ids=lambda p: p.stem)
def test_every_essay_has_a_generated_figure(essay, kb):
    text = essay.read_text(encoding="utf-8")
    assert MARKER.search(text), f"{essay.name}: add a figure, e.g. <!-- atlas:figure thread-timeline -->"
    context = PageContext(kb, f"docs/essays/{essay.name}", f"essays/{essay.stem}/")
    filled = fill_figure_markers(text, context)
    assert "atlas:figure" not in filled and re.search(r'role="(img|group)" aria-label="[^"]{40,}"', filled)


def test_unknown_figures_are_named_all_at_once(kb):
    context = PageContext(kb, "docs/essays/vision.md", "essays/vision/")
    with pytest.raises(UnknownFigure) as error:
        fill_figure_markers("<!-- atlas:figure nonesuch -->\n\n<!-- atlas:figure thread-timeline no-thread -->", context)
    message = str(error.value)
    assert "docs/essays/vision.md: unknown figure 'nonesuch' — known figures:" in message
    assert "no thread 'no-thread'" in message


def test_entry_titles_stay_text(kb):
    """Untrusted text (an entry's title) is escaped in the SVG."""
    from dataclasses import replace
    from scripts.figures.thread_timeline import thread_timeline
    entry = next(e for e in kb.entries.values() if e.thread == "vision")
    hostile = replace(kb, entries={**kb.entries, entry.id: replace(entry, title="<script>alert(1)</script>")})
    html = render(thread_timeline(hostile, "vision"))
    assert "<script>" not in html and "&lt;script&gt;" in html


def test_cache_mask_figure_fills_the_modules_masks():
    from runnable.attention_sinks import cache_layout
    from runnable.sliding_window_attention import window_mask
    from scripts.figures.masks import CELL, GAP, LEFT, TOP
    diagram = drawn("cache-masks")
    n = 16
    assert torch.equal(on_cells(diagram, LEFT, TOP, CELL, n, n), window_mask(n, n, 4))
    sinks = on_cells(diagram, LEFT + CELL * n + GAP, TOP, CELL, n, n)
    assert torch.equal(sinks, cache_layout(n, 2, 6)[0])
    assert not torch.equal(sinks, window_mask(n, n, 4)), "negative control: the sinks add columns"
    selected = on_cells(diagram, LEFT + 2 * (CELL * n + GAP), TOP, CELL, n, n)
    assert selected[:, :4].tril().equal(torch.ones(n, 4, dtype=torch.bool).tril()), "the first block is always read"
    assert not (selected & ~torch.ones(n, n, dtype=torch.bool).tril()).any(), "nothing after the query"


def test_narrow_thread_timeline_fits_a_phone_column_without_scrolling(kb):
    """Every thread's phone layout is narrower than a 390 px phone's column (358 px) and scrolls
    at no width; its titles start in one column right of the year band, never on top of it."""
    from scripts.figures.thread_timeline import NARROW_AXIS, thread_timeline
    for thread in sorted({e.thread for e in kb.entries.values()}):
        narrow = thread_timeline(kb, thread).narrow
        assert narrow.width <= 358 and narrow.min_width == 0, thread
        dots = [float(s.get("cx")) for s in narrow.filled("atlas-diagram__dot")]
        titles = {float(s.get("x")) for s in narrow.filled("atlas-diagram__entry")}
        assert max(dots) <= NARROW_AXIS and titles == {NARROW_AXIS + 10}, thread
        years = sorted(float(s.get("x")) for s in narrow.filled("atlas-diagram__label--column"))
        assert years and all(b - a >= 30 for a, b in zip(years, years[1:])), (thread, years)


def test_a_cached_figure_keeps_its_narrow_layout(kb):
    from scripts.figures.cache import _diagram
    from scripts.figures.thread_timeline import thread_timeline
    drawn = thread_timeline(kb, "vision")
    assert _diagram(json.loads(json.dumps(dataclasses.asdict(drawn)))) == drawn
