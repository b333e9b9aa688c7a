"""Threads: the fixed list from the schema, with counts and a link to the filtered timeline."""
from __future__ import annotations

from collections import Counter

from scripts.model import KnowledgeBase
from scripts.pages.common import thread_chip, threads
from scripts.pages.builder import GeneratedPage, PageBuilder
from scripts.text import escape_html


def render_threads_page(kb: KnowledgeBase) -> GeneratedPage:
    counts = Counter(e.thread for e in kb.entries.values())
    rows = "".join(
        f"<tr><td>{thread_chip(slug, '../timeline/?thread=' + slug)}</td><td><code>{slug}</code></td>"
        f"<td>{escape_html(description)}</td><td>{counts.get(slug, 0)}</td></tr>"
        for slug, description, _ in threads())
    page = PageBuilder("Threads", meta={"description": "The strands of the history of attention, each with its entries on the timeline."})
    page.markdown("Every entry belongs to one thread: a strand of the history that can be followed on its own. "
                  "The list is fixed by `timeline/schema.json`; propose a new thread in an issue.")
    # A plain <table>, which the build puts in Material's scroll container like any Markdown table
    # (scripts/table_html.py), in a classed wrapper for this table's own rules.
    page.html('<div class="atlas-threads"><table><thead><tr><th>Thread</th><th>Slug</th><th>What it covers</th>'
              f"<th>Entries</th></tr></thead><tbody>{rows}</tbody></table></div>")
    return page.build()
