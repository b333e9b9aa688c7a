"""Highlighted code with fewer elements and the same colours.

Pygments wraps every token in a `<span>`: a mechanism page's module source and notebook cells come
to two thousand spans, half the page's elements, and a phone restyles every element each time
Material's scripts touch the page (Lighthouse: seconds of style recalculation). Most of those
spans change nothing a reader sees. Material colours names (`n`) with the code's own colour
(`--md-code-hl-name-color: var(--md-code-fg-color)`, in both schemes) and gives whitespace (`w`)
no style, so those spans are dropped; punctuation and operators (`p`, `o`, `ow`) share one colour
(`--md-default-fg-color--light`), so a run of them, with the spaces between, becomes one span.
Only `.highlight` code is touched; the text, and so what the copy button copies, is unchanged."""
from __future__ import annotations

import re

_HIGHLIGHT_CODE = re.compile(r'(<div class="(?:[^"]* )?highlight(?: [^"]*)?"[^>]*>\s*<pre[^>]*>)(.*?)(</pre>)', re.S)
_UNSTYLED = re.compile(r'<span class="(?:n|w)">([^<]*)</span>')
_PUNCTUATION = r'<span class="(?:p|o|ow)">[^<]*</span>'
_PUNCTUATION_RUN = re.compile(rf'{_PUNCTUATION}(?:[ \t]*{_PUNCTUATION})+')
_TEXT = re.compile(r'<span class="(?:p|o|ow)">([^<]*)</span>|([ \t]+)')


def _merge(run: re.Match) -> str:
    return '<span class="p">' + "".join(a or b for a, b in _TEXT.findall(run.group(0))) + "</span>"


def _lighter(code: str) -> str:
    return _PUNCTUATION_RUN.sub(_merge, _UNSTYLED.sub(r"\1", code))


def lighter_highlighting(html: str) -> str:
    """`html` with every Pygments block's redundant spans removed (see the module's docstring)."""
    return _HIGHLIGHT_CODE.sub(lambda block: block.group(1) + _lighter(block.group(2)) + block.group(3), html)
