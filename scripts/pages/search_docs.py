"""Search-index documents for entry pages, made from the model rather than parsed from HTML.

Material's search plugin parses every rendered page with Python's HTMLParser, which at
thousands of entry pages was most of the build's cost per entry. An entry page is excluded
from that parse (front matter `search: {exclude: true}`) and contributes these documents
instead: plain text (Material's index holds HTML, so the text is escaped), no LaTeX source,
and a byline whose fields are separated, so a reader finds a work by its title, authors,
venue, year or words of its annotation."""
from __future__ import annotations

import html
import re

from scripts.model import Entry, KnowledgeBase
from scripts.pages.common import main_record, venue

_MATH = re.compile(r'<span class="arithmatex">.*?</span>', re.S)
_TAG = re.compile(r"<[^>]+>")


def plain_text(fragment: str) -> str:
    """The words of an HTML fragment: math and tags dropped, entities decoded, spaces collapsed."""
    text = html.unescape(_TAG.sub(" ", _MATH.sub(" ", fragment)))
    return re.sub(r"\s+([,.;:)])", r"\1", " ".join(text.split()))


def entry_search_docs(kb: KnowledgeBase, entry: Entry, location: str, annotation_html: str,
                      meta: dict | None = None) -> list[dict]:
    """The page as a whole (title; byline and summary) and its annotation as one section, with
    the page's search tags (its authors' surnames) and boost, as the plugin would add them."""
    record = main_record(kb, entry)
    authors = ", ".join(person.display for person in record.people)
    byline = " · ".join(part for part in (authors, venue(record), entry.date.label) if part)
    docs = [
        {"location": location, "title": html.escape(entry.title, quote=False),
         "text": html.escape(f"{byline}. {entry.summary}", quote=False)},
        {"location": f"{location}#why-it-matters", "title": "Why it matters",
         "text": html.escape(plain_text(annotation_html), quote=False)},
    ]
    meta = meta or {}
    for doc in docs:
        if meta.get("tags"):
            doc["tags"] = [str(tag) for tag in meta["tags"]]
        if "boost" in meta.get("search", {}):
            doc["boost"] = meta["search"]["boost"]
    return docs
