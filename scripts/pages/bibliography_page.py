"""The bibliography: every record formatted by pybtex, sorted by author and year, each with an anchor."""
from __future__ import annotations

from collections import defaultdict

from scripts.model import KnowledgeBase
from scripts.pages.builder import GeneratedPage, PageBuilder
from scripts.pages.common import external_links
from scripts.text import escape_html


def sort_key(record) -> tuple:
    people = record.people
    return (people[0].last.lower() if people else "", record.year, record.key)


def render_bibliography_page(kb: KnowledgeBase) -> GeneratedPage:
    used_by: dict[str, list] = defaultdict(list)
    for entry in kb.entries.values():
        for key in entry.bib:
            used_by[key].append(entry)
    page = PageBuilder("Bibliography", meta={"search": {"exclude": True}, "description": f"All {len(kb.records)} BibTeX records behind the atlas, each linked to the timeline entries that use it."})
    page.markdown(f"All {len(kb.records)} records behind the atlas, formatted by pybtex's plain style from `bib/*.bib`. "
                  "Each links to the timeline entries that use it.")
    lines = ['<ol class="atlas-bibliography">']
    for record in sorted(kb.records.values(), key=sort_key):
        entries = "".join(f' <a class="atlas-entry-link" href="../entries/{e.id}/">{escape_html(e.title)}</a>'
                          for e in used_by.get(record.key, []))
        links = "".join(f' <a href="{escape_html(url)}" rel="noopener noreferrer">{label}</a>'
                        for label, url in external_links(record))
        lines.append(f'<li id="{escape_html(record.key)}"><span class="atlas-key">{escape_html(record.key)}</span> '
                     f'{record.citation_html}{links}{" · " if entries else ""}{entries}</li>')
    lines.append("</ol>")
    return page.html("".join(lines)).build()
