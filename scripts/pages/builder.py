"""A generated page: a Markdown skeleton (headings, for MkDocs' title, TOC and anchors) plus HTML
fragments put in place after Markdown has run.

Generated content is already HTML and already escaped; sending it through Markdown again costs
most of the build at 5,000 entries (inline patterns over every link) and could reinterpret it.
The skeleton holds a comment per fragment; the MkDocs layer swaps them in (on_page_content).

A page made only of plain headings and HTML fragments (entry pages: thousands of them) also
carries its finished HTML and table of contents, exactly what Markdown would make of the
skeleton (tests/test_pages.py compares the two), so the MkDocs layer can skip Markdown for it."""
from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass, field

from markdown.extensions.toc import slugify, unique

# Heading text that Markdown leaves as it is (no emphasis, links, escapes or attributes).
_PLAIN_HEADING = re.compile(r"[A-Za-z0-9 ,'’-]+")


@dataclass
class GeneratedPage:
    markdown: str
    fragments: dict[str, str] = field(default_factory=dict)
    # Search-index documents made from the model; a page that has them is not parsed for search.
    search_docs: list[dict] = field(default_factory=list)
    # The page as Markdown would render it, and its TOC tokens (as Markdown's toc extension makes
    # them); None when the page has Markdown text of its own.
    html: str | None = None
    toc_tokens: list[dict] | None = None

    def render(self, html: str) -> str:
        """The page's HTML from Markdown's output of the skeleton."""
        for marker, fragment in self.fragments.items():
            html = html.replace(marker, fragment, 1)
        return html


class PageBuilder:
    def __init__(self, title_markdown: str, meta: dict | None = None, title_text: str | None = None):
        """`title_text`: the title as plain text, when the page should also be made directly as HTML."""
        self._lines: list[str] = []
        self._fragments: dict[str, str] = {}
        if meta:
            self._lines += ["---", *(f"{key}: {json.dumps(value)}" for key, value in meta.items()), "---", ""]
        self._lines += [f"# {title_markdown}", ""]
        self._html: list[str] | None = None if title_text is None else []
        self._headings: list[tuple[int, str, str]] = []  # (level, id, escaped text)
        self._ids: set[str] = set()
        if title_text is not None:
            self._add_heading(1, " ".join(title_text.split()))

    def _add_heading(self, level: int, text: str) -> None:
        if self._html is None:
            return
        escaped = html.escape(text, quote=False)
        heading_id = unique(slugify(text, "-"), self._ids)
        self._headings.append((level, heading_id, escaped))
        self._html.append(f'<h{level} id="{heading_id}">{escaped}<a class="headerlink" href="#{heading_id}" '
                          f'title="Permanent link">&para;</a></h{level}>')

    def heading(self, level: int, text: str) -> PageBuilder:
        self._lines += [f"{'#' * level} {text}", ""]
        if _PLAIN_HEADING.fullmatch(text):
            self._add_heading(level, text)
        else:
            self._html = None
        return self

    def markdown(self, text: str) -> PageBuilder:
        self._lines += [text, ""]
        self._html = None
        return self

    def html(self, fragment: str) -> PageBuilder:
        marker = f"<!-- atlas-fragment-{len(self._fragments)} -->"
        self._fragments[marker] = fragment
        self._lines += [marker, ""]
        if self._html is not None:
            self._html.append(fragment)
        return self

    def _toc_tokens(self) -> list[dict]:
        """Nested like Markdown's toc extension: each heading under the nearest higher one."""
        root: list[dict] = []
        stack: list[dict] = []
        for level, heading_id, escaped in self._headings:
            token = {"level": level, "id": heading_id, "name": escaped, "html": escaped,
                     "data-toc-label": "", "children": []}
            while stack and stack[-1]["level"] >= level:
                stack.pop()
            (stack[-1]["children"] if stack else root).append(token)
            stack.append(token)
        return root

    def build(self, search_docs: list[dict] | None = None) -> GeneratedPage:
        direct = self._html is not None
        return GeneratedPage("\n".join(self._lines), dict(self._fragments), list(search_docs or []),
                             "\n".join(self._html) if direct else None, self._toc_tokens() if direct else None)
