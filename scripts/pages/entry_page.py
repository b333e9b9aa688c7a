"""One page per entry: who, where, links, citation, annotation, quotes, relations, lineage, BibTeX."""
from __future__ import annotations

import json

from scripts.graph import lineage
from scripts.model import Entry, KnowledgeBase
from scripts.pages.common import (RELATION_IN, RELATION_OUT, external_links, fence, main_record,
                                  thread_chip, venue)
from scripts.text import escape_html, escape_markdown, render_untrusted_markdown


def entry_uri(entry_id: str) -> str:
    return f"entries/{entry_id}.md"


def _link(kb: KnowledgeBase, entry_id: str) -> str:
    """A Markdown link from one entry page to another (MkDocs checks it exists)."""
    target = kb.entries[entry_id]
    return f"[{escape_markdown(target.title)}]({entry_id}.md) ({target.date.year})"


def _evidence(kb: KnowledgeBase, relation, citing: Entry) -> str:
    source = relation.source
    if source is None:  # only `cites` may omit it: the citing work's own reference list
        return f"reference list of [{escape_markdown(citing.title)}]({citing.id}.md)"
    parts = []
    if source.bib:
        record = kb.records[source.bib]
        parts.append(f"[{escape_markdown(record.citation_text[:90].rstrip())}](../bibliography.md#{source.bib})")
    if source.locator:
        parts.append(escape_markdown(source.locator))
    if source.note:
        parts.append(escape_markdown(source.note))
    return ", ".join(parts)


def _relations_section(kb: KnowledgeBase, entry: Entry) -> list[str]:
    out = [f"- **{RELATION_OUT[r.type]}** {_link(kb, r.target)} — *evidence:* {_evidence(kb, r, entry)}"
           for r in entry.relations]
    incoming = [(kb.entries[source], data["relation"]) for source, _, data in kb.graph.in_edges(entry.id, data=True)]
    incoming.sort(key=lambda pair: (pair[0].date.sort_key, pair[0].id))
    into = [f"- **{RELATION_IN[r.type]}** {_link(kb, other.id)} — *evidence:* {_evidence(kb, r, other)}"
            for other, r in incoming]
    if not out and not into:
        return []
    lines = ["## Relations", ""]
    if out:
        lines += ["### From this work", "", *out, ""]
    if into:
        lines += ["### To this work", "", *into, ""]
    return lines


def _lineage_section(kb: KnowledgeBase, entry: Entry) -> list[str]:
    lines = []
    for direction, heading in (("up", "Builds on"), ("down", "Built upon by")):
        generations = lineage(kb.graph, entry.id, direction)
        if not generations:
            continue
        lines += [f"**{heading}** (through cites, extends and influenced; up to three generations):", ""]
        for depth, members in enumerate(generations, start=1):
            shown = ", ".join(_link(kb, m) for m in members[:12])
            more = f", and {len(members) - 12} more" if len(members) > 12 else ""
            lines.append(f"{depth}. {shown}{more}")
        lines.append("")
    return ["## Lineage", "", *lines] if lines else []


def render_entry_page(kb: KnowledgeBase, entry: Entry, mechanism_uri: str | None) -> str:
    record = main_record(kb, entry)
    authors = ", ".join(f'<a href="../../people/#{p.slug}">{escape_html(p.display)}</a>' for p in record.people)
    where = escape_html(venue(record))
    links = " ".join(f'<a class="md-button atlas-link" href="{escape_html(url)}" rel="noopener noreferrer">{label}</a>'
                     for label, url in external_links(record))
    head = [
        "---",
        f"title: {json.dumps(escape_html(entry.title))}",
        "---",
        "",
        f"# {escape_markdown(entry.title)}",
        "",
        f'<p class="atlas-byline">{authors}<br><span class="atlas-venue">{where}</span> · '
        f'<time>{escape_html(entry.date.label)}</time> · '
        f'{thread_chip(entry.thread, "../../timeline/?thread=" + entry.thread)} '
        f'<span class="atlas-kind">{escape_html(entry.kind)}</span></p>',
        "",
        f'<p class="atlas-summary">{escape_html(entry.summary)}</p>',
        "",
    ]
    if links:
        head += [f'<p class="atlas-links">{links}</p>', ""]
    body = ["## Why it matters", "", f'<div class="atlas-annotation">\n{render_untrusted_markdown(entry.annotation)}\n</div>', ""]
    if entry.quotes:
        body += ["## In their words", ""]
        for quote in entry.quotes:
            source = kb.records[quote.source]
            body += [f'<blockquote class="atlas-quote"><p>“{escape_html(quote.text)}”</p>'
                     f'<footer>— {escape_html(source.citation_text)} <span class="atlas-locator">'
                     f'({escape_html(quote.locator)})</span></footer></blockquote>', ""]
    if mechanism_uri:
        body += ["## Run it", "", f"A minimal PyTorch implementation, run on this site: [the mechanism page](../{mechanism_uri}).", ""]
    body += _relations_section(kb, entry)
    body += _lineage_section(kb, entry)
    body += ["## Cite", ""]
    for key in entry.bib:
        body += [f'<p class="atlas-citation" id="cite-{escape_html(key)}">{kb.records[key].citation_html}</p>', ""]
        body += [fence(kb.records[key].bibtex, "bibtex"), ""]
    return "\n".join(head + body)
