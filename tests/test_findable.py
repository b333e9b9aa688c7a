"""The built site as search engines and the site search see it: every page in the sitemap with a
canonical link, a description of its own and Open Graph tags; a search index of plain text
that leaves notebook code and output out; KaTeX only on pages with math."""
from __future__ import annotations

import html
import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml

from scripts.page_text import first_sentence, html_to_text, math_to_text
from tests.conftest import ROOT

CONFIG = yaml.load((ROOT / "mkdocs.yml").read_text(), Loader=yaml.BaseLoader)
SITE_URL = CONFIG["site_url"]


def pages(site: Path) -> list[Path]:
    return sorted(p for p in site.rglob("index.html") if "assets" not in p.parts)


def url_of(site: Path, page: Path) -> str:
    path = page.parent.relative_to(site).as_posix()
    return SITE_URL + ("" if path == "." else path + "/")


def meta(page_html: str, attribute: str, name: str) -> str | None:
    match = re.search(rf'<meta {attribute}="{re.escape(name)}" content="([^"]*)"', page_html)
    return html.unescape(match.group(1)) if match else None


def test_sitemap_lists_every_page(built_site):
    tree = ET.parse(built_site / "sitemap.xml")
    listed = {loc.text for loc in tree.iter("{http://www.sitemaps.org/schemas/sitemap/0.9}loc")}
    expected = {url_of(built_site, page) for page in pages(built_site)}
    assert any("/entries/" in url for url in expected) and any("/mechanisms/" in url for url in expected)
    assert expected - listed == set()


def test_every_page_has_a_canonical_link_and_its_own_description(built_site):
    site_description = CONFIG["site_description"]
    missing = []
    for page in pages(built_site):
        text = page.read_text(encoding="utf-8")
        url = url_of(built_site, page)
        if f'<link rel="canonical" href="{url}">' not in text:
            missing.append(f"{url}: canonical")
        description = meta(text, "name", "description")
        if not description or (description == site_description and page.parent != built_site):
            missing.append(f"{url}: description")
        if meta(text, "property", "og:title") is None or meta(text, "property", "og:description") != description:
            missing.append(f"{url}: Open Graph")
        if meta(text, "property", "og:url") != url:
            missing.append(f"{url}: og:url")
    assert not missing, "\n".join(missing)


def test_entry_description_is_its_summary_and_hostile_text_stays_text(built_site, site_kb):
    for entry_id in ("2014-bahdanau-align-and-translate", "2020-hostile-entry"):
        text = (built_site / "entries" / entry_id / "index.html").read_text(encoding="utf-8")
        summary = " ".join(site_kb.entries[entry_id].summary.split())
        assert " ".join(meta(text, "name", "description").split()) == summary
        assert " ".join(meta(text, "property", "og:description").split()) == summary
        assert meta(text, "property", "og:title") == site_kb.entries[entry_id].title
    hostile = (built_site / "entries" / "2020-hostile-entry" / "index.html").read_text(encoding="utf-8")
    head = hostile.split("</head>", 1)[0]
    assert "<script>window.__pwned" not in head


def test_mechanism_description_is_its_first_sentence(built_site):
    text = (built_site / "mechanisms" / "bahdanau-attention" / "index.html").read_text(encoding="utf-8")
    import jupytext

    notebook = jupytext.read(ROOT / "docs" / "mechanisms" / "bahdanau-attention.py")
    first_markdown = next(c.source for c in notebook.cells if c.cell_type == "markdown")
    paragraph = next(p for p in first_markdown.split("\n\n") if p.strip() and not p.lstrip().startswith("#"))
    expected = first_sentence(math_to_text(" ".join(paragraph.split())))
    description = meta(text, "name", "description")
    assert description and description.split()[:6] == expected.split()[:6]
    assert "$" not in description and "\\" not in description


@pytest.fixture(scope="module")
def search_index(built_site) -> dict:
    return json.loads((built_site / "search" / "search_index.json").read_text(encoding="utf-8"))


def test_search_index_titles_and_previews_are_plain_text(search_index):
    bad = []
    for doc in search_index["docs"]:
        title, text = html_to_text(doc["title"]), html_to_text(doc["text"])
        for field, value in (("title", title), ("text", text)):
            if "¶" in value or re.search(r"\\[(\[]|\$[^$\s][^$]*\$|\\[a-z]+\{", value):
                bad.append(f"{doc['location']} {field}: {value[:80]}")
    assert not bad, "\n".join(bad[:20])
    titles = {doc["location"]: doc["title"] for doc in search_index["docs"]}
    assert titles["entries/2020-kitaev-reformer/"] == "Reformer (LSH attention)"
    assert titles["mechanisms/scaled-dot-product-attention/#why-divide-by-sqrt-d"] == "Why divide by √(d)"


def test_search_index_leaves_out_notebook_code_and_output(search_index):
    mechanism_text = " ".join(doc["text"] for doc in search_index["docs"] if doc["location"].startswith("mechanisms/"))
    assert "import runnable" not in mechanism_text  # the notebooks' code cells
    assert "class AdditiveAttention" not in mechanism_text  # a module's source, printed by a cell
    assert "In [" not in html.unescape(mechanism_text).replace("\xa0", " ")  # prompts


def test_bylines_keep_a_space_between_fields(search_index):
    doc = next(d for d in search_index["docs"] if d["location"] == "entries/2024-karpathy-bahdanau-email/")
    assert "KarpathyPost" not in doc["text"]


def test_math_arrives_typeset_and_katex_css_loads_only_on_pages_with_math(built_site):
    with_math = (built_site / "mechanisms" / "scaled-dot-product-attention" / "index.html").read_text(encoding="utf-8")
    without = (built_site / "people" / "index.html").read_text(encoding="utf-8")
    assert "katex.min.css" in with_math and 'class="katex"' in with_math
    assert "\\(" not in with_math.split('<article', 1)[1].split('</article>', 1)[0]  # no LaTeX left to typeset
    assert "katex" not in without
    # No page loads KaTeX's script: the math is typeset at build time (scripts/math_html.py).
    pages_with_script = [page for page in built_site.rglob("*.html")
                         if re.search(r"<script[^>]*katex", page.read_text(encoding="utf-8"))]
    assert pages_with_script == []
    assert not (built_site / "assets" / "vendor" / "katex" / "katex.min.js").exists()


@pytest.fixture(scope="module")
def site_kb(site_data):
    from scripts.validate import Paths, check
    return check(Paths(site_data / "timeline", site_data / "bib", ROOT / "docs"))[0]
