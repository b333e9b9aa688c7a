"""The citation graph: networkx → pyvis, with our own template and the vis-network pyvis ships.

pyvis's stock page loads Bootstrap from a CDN and, when a title contains "href", puts
tooltips through innerHTML. We keep pyvis for assembling nodes, edges and options, and
render them with `templates/graph.html`: data as JSON in a script tag, tooltips built as
text nodes, no network access. The layout is computed here (x: time, y: thread lanes),
so the browser draws it at once with physics off, at any size."""
from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape
from pyvis.network import Network

from scripts.graph import importance
from scripts.model import KnowledgeBase
from scripts.pages.builder import GeneratedPage, PageBuilder
from scripts.pages.common import RELATION_OUT, entry_people, short_authors, thread_colour, thread_label, threads
from scripts.text import escape_html

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
_TEMPLATES = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]))
VIS_NETWORK_DIR = Path(__import__("pyvis").__file__).parent / "templates" / "lib" / "vis-9.1.2"

EDGE_STYLE = {
    "cites": {"color": "#9e9e9e", "width": 1},
    "extends": {"color": "#1976d2", "width": 2.5},
    "influenced": {"color": "#7b1fa2", "width": 1.5, "dashes": [6, 4]},
    "equivalent": {"color": "#2e7d32", "width": 2.5, "dashes": [2, 3], "arrows": "to, from"},
    "independent": {"color": "#f9a825", "width": 1.5, "dashes": [10, 6], "arrows": ""},
    "disputes": {"color": "#d32f2f", "width": 2, "dashes": [4, 4]},
}
NODE_GAP = 16        # canvas units kept free between two nodes' dots
ROWS = 2             # a crowded (year, thread) cell fills at most this many rows, then another column
BREAK = 60           # extra room where years without entries are left out, marked on the axis
LANE_GAP = 30        # between thread lanes


def node_radius(degree: int) -> float:
    return 10 + 4 * math.sqrt(degree)


@dataclass
class Layout:
    positions: dict[str, tuple[float, float]]
    columns: dict[int, float]                 # x of the centre of each year's column
    lanes: dict[str, tuple[float, float]]     # top and bottom of each thread's lane
    breaks: list[tuple[float, int, int]]      # (x, year before, year after) where empty years are left out


def time_axis(widths: dict[int, float]) -> tuple[dict[int, float], list[tuple[float, int, int]]]:
    """The centre of each year's column, given each column's width: consecutive years side by
    side; wherever years without entries are left out, a BREAK of extra room, recorded so the
    page can mark it (the axis is cut there, not drawn to scale)."""
    columns, breaks, x, previous = {}, [], 0.0, None
    for year in sorted(widths):
        if previous is not None:
            x += widths[previous] / 2
            if year - previous > 1:
                breaks.append((x + BREAK / 2, previous, year))
                x += BREAK
            x += widths[year] / 2
        columns[year], previous = x, year
    return columns, breaks


def swimlanes(kb: KnowledgeBase) -> Layout:
    """One column per year with entries, one lane per thread. The entries of a (year, thread)
    cell sit on a grid (date order, at most ROWS rows) whose pitch fits the cell's largest dot,
    and columns and lanes are as wide and tall as their largest cell: no two dots overlap.
    Deterministic, O(n)."""
    degree = importance(kb.graph)
    cells: dict[tuple[int, str], list[str]] = defaultdict(list)
    for entry in sorted(kb.entries.values(), key=lambda e: (e.date.sort_key, e.id)):
        cells[(entry.date.year, entry.thread)].append(entry.id)
    pitch = {key: 2 * max(node_radius(degree[i]) for i in ids) + NODE_GAP for key, ids in cells.items()}
    grid = {key: (math.ceil(len(ids) / ROWS), min(len(ids), ROWS)) for key, ids in cells.items()}  # (columns, rows)
    widths: dict[int, float] = defaultdict(float)
    heights: dict[str, float] = defaultdict(float)
    for (year, thread), (across, down) in grid.items():
        widths[year] = max(widths[year], across * pitch[(year, thread)])
        heights[thread] = max(heights[thread], down * pitch[(year, thread)])
    columns, breaks = time_axis(dict(widths))
    lanes, top = {}, 0.0
    for slug in (slug for slug, _, _ in threads() if slug in heights):
        lanes[slug] = (top, top + heights[slug])
        top += heights[slug] + LANE_GAP
    positions = {}
    for (year, thread), ids in cells.items():
        (across, down), step = grid[(year, thread)], pitch[(year, thread)]
        middle = sum(lanes[thread]) / 2
        for i, entry_id in enumerate(ids):
            column, row = divmod(i, ROWS)
            positions[entry_id] = (columns[year] + (column - (across - 1) / 2) * step, middle + (row - (down - 1) / 2) * step)
    return Layout(positions, columns, lanes, breaks)


def build_network(kb: KnowledgeBase, base_url: str) -> Network:
    net = Network(directed=True)  # directed: pyvis skips its quadratic duplicate-edge scan
    layout = swimlanes(kb)
    degree = importance(kb.graph)
    # Axis labels: plain text nodes, not clickable, not searchable (they have no url). Their
    # font size is set in the browser (graph.js), which keeps every label at one size on screen.
    left = min(layout.columns.values(), default=0) - 200
    above = -80
    for slug, (lane_top, lane_bottom) in layout.lanes.items():
        net.add_node(f"lane:{slug}", label=thread_label(slug), shape="text", x=left, y=(lane_top + lane_bottom) / 2,
                     physics=False, font={"color": thread_colour(slug)}, chosen=False, rank=0)
    for year, x in sorted(layout.columns.items()):
        net.add_node(f"year:{year}", label=str(year), shape="text", x=x, y=above, physics=False, chosen=False, rank=1)
    for x, before, after in layout.breaks:
        net.add_node(f"break:{before}", label="⋯", title=f"{after - before - 1} years without entries", shape="text", x=x, y=above,
                     physics=False, chosen=False, rank=1, axisbreak=True)
    for entry in kb.entries.values():
        x, y = layout.positions[entry.id]
        people = entry_people(kb, entry)
        net.add_node(
            entry.id, label=entry.title if len(entry.title) <= 26 else entry.title[:24].rstrip() + "…",
            title=f"{entry.title}\n{short_authors(people)} · {entry.date.label} · {thread_label(entry.thread)}",
            color=thread_colour(entry.thread), x=x, y=y, size=node_radius(degree[entry.id]),
            url=f"{base_url}entries/{entry.id}/", thread=entry.thread, physics=False, rank=2 + degree[entry.id],
            search=" ".join([entry.title, *(p.display for p in people), str(entry.date.year)]).lower())
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


def lineage_list_html(kb: KnowledgeBase, base_url: str) -> str:
    """The graph as a list, for narrow screens: every work by date, with the works it points to."""
    works = []
    for entry in sorted(kb.entries.values(), key=lambda e: (e.date.sort_key, e.id)):
        links = [(RELATION_OUT[r.type], kb.entries[r.target]) for r in entry.relations]
        works.append({"entry": entry, "url": f"{base_url}entries/{entry.id}/", "thread": thread_label(entry.thread),
                      "links": [(kind, target, f"{base_url}entries/{target.id}/") for kind, target in links]})
    return _TEMPLATES.get_template("graph_list.html").render(works=works)


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
    page = PageBuilder("Citation graph", meta={"hide": ["navigation", "toc"], "search": {"exclude": True},
                                               "description": "The typed citation graph of the works in the atlas: who cites, extends, influenced or disputes whom, by year and thread."})
    page.markdown("Each dot is a work, placed by year (left to right; long empty stretches are cut out and marked) "
                  "and thread (top to bottom), sized by how many later works point at it. The best-connected works "
                  "are labelled first, the rest as you zoom. Hover for the title, click to open the work, scroll "
                  "to zoom, drag to pan; find a work by title, author or year. On a narrow screen the graph is "
                  "shown as a list.")
    page.html(fragment)
    page.html(lineage_list_html(kb, base_url="../"))
    page.html(f'<div class="atlas-legend"><ul>{legend_threads}</ul><ul>{legend_edges}</ul></div>')
    return page.build()
