"""The citation graph: networkx → pyvis, with our own template and the vis-network pyvis ships.

pyvis's stock page loads Bootstrap from a CDN and, when a title contains "href", puts
tooltips through innerHTML. We keep pyvis for assembling nodes, edges and options, and
render them with `templates/graph.html`: data as JSON in a script tag, tooltips built as
text nodes, no network access. The layout is computed here (x: time, y: thread lanes),
so the browser draws it at once with physics off, at any size."""
from __future__ import annotations

import math
from collections import defaultdict
from pathlib import Path

from pyvis.network import Network

from scripts.graph import importance
from scripts.model import KnowledgeBase
from scripts.pages.builder import GeneratedPage, PageBuilder
from scripts.pages.common import RELATION_OUT, entry_people, short_authors, thread_colour, thread_label, threads
from scripts.text import escape_html

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
VIS_NETWORK_DIR = Path(__import__("pyvis").__file__).parent / "templates" / "lib" / "vis-9.1.2"

EDGE_STYLE = {
    "cites": {"color": "#9e9e9e", "width": 1},
    "extends": {"color": "#1976d2", "width": 2.5},
    "influenced": {"color": "#7b1fa2", "width": 1.5, "dashes": [6, 4]},
    "equivalent": {"color": "#2e7d32", "width": 2.5, "dashes": [2, 3], "arrows": "to, from"},
    "independent": {"color": "#f9a825", "width": 1.5, "dashes": [10, 6], "arrows": ""},
    "disputes": {"color": "#d32f2f", "width": 2, "dashes": [4, 4]},
}
YEAR_WIDTH, CELL_GAP = 150, 24


def swimlanes(kb: KnowledgeBase) -> tuple[dict[str, tuple[float, float]], dict[int, float], dict[str, float]]:
    """Swimlanes: one column per year that has entries, one lane per thread; entries that share
    a (year, thread) cell are stacked, so their labels do not overlap. Deterministic, O(n).
    Returns (entry positions, x of each year's column, y of each thread's lane)."""
    years = sorted({e.date.year for e in kb.entries.values()})
    column = {year: i for i, year in enumerate(years)}
    used = {e.thread for e in kb.entries.values()}
    lane = {slug: i for i, slug in enumerate(slug for slug, _, _ in threads() if slug in used)}
    cells: dict[tuple[int, str], list[str]] = defaultdict(list)
    for entry in kb.entries.values():
        cells[(entry.date.year, entry.thread)].append(entry.id)
    tallest = max((len(ids) for ids in cells.values()), default=1)
    lane_height = max(110, (tallest + 1) * CELL_GAP)
    positions = {}
    for (year, thread), ids in cells.items():
        for i, entry_id in enumerate(ids):
            positions[entry_id] = (column[year] * YEAR_WIDTH, lane[thread] * lane_height + (i - (len(ids) - 1) / 2) * CELL_GAP)
    return (positions, {year: i * YEAR_WIDTH for year, i in column.items()},
            {slug: i * lane_height for slug, i in lane.items()})


def build_network(kb: KnowledgeBase, base_url: str) -> Network:
    net = Network(directed=True)  # directed: pyvis skips its quadratic duplicate-edge scan
    positions, columns, lanes = swimlanes(kb)
    # Axis labels: plain text nodes, not clickable, not searchable (they have no url).
    left = min(columns.values(), default=0) - 2.6 * YEAR_WIDTH
    top = min(lanes.values(), default=0) - 0.9 * YEAR_WIDTH
    for slug, y in lanes.items():
        net.add_node(f"lane:{slug}", label=thread_label(slug), shape="text", x=left, y=y, physics=False,
                     font={"size": 64, "color": thread_colour(slug)}, chosen=False)  # readable when fitted
    step = max(1, math.ceil(len(columns) / 40))
    for i, (year, x) in enumerate(sorted(columns.items())):
        if i % step == 0:
            net.add_node(f"year:{year}", label=str(year), shape="text", x=x, y=top, physics=False,
                         font={"size": 44}, chosen=False)
    degree = importance(kb.graph)
    for entry in kb.entries.values():
        x, y = positions[entry.id]
        people = short_authors(entry_people(kb, entry))
        net.add_node(
            entry.id, label=entry.title if len(entry.title) <= 26 else entry.title[:24].rstrip() + "…",
            title=f"{entry.title}\n{people} · {entry.date.label} · {thread_label(entry.thread)}",
            color=thread_colour(entry.thread), x=x, y=y, size=8 + 5 * math.sqrt(degree[entry.id]),
            url=f"{base_url}entries/{entry.id}/", thread=entry.thread, physics=False)
    for entry in kb.entries.values():
        for relation in entry.relations:
            evidence = relation.source.note or relation.source.locator if relation.source else "reference list"
            net.add_edge(entry.id, relation.target, title=f"{entry.title} {RELATION_OUT[relation.type]} "
                         f"{kb.entries[relation.target].title}\n({relation.type}; {evidence})",
                         relation=relation.type, **EDGE_STYLE[relation.type])
    net.set_options("""{
      "physics": {"enabled": false},
      "interaction": {"hover": true, "tooltipDelay": 120, "hideEdgesOnDrag": true, "navigationButtons": false},
      "nodes": {"shape": "dot", "borderWidth": 1, "font": {"size": 13}},
      "edges": {"arrows": {"to": {"enabled": true, "scaleFactor": 0.5}}, "smooth": false},
      "layout": {"improvedLayout": false}
    }""")
    return net


def render_graph_page(kb: KnowledgeBase) -> GeneratedPage:
    net = build_network(kb, base_url="../")
    net.set_template_dir(str(TEMPLATES), "graph.html")
    fragment = net.generate_html(name="graph.html")
    legend_threads = "".join(
        f'<li><span class="atlas-swatch" style="background:{colour}"></span>{escape_html(thread_label(slug))}</li>'
        for slug, _, colour in threads() if any(e.thread == slug for e in kb.entries.values()))
    legend_edges = "".join(
        f'<li><span class="atlas-edge-swatch" style="border-top: 3px {"dashed" if "dashes" in style else "solid"} {style["color"]}"></span>'
        f'{escape_html(kind)}</li>' for kind, style in EDGE_STYLE.items())
    page = PageBuilder("Citation graph", meta={"hide": ["navigation", "toc"], "search": {"exclude": True}})
    page.markdown("Each dot is a work, placed by year (left to right) and thread (top to bottom), sized by how many "
                  "later works point at it. Hover for the title, click to open the work, scroll to zoom, drag to pan.")
    page.html(fragment)
    page.html(f'<div class="atlas-legend"><ul>{legend_threads}</ul><ul>{legend_edges}</ul></div>')
    return page.build()
