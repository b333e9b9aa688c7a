"""All generated pages, as {docs-relative path: Markdown}, from the knowledge base.

Pure: data in, text out. The MkDocs hooks (scripts/mkdocs_hooks.py) are the only thing that
knows about MkDocs, so the site generator can be swapped without touching this."""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from scripts.mechanisms import page_exists
from scripts.model import KnowledgeBase
from scripts.pages.builder import GeneratedPage
from scripts.pages.bibliography_page import render_bibliography_page
from scripts.pages.claims_page import render_claims_page
from scripts.pages.entry_page import entry_uri, render_entry_page
from scripts.pages.graph_page import render_graph_page
from scripts.pages.mechanisms_page import mechanism_sources, render_mechanisms_page
from scripts.pages.people_page import render_people_page
from scripts.pages.threads_page import render_threads_page
from scripts.pages.timeline_page import render_timeline_page


def mechanism_links(docs_dir: Path, titles: dict[str, str], slugs: tuple[str, ...]) -> list[tuple[str, str]]:
    """(title, site URL relative to the root) of each mechanism page that exists."""
    return [(titles.get(slug, slug), f"mechanisms/{slug}/") for slug in slugs if page_exists(docs_dir, slug)]


def thread_essay(docs_dir: Path, thread: str) -> str | None:
    """The site URL (relative to the root) of the essay on a thread, if one is written."""
    return f"essays/{thread}/" if (docs_dir / "essays" / f"{thread}.md").exists() else None


def generate_pages(kb: KnowledgeBase, docs_dir: Path, titles: dict[str, str] | None = None,
                   typeset_math: Callable[[str, str], str] | None = None) -> dict[str, GeneratedPage]:
    """Every generated page by its URI. `titles` (mechanism slug → title) is read from the notebooks
    once, here, unless the caller already has it. `typeset_math(html, where)`, the build's math
    typesetter, typesets the entries' annotations as their pages are made."""
    titles = mechanism_sources(docs_dir) if titles is None else titles
    runnable = {entry.id: mechanism_links(docs_dir, titles, entry.runnable) for entry in kb.entries.values()}
    pages = {
        "timeline.md": render_timeline_page(kb, runnable),
        "graph.md": render_graph_page(kb),
        "bibliography.md": render_bibliography_page(kb),
        "people.md": render_people_page(kb),
        "threads.md": render_threads_page(kb),
        "mechanisms/index.md": render_mechanisms_page(kb, docs_dir, titles),
    }
    for ledger in kb.claims:
        pages[f"{ledger['slug']}.md"] = render_claims_page(kb, ledger)
    for entry in kb.entries.values():
        pages[entry_uri(entry.id)] = render_entry_page(kb, entry, runnable[entry.id],
                                                       thread_essay(docs_dir, entry.thread), typeset_math)
    return pages
