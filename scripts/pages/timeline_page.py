"""The timeline: every entry in date order, by decade, filterable by thread and text in the page.

Plain HTML lists with data attributes, filtered by a small script that toggles `hidden`:
at 5,000 entries that is one pass over the list, with no framework and no reload."""
from __future__ import annotations

from collections import Counter
from itertools import groupby

from scripts.model import KnowledgeBase
from scripts.pages.builder import GeneratedPage, PageBuilder
from scripts.pages.common import entry_people, short_authors, thread_chip, thread_label, threads
from scripts.text import escape_html


def _runnable(mechanisms: list[tuple[str, str]]) -> str:
    """A mark on works that have a runnable mechanism, linking its page(s)."""
    if not mechanisms:
        return ""
    links = ", ".join(f'<a href="../{escape_html(url)}">{escape_html(title)}</a>' for title, url in mechanisms)
    return f'<p class="atlas-runnable"><span class="atlas-runnable-mark">Runnable:</span> {links}</p>'


def _item(kb: KnowledgeBase, entry, mechanisms: list[tuple[str, str]]) -> str:
    people = entry_people(kb, entry)
    search_text = " ".join([entry.title, *(p.display for p in people), entry.summary]).lower()
    return (
        f'<li class="atlas-item" data-thread="{escape_html(entry.thread)}" data-text="{escape_html(search_text)}">'
        f'<time>{escape_html(entry.date.label)}</time>'
        f'<div class="atlas-item-body"><a class="atlas-item-title" href="../entries/{escape_html(entry.id)}/">'
        f'{escape_html(entry.title)}</a> <span class="atlas-authors">{escape_html(short_authors(people))}</span> '
        f'{thread_chip(entry.thread)}'
        f'<p>{escape_html(entry.summary)}</p>{_runnable(mechanisms)}</div></li>')


def render_timeline_page(kb: KnowledgeBase, mechanisms: dict[str, list[tuple[str, str]]] | None = None) -> GeneratedPage:
    """`mechanisms`: entry id → (title, site URL) of its runnable mechanism pages."""
    mechanisms = mechanisms or {}
    counts = Counter(entry.thread for entry in kb.entries.values())
    toggles = "".join(
        f'<label class="atlas-toggle" style="--atlas-thread: {colour}" title="{escape_html(description)}">'
        f'<input type="checkbox" value="{slug}" checked> {escape_html(thread_label(slug))} '
        f'<span class="atlas-count">{counts.get(slug, 0)}</span></label>'
        for slug, description, colour in threads() if counts.get(slug))
    page = PageBuilder("Timeline", meta={"hide": ["navigation"], "search": {"exclude": True},
                                     "description": f"All {len(kb.entries)} works in the history of attention, oldest first, "
                                                    "filterable by thread and by title, author or summary."})
    page.markdown("Every work in the atlas, oldest first. Untick a thread to hide it, or type to filter by title, "
                  "author or summary; each title opens the work's page. Works marked *Runnable* have a mechanism "
                  "you can run, linked beside them.")
    page.html(
        '<form class="atlas-filter" data-atlas-filter onsubmit="return false">'
        f'<fieldset><legend>Threads</legend>{toggles}'
        '<button type="button" class="md-button" data-atlas-all>All</button>'
        '<button type="button" class="md-button" data-atlas-none>None</button></fieldset>'
        '<input type="search" placeholder="Filter by title, author or summary" aria-label="Filter the timeline" data-atlas-query>'
        f'<p class="atlas-shown" aria-live="polite"><span data-atlas-shown>{len(kb.entries)}</span> of {len(kb.entries)} entries shown</p>'
        '</form>')
    for decade, group in groupby(kb.entries.values(), key=lambda e: e.date.year // 10 * 10):
        page.heading(2, f"{decade}s").html(
            f'<ol class="atlas-timeline" data-atlas-decade>{"".join(_item(kb, entry, mechanisms.get(entry.id, [])) for entry in group)}</ol>')
    return page.build()
