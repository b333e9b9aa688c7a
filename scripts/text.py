"""Turning untrusted text into safe HTML and Markdown.

Entry files come from strangers' pull requests. Plain-text fields are HTML-escaped and
Markdown-escaped; Markdown fields are rendered with raw HTML switched off (so tags show as
text) and the result is passed through nh3 (ammonia), which drops images and any link
that is not http(s), mailto or relative.
"""
from __future__ import annotations

import html
import re
import unicodedata

import markdown
import nh3

from scripts.rebuild_memo import Memo

_MARKDOWN_SPECIALS = re.compile(r"([\\`*_{}\[\]()#+\-.!|~$])")


def escape_html(text: str) -> str:
    return html.escape(text, quote=True)


def escape_markdown(text: str) -> str:
    """Text that Markdown shows literally: HTML-escaped, then specials as numeric character
    references. Not backslash escapes: arithmatex reads \\( … \\) and \\[ … \\] as math, so a
    title such as "Reformer (LSH attention)" would have been typeset as a formula."""
    return _MARKDOWN_SPECIALS.sub(lambda m: f"&#{ord(m.group(1))};", html.escape(" ".join(text.split()), quote=False))


def slugify(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-") or "x"


_ALLOWED_TAGS = {"p", "em", "strong", "code", "pre", "a", "ul", "ol", "li", "blockquote",
                 "span", "div", "sub", "sup", "br", "hr", "h3", "h4", "table", "thead",
                 "tbody", "tr", "th", "td"}
_ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "span": {"class"}, "div": {"class"},
                       "th": {"align"}, "td": {"align"}}


def _untrusted_markdown() -> markdown.Markdown:
    md = markdown.Markdown(
        extensions=["sane_lists", "tables", "pymdownx.arithmatex"],
        extension_configs={"pymdownx.arithmatex": {"generic": True}},
    )
    # Raw HTML off: a <script> in an annotation becomes the visible text "<script>".
    md.preprocessors.deregister("html_block")
    md.inlinePatterns.deregister("html")
    return md


_MD = _untrusted_markdown()


# Under `mkdocs serve`, a rebuild renders only the annotations that are new or were edited.
_RENDERED = Memo()


def render_untrusted_markdown(source: str) -> str:
    """Markdown from an entry file → HTML that can only be text, formatting, math and links."""
    return _RENDERED.get(source, lambda: _render_untrusted_markdown(source))


def _render_untrusted_markdown(source: str) -> str:
    _MD.reset()
    rendered = _MD.convert(source)
    return nh3.clean(
        rendered,
        tags=_ALLOWED_TAGS,
        attributes=_ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
    )


def json_for_script(data_json: str) -> str:
    """JSON safe to embed inside <script>: no '</script>' or '<!--' can close or confuse it."""
    return data_json.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
