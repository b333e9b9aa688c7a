"""Math typeset at build time (scripts/math_html.py): which text is math, and what KaTeX makes of it."""
from __future__ import annotations

import html
import re
import shutil

import pytest

from scripts.math_html import Typesetter, typeset_page

needs_node = pytest.mark.skipif(shutil.which("node") is None, reason="Node.js is not installed")


class Marking:
    """Stands in for KaTeX: marks each formula, so a test sees exactly what was taken as math."""
    def __init__(self):
        self.seen: list[tuple[str, bool]] = []

    def typeset(self, formulas):
        self.seen += formulas
        return {f: f"[{'display' if f[1] else 'inline'}:{f[0]}]" for f in formulas}


def test_math_in_arithmatex_and_notebook_markdown_is_typeset():
    page = ('<p><span class="arithmatex">\\(a &lt; b\\)</span></p><div class="arithmatex">\\[x^2\\]</div>'
            '<div class="jp-RenderedMarkdown"><p>Let $x_i$ wrap $h =\n[a; b]$.</p><div>$$\\sum_i x_i$$</div></div>')
    assert typeset_page(page, Marking()) == (
        '<p><span class="arithmatex">[inline:a < b]</span></p><div class="arithmatex">[display:x^2]</div>'
        '<div class="jp-RenderedMarkdown"><p>Let [inline:x_i] wrap [inline:h =\n[a; b]].</p>'
        '<div>[display:\\sum_i x_i]</div></div>')


def test_code_scripts_and_text_outside_math_elements_are_left_alone():
    page = ('<p>costs $5 or $x$ here</p><div class="jp-RenderedMarkdown"><p><code>$y$</code></p>'
            '<script>let s = "$z$";</script><div class="highlight"><span>$h$</span></div>'
            '<img src="a.png"><br/>$v$ and $5 and $10</div>$after$')
    marking = Marking()
    assert typeset_page(page, marking) == page.replace("<br/>$v$", "<br/>[inline:v]")
    assert marking.seen == [("v", False)]


def test_reading_from_the_article_finds_what_reading_the_whole_page_finds():
    """Math is looked for from <article> on when nothing before it is a math element; otherwise
    (a math element, or its class's name, before the article) the whole page is read."""
    content = '<article><p><span class="arithmatex">\\(a\\)</span> and <code>\\(no\\)</code></p></article>'
    plain = '<html><body><nav><a>\\(toc\\)</a></nav>' + content + "</body></html>"
    assert typeset_page(plain, Marking()) == plain.replace('">\\(a\\)<', '">[inline:a]<')
    before = '<html><body><div class="arithmatex">\\[b\\]</div>' + content + "</body></html>"
    marking = Marking()
    assert "[display:b]" in typeset_page(before, marking) and marking.seen == [("b", True), ("a", False)]


def test_a_page_without_math_is_returned_unchanged():
    page = "<p>Nothing $here</p>"
    assert typeset_page(page, Marking()) is page


@needs_node
def test_katex_typesets_with_the_source_kept_for_screen_readers():
    typesetter = Typesetter()
    try:
        page = typeset_page('<div class="arithmatex">\\[\\frac{QK^\\top}{\\sqrt{d}}\\]</div>'
                            '<span class="arithmatex">\\(a &lt; b\\)</span>', typesetter)
    finally:
        typesetter.close()
    assert page.count('class="katex-display"') == 1 and page.count('class="katex"') == 2
    annotations = [html.unescape(a) for a in re.findall(r'<annotation encoding="application/x-tex">(.*?)</annotation>', page)]
    assert annotations == ["\\frac{QK^\\top}{\\sqrt{d}}", "a < b"]  # MathML with the LaTeX, for assistive tech
    assert "\\(" not in page and "\\[" not in page
    assert typesetter.problems == []


@needs_node
def test_untrusted_math_stays_text_and_errors_are_reported():
    typesetter = Typesetter()
    try:
        page = typeset_page('<span class="arithmatex">\\(\\href{javascript:alert(1)}{x} \\text{&lt;script&gt;}\\)</span>'
                            '<span class="arithmatex">\\(\\frac{a\\)</span>', typesetter)
    finally:
        typesetter.close()
    assert "<script" not in page and "javascript:" not in page.replace("\\href{javascript:", "")
    assert 'href="javascript' not in page
    assert [problem.latex for problem in typesetter.problems] == ["\\frac{a"]
    assert "katex-error" in page  # shown as source in KaTeX's error colour, and named by the build


@needs_node
def test_a_formula_is_typeset_once_per_build():
    typesetter = Typesetter()
    try:
        first = typesetter.typeset([("x", False)])
        process = typesetter._process
        assert typesetter.typeset([("x", False), ("x", False)]) == first
        assert typesetter._process is process
    finally:
        typesetter.close()
    assert typesetter._process is None
