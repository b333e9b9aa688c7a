"""A generated page: a Markdown skeleton (headings, for MkDocs' title, TOC and anchors) plus HTML
fragments put in place after Markdown has run.

Generated content is already HTML and already escaped; sending it through Markdown again costs
most of the build at 5,000 entries (inline patterns over every link) and could reinterpret it.
The skeleton holds a comment per fragment; the MkDocs layer swaps them in (on_page_content)."""
from __future__ import annotations

import json
from dataclasses import dataclass, field


@dataclass
class GeneratedPage:
    markdown: str
    fragments: dict[str, str] = field(default_factory=dict)
    # Search-index documents made from the model; a page that has them is not parsed for search.
    search_docs: list[dict] = field(default_factory=list)

    def render(self, html: str) -> str:
        """The page's HTML from Markdown's output of the skeleton."""
        for marker, fragment in self.fragments.items():
            html = html.replace(marker, fragment, 1)
        return html


class PageBuilder:
    def __init__(self, title_markdown: str, meta: dict | None = None):
        self._lines: list[str] = []
        self._fragments: dict[str, str] = {}
        if meta:
            self._lines += ["---", *(f"{key}: {json.dumps(value)}" for key, value in meta.items()), "---", ""]
        self._lines += [f"# {title_markdown}", ""]

    def heading(self, level: int, text: str) -> PageBuilder:
        self._lines += [f"{'#' * level} {text}", ""]
        return self

    def markdown(self, text: str) -> PageBuilder:
        self._lines += [text, ""]
        return self

    def html(self, fragment: str) -> PageBuilder:
        marker = f"<!-- atlas-fragment-{len(self._fragments)} -->"
        self._fragments[marker] = fragment
        self._lines += [marker, ""]
        return self

    def build(self, search_docs: list[dict] | None = None) -> GeneratedPage:
        return GeneratedPage("\n".join(self._lines), dict(self._fragments), list(search_docs or []))
