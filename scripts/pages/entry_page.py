"""One page per entry: who, where, links, citation, annotation, quotes, relations, lineage, BibTeX."""
from __future__ import annotations

import math
from collections.abc import Callable

from scripts.graph import lineage
from scripts.model import Entry, KnowledgeBase
from scripts.pages.builder import GeneratedPage, PageBuilder
from scripts.pages.search_docs import entry_search_docs
from scripts.pages.common import (RELATION_IN, RELATION_OUT, external_links, main_record, record_bibtex,
                                  thread_chip, thread_label, venue)
from scripts.text import escape_html, escape_markdown, render_untrusted_markdown


LINEAGE_SHOWN = 12


def entry_uri(entry_id: str) -> str:
    return f"entries/{entry_id}.md"


def _link(kb: KnowledgeBase, entry_id: str) -> str:
    """A link from one entry page to another (pages are siblings: entries/<id>/)."""
    target = kb.entries[entry_id]
    return f'<a href="../{entry_id}/">{escape_html(target.title)}</a> ({target.date.year})'


def _evidence(kb: KnowledgeBase, relation, citing: Entry, here: Entry) -> str:
    source = relation.source
    if source is None:  # only `cites` may omit it: the citing work's own reference list
        if citing.id == here.id:  # no link from a page to itself
            return "its reference list"
        return f'reference list of <a href="../{citing.id}/">{escape_html(citing.title)}</a>'
    parts = []
    if source.bib:
        record = kb.records[source.bib]
        label = record.citation_text if len(record.citation_text) <= 90 else record.citation_text[:88].rstrip() + "…"
        parts.append(f'<a href="../../bibliography/#{escape_html(source.bib)}">{escape_html(label)}</a>')
    if source.locator:
        parts.append(escape_html(source.locator))
    if source.note:
        parts.append(escape_html(source.note))
    return ", ".join(parts)


def _relation_list(items: list[str]) -> str:
    return '<ul class="atlas-relations">' + "".join(f"<li>{item}</li>" for item in items) + "</ul>"


def _relations(kb: KnowledgeBase, entry: Entry, page: PageBuilder) -> None:
    out = [f"<strong>{RELATION_OUT[r.type]}</strong> {_link(kb, r.target)} — <em>evidence:</em> {_evidence(kb, r, entry, entry)}"
           for r in entry.relations]
    incoming = sorted(((kb.entries[source], data["relation"]) for source, _, data in kb.graph.in_edges(entry.id, data=True)),
                      key=lambda pair: (pair[0].date.sort_key, pair[0].id))
    into = [f"<strong>{RELATION_IN[r.type]}</strong> {_link(kb, other.id)} — <em>evidence:</em> {_evidence(kb, r, other, entry)}"
            for other, r in incoming]
    if not out and not into:
        return
    page.heading(2, "Relations")
    if out:
        page.heading(3, "From this work").html(_relation_list(out))
    if into:
        page.heading(3, "To this work").html(_relation_list(into))


def _lineage(kb: KnowledgeBase, entry: Entry, page: PageBuilder) -> None:
    parts = []
    for direction, heading in (("up", "Builds on"), ("down", "Built upon by")):
        generations = lineage(kb.graph, entry.id, direction)
        if not generations:
            continue
        rows = []
        for depth, members in enumerate(generations, start=1):
            shown = ", ".join(_link(kb, m) for m in members[:LINEAGE_SHOWN])
            if len(members) > LINEAGE_SHOWN:  # the rest one click away, not cut off
                rest = ", ".join(_link(kb, m) for m in members[LINEAGE_SHOWN:])
                shown += (f'<details class="atlas-more"><summary>and {len(members) - LINEAGE_SHOWN} more</summary>'
                          f"{rest}</details>")
            rows.append(f'<li><span class="atlas-generation">Generation {depth}:</span> {shown}</li>')
        parts.append(f"<p><strong>{heading}</strong> (through cites, extends and influenced; up to three generations):</p>"
                     f'<ul class="atlas-lineage">{"".join(rows)}</ul>')
    if parts:
        page.heading(2, "Lineage").html("".join(parts))


def search_meta(kb: KnowledgeBase, entry: Entry) -> dict:
    """Front matter for MkDocs and the search plugin: the summary as the page's description, and
    the authors' surnames as search tags (boosted above titles), so that searching "Bahdanau"
    finds Bahdanau's papers before the works that only mention him. Better-connected works get
    a small boost, so among one author's works the influential ones come first."""
    surnames = list(dict.fromkeys(p.last for key in entry.bib for p in kb.records[key].people))
    return {"title": escape_html(entry.title), "description": escape_html(entry.summary),
            "tags": surnames, "search": {"boost": round(1 + math.log1p(kb.graph.in_degree(entry.id)) / 4, 3)}}


def render_entry_page(kb: KnowledgeBase, entry: Entry, mechanisms: list[tuple[str, str]],
                      essay: str | None = None, typeset_math: Callable[[str, str], str] | None = None) -> GeneratedPage:
    """`essay`: the site-relative URL of the essay on the entry's thread, where there is one.
    `typeset_math(html, where)`: the build's math typesetter. The annotation is the one part of
    an entry page that holds math, so it is typeset here, on its own, and the page says so in its
    front matter (`atlas_math_typeset`): the build need not read the whole page to find it."""
    record = main_record(kb, entry)
    authors = ", ".join(f'<a href="../../people/#{p.slug}">{escape_html(p.display)}</a>' for p in record.people)
    links = " ".join(f'<a class="md-button atlas-link" href="{escape_html(url)}" rel="noopener noreferrer">{label}</a>'
                     for label, url in external_links(record))
    # The search plugin skips this page (it would parse its HTML); entry_search_docs gives the
    # index its text, tags and boost instead.
    meta = search_meta(kb, entry)
    annotation_html = render_untrusted_markdown(entry.annotation)
    shown_annotation, typeset = annotation_html, {}
    if typeset_math is not None:
        shown_annotation, typeset = typeset_math(annotation_html, entry_uri(entry.id)), {"atlas_math_typeset": True}
    page = PageBuilder(escape_markdown(entry.title), title_text=entry.title,
                       meta={**meta, "search": {**meta["search"], "exclude": True}, **typeset})
    essay_link = f' · <a href="../../{essay}">the {escape_html(thread_label(entry.thread).lower())} essay</a>' if essay else ""
    page.html(
        f'<p class="atlas-byline">{authors}<br> <span class="atlas-venue">{escape_html(venue(record))}</span> · '
        f'<time>{escape_html(entry.date.label)}</time> · '
        f'{thread_chip(entry.thread, "../../timeline/?thread=" + entry.thread)} '
        f'<span class="atlas-kind">{escape_html(entry.kind)}</span>{essay_link}</p>'
        f'<p class="atlas-summary">{escape_html(entry.summary)}</p>'
        + (f'<p class="atlas-links">{links}</p>' if links else ""))
    page.heading(2, "Why it matters").html(f'<div class="atlas-annotation">{shown_annotation}</div>')
    if entry.quotes:
        quotes = "".join(
            f'<blockquote class="atlas-quote"><p>“{escape_html(q.text)}”</p><footer>— '
            f'{escape_html(kb.records[q.source].citation_text)} <span class="atlas-locator">({escape_html(q.locator)})</span>'
            f'</footer></blockquote>' for q in entry.quotes)
        page.heading(2, "In their words").html(quotes)
    if mechanisms:
        links = ", ".join(f'<a href="../../{url}">{escape_html(title)}</a>' for title, url in mechanisms)
        page.heading(2, "Run it").html(f'<p>Minimal PyTorch implementations, run when the site is built: {links}.</p>')
    _relations(kb, entry, page)
    _lineage(kb, entry, page)
    cite = []
    for key in entry.bib:
        cite.append(f'<p class="atlas-citation" id="cite-{escape_html(key)}">{kb.records[key].citation_html}</p>'
                    f'<div class="highlight atlas-bibtex" data-search-exclude><pre><code>'
                    f"{escape_html(record_bibtex(kb.records[key]))}</code></pre></div>")
    page.heading(2, "Cite").html("".join(cite))
    return page.build(entry_search_docs(kb, entry, f"entries/{entry.id}/", annotation_html, meta))
