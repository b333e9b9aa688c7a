"""Pages as plain text: for meta descriptions and for the search index, which show text, not markup.

Math arrives as LaTeX source (`\\( … \\)`, `$ … $`); pylatexenc turns it into Unicode
(`\\sqrt d` → `√(d)`), so a search result or a link preview reads "Why divide by √(d)"."""
from __future__ import annotations

import html
import re
from html.parser import HTMLParser

from pylatexenc.latex2text import LatexNodes2Text

from scripts.rebuild_memo import Memo

_LATEX = LatexNodes2Text(math_mode="text")
# Display math first, so `$$x$$` is not read as two empty inline spans.
# Inline `$ … $` may wrap onto the next line (as written in a notebook's Markdown), not across a paragraph.
MATH = re.compile(r"\$\$(.+?)\$\$|\\\[(.+?)\\\]|\\\((.+?)\\\)"
                  r"|(?<![\\\w$])\$(?=\S)((?:[^$\n]|\n(?![ \t]*\n))+?)(?<=\S)\$(?![\w$])", re.S)
_PERMALINK = "¶"
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9“\"(])")


def math_to_text(text: str) -> str:
    """Every math span in `text` as Unicode text, delimiters removed; the rest unchanged."""
    def convert(match: re.Match) -> str:
        source = next(group for group in match.groups() if group is not None)
        return " ".join(_LATEX.latex_to_text(source).split())
    return MATH.sub(convert, text)


class _TextOf(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_data(self, data):
        self.parts.append(data)


def html_to_text(fragment: str) -> str:
    """The text of an HTML fragment, whitespace collapsed."""
    parser = _TextOf()
    parser.feed(fragment)
    parser.close()
    return " ".join("".join(parser.parts).split())


def first_sentence(text: str, limit: int = 300) -> str:
    sentence = _SENTENCE_END.split(text.strip(), 1)[0]
    return sentence if len(sentence) <= limit else sentence[:limit - 1].rstrip() + "…"


# Under `mkdocs serve`, a rebuild converts only the fields of the pages an edit changed that
# hold new text (LaTeX to Unicode is the slow part).
_PLAIN_FIELDS = Memo()


def plain_index_field(value: str) -> str:
    """A title or preview of Material's search index (HTML-escaped text with a few tags kept)
    without permalink marks or LaTeX source."""
    return _PLAIN_FIELDS.get(value, lambda: _plain_index_field(value))


def _plain_index_field(value: str) -> str:
    value = value.replace(_PERMALINK, "")
    unescaped = html.unescape(value)
    if not MATH.search(unescaped):
        return value.strip()
    # Convert inside the unescaped text, then escape again: the index holds HTML.
    tags = re.split(r"(<[^>]+>)", value)
    return "".join(part if part.startswith("<") else html.escape(math_to_text(html.unescape(part)), quote=False)
                   for part in tags).strip()


def clean_search_index(index: dict) -> dict:
    """Material's search index with every title and preview as plain text."""
    for doc in index["docs"]:
        doc["title"] = plain_index_field(doc["title"])
        doc["text"] = plain_index_field(doc["text"])
    return index


def has_math(page_html: str) -> bool:
    """Whether a page needs KaTeX: arithmatex output, or math left in notebook Markdown."""
    return 'class="arithmatex"' in page_html or MATH.search(page_html) is not None
