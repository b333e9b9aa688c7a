"""Essays share one notation (docs/notation.md): every essay that writes math says where its
symbols are defined, so a reader who meets $a_{ij}$ or a paper's own $\\alpha_{ij}$ can look it up."""
from __future__ import annotations

import re

import pytest

from tests.conftest import ROOT

MATH = re.compile(r"\$[^$\s][^$]*\$")
ESSAYS_WITH_MATH = [essay for essay in sorted((ROOT / "docs" / "essays").glob("*.md"))
                    if MATH.search(essay.read_text(encoding="utf-8"))]
NOTATION_LINK = re.compile(r"\]\(\.\./notation\.md(#[^)]*)?\)")


@pytest.mark.parametrize("essay", ESSAYS_WITH_MATH, ids=lambda p: p.stem)
def test_an_essay_with_math_links_the_notation_page(essay):
    text = essay.read_text(encoding="utf-8")
    assert NOTATION_LINK.search(text), (
        f"{essay.relative_to(ROOT)}: it writes math but never links the notation page — "
        "link [notation page](../notation.md) where the first symbol appears")


def test_the_check_sees_a_missing_link():
    """Negative control: an essay with math and no link fails the pattern."""
    text = "The weight $a_{ij}$ is a share of [the value](../entries/x.md)."
    assert MATH.search(text) and not NOTATION_LINK.search(text)
