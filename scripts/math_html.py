"""Math typeset at build time: the HTML a reader downloads already holds KaTeX's markup, so the
browser needs KaTeX's stylesheet and fonts but never its 277 KB script or the seconds it spends
typesetting a long page on a phone.

What is typeset is what KaTeX's auto-render typeset in the browser before: the `\\( … \\)` and
`\\[ … \\]` that pymdownx.arithmatex (generic mode) leaves in `.arithmatex` elements, and math
in the Markdown cells of notebooks (`.jp-RenderedMarkdown`), never inside code, scripts or the
timeline's own widgets. Math is found with the same pattern that decides a page has math
(scripts/page_text.py), in the page's text between tags, as it is written in the HTML (the
LaTeX is unescaped only for KaTeX). KaTeX runs in one Node process per build
(scripts/typeset_math.mjs), one round trip per page; the same formula is typeset once."""
from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from scripts.page_text import MATH

ROOT = Path(__file__).resolve().parent.parent
TYPESETTER = ROOT / "scripts" / "typeset_math.mjs"

# Elements whose text holds math, by a class they carry; elements and classes whose text is
# never math (as auto-render's ignoredTags and the classes the site told it to skip).
MATH_CLASSES = {"arithmatex", "jp-RenderedMarkdown"}
IGNORED_TAGS = {"code", "pre", "script", "style", "textarea", "noscript", "option", "svg"}
IGNORED_CLASSES = {"highlight", "atlas-timeline", "atlas-filter", "katex"}
VOID_TAGS = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
# A comment, a raw-text element with its content (skipped whole), or a tag.
_TOKEN = re.compile(r"<!--.*?-->|<(script|style)\b[^>]*>.*?</\1\s*>|<(/?)([a-zA-Z][\w:-]*)([^>]*)>", re.S | re.I)
_CLASS = re.compile(r"""\bclass\s*=\s*(?:"([^"]*)"|'([^']*)')""", re.I)


class TypesetterMissing(RuntimeError):
    """Node.js or KaTeX (node_modules) is not installed."""


@dataclass(frozen=True)
class MathProblem:
    latex: str
    message: str


@dataclass
class Typesetter:
    """KaTeX in a Node process started on first use; `close` ends it (each build, on_post_build)."""
    cache: dict[tuple[str, bool], str] = field(default_factory=dict)
    problems: list[MathProblem] = field(default_factory=list)
    _process: subprocess.Popen | None = None

    def _start(self) -> subprocess.Popen:
        node = shutil.which("node")
        if node is None:
            raise TypesetterMissing("Node.js is needed to typeset math at build time — install Node.js 20 "
                                    "and run `make setup` (it runs `npm ci`)")
        if not (ROOT / "node_modules" / "katex").is_dir():
            raise TypesetterMissing("KaTeX is not installed (node_modules/katex) — run `make setup` (it runs `npm ci`)")
        return subprocess.Popen([node, str(TYPESETTER)], cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                text=True, encoding="utf-8", bufsize=1)

    def typeset(self, formulas: list[tuple[str, bool]]) -> dict[tuple[str, bool], str]:
        """(latex, display) → KaTeX's HTML, for every formula given; errors are kept in `problems`."""
        new = list(dict.fromkeys(f for f in formulas if f not in self.cache))
        if new:
            if self._process is None:
                self._process = self._start()
            self._process.stdin.write(json.dumps(new) + "\n")
            self._process.stdin.flush()
            line = self._process.stdout.readline()
            if not line:
                raise TypesetterMissing(f"the KaTeX process ({TYPESETTER.name}) ended without an answer")
            for formula, result in zip(new, json.loads(line)):
                self.cache[formula] = result["html"]
                if "error" in result:
                    self.problems.append(MathProblem(formula[0], result["error"]))
        return {formula: self.cache[formula] for formula in formulas}

    def close(self) -> None:
        if self._process is not None:
            self._process.stdin.close()
            self._process.wait()
            self._process = None


def _classes(attributes: str) -> set[str]:
    match = _CLASS.search(attributes)
    return set((match.group(1) or match.group(2)).split()) if match else set()


def _math_text_spans(page: str, start: int = 0) -> list[tuple[int, int]]:
    """(start, end) of every run of text, between tags, that sits inside a math element and
    outside anything ignored, reading from `start` (where no element is open)."""
    spans: list[tuple[int, int]] = []
    stack: list[tuple[str, bool, bool]] = []  # (tag, holds math, ignored)
    open_count: dict[str, int] = {}  # how many of each tag are on the stack: a close tag is checked in O(1)
    math_depth = ignored_depth = 0
    position = start
    for token in _TOKEN.finditer(page, start):
        if math_depth and not ignored_depth and token.start() > position:
            spans.append((position, token.start()))
        position = token.end()
        closing, tag = token.group(2), (token.group(3) or "").lower()
        if not tag:
            continue  # a comment, or a script or style skipped whole
        if closing:
            # Pop back to the element this closes (tolerant of an unclosed one inside it).
            if open_count.get(tag):
                while stack:
                    open_tag, holds, ignored = stack.pop()
                    open_count[open_tag] -= 1
                    math_depth -= holds
                    ignored_depth -= ignored
                    if open_tag == tag:
                        break
            continue
        attributes = token.group(4)
        if tag in VOID_TAGS or attributes.rstrip().endswith("/"):
            continue
        classes = _classes(attributes) if "class" in attributes else ()
        holds = not MATH_CLASSES.isdisjoint(classes)
        ignored = tag in IGNORED_TAGS or not IGNORED_CLASSES.isdisjoint(classes)
        stack.append((tag, holds, ignored))
        open_count[tag] = open_count.get(tag, 0) + 1
        math_depth += holds
        ignored_depth += ignored
    return spans


def _formula(match: re.Match) -> tuple[str, bool]:
    display = match.group(1) is not None or match.group(2) is not None
    latex = next(group for group in match.groups() if group is not None)
    return html.unescape(latex).strip(), display


# Material puts a page's content in its one <article>; what comes before it (header, tabs, the
# navigation and the table of contents) holds no math element on any page of ours, and is a
# quarter of an entry page's tags. When a page has one there, the whole page is read.
_ARTICLE = re.compile(r"<article\b")


def _content_start(page: str) -> int:
    article = _ARTICLE.search(page)
    if article is None:
        return 0
    before = page[:article.start()].lower()
    if any(name.lower() in before for name in MATH_CLASSES):
        return 0  # (the class's name anywhere before, even as text, is enough to read it all)
    return article.start()


def typeset_page(page: str, typesetter: Typesetter) -> str:
    """The page with every formula in its math elements replaced by KaTeX's HTML."""
    found = [(m.start(), m.end(), _formula(m))
             for start, end in _math_text_spans(page, _content_start(page))
             for m in MATH.finditer(page, start, end)]
    if not found:
        return page
    typeset = typesetter.typeset([formula for _, _, formula in found])
    parts, position = [], 0
    for start, end, formula in found:
        parts += [page[position:start], typeset[formula]]
        position = end
    parts.append(page[position:])
    return "".join(parts)
