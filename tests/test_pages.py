"""Page generation: escaping, fences, layout and lineage, on the good fixture."""
from __future__ import annotations

import html as html_lib
import math

import markdown
import pytest

from scripts.graph import importance, lineage
from scripts.pages.graph_page import BREAK, node_radius, swimlanes, time_axis
from scripts.site_pages import generate_pages
from scripts.text import escape_markdown, render_untrusted_markdown
from scripts.validate import Paths, load_knowledge_base
from tests.conftest import GOOD, ROOT


@pytest.fixture(scope="module")
def kb():
    return load_knowledge_base(Paths(GOOD / "timeline", GOOD / "bib", ROOT / "docs"))


def test_untrusted_markdown_keeps_formatting_and_drops_active_content():
    html = render_untrusted_markdown(
        "**bold** $a_i$ [ok](https://arxiv.org) [bad](javascript:alert(1)) ![x](http://evil/x.png) <b onclick=x>hi</b>")
    assert "<strong>bold</strong>" in html
    assert '<span class="arithmatex">\\(a_i\\)</span>' in html
    assert 'href="https://arxiv.org"' in html
    assert "javascript" not in html and "<img" not in html and "evil" not in html
    assert "&lt;b onclick=x&gt;hi&lt;/b&gt;" in html


def test_escape_markdown_makes_links_and_tags_inert():
    assert escape_markdown("[x](javascript:y) <i>") == "&#91;x&#93;&#40;javascript:y&#41; &lt;i&gt;"
    # Parentheses stay parentheses: a backslash escape would be math to arithmatex.
    html = markdown.markdown(escape_markdown("Reformer (LSH attention) $x$"), extensions=["pymdownx.arithmatex"],
                             extension_configs={"pymdownx.arithmatex": {"generic": True}})
    assert "arithmatex" not in html and "Reformer (LSH attention) $x$" in html_lib.unescape(html)


def test_lineage_follows_lineage_edges_only(kb):
    assert lineage(kb.graph, "2017-vaswani-attention-is-all-you-need", "up") == [
        ["1953-cherry-cocktail-party", "2014-bahdanau-align-and-translate"]]
    assert lineage(kb.graph, "1953-cherry-cocktail-party", "down") == [["2017-vaswani-attention-is-all-you-need"]]
    assert lineage(kb.graph, "2017-vaswani-attention-is-all-you-need", "down") == []


def test_layout_is_deterministic_and_has_no_overlaps(kb):
    first, second = swimlanes(kb), swimlanes(kb)
    assert first == second
    degree = importance(kb.graph)
    ids = sorted(first.positions)
    for i, a in enumerate(ids):
        for b in ids[i + 1:]:
            (xa, ya), (xb, yb) = first.positions[a], first.positions[b]
            assert math.dist((xa, ya), (xb, yb)) >= node_radius(degree[a]) + node_radius(degree[b]), (a, b)


def test_time_axis_places_years_in_order_and_marks_left_out_years():
    columns, breaks = time_axis({1890: 100, 1953: 100, 2014: 200, 2015: 100, 2017: 100})
    assert columns[2015] - columns[2014] == 150  # side by side: half of each width
    assert columns[2017] - columns[2015] == 100 + BREAK
    assert [(before, after) for _, before, after in breaks] == [(1890, 1953), (1953, 2014), (2015, 2017)]


def test_every_entry_gets_a_page_with_its_sections(kb):
    pages = generate_pages(kb, ROOT / "docs")
    page = pages["entries/2017-vaswani-attention-is-all-you-need.md"]
    for section in ("## Why it matters", "## In their words", "## Relations", "## Lineage", "## Cite"):
        assert section in page.markdown
    html = page.render(page.markdown)
    assert '<a href="../2014-bahdanau-align-and-translate/">Jointly learning to align and translate</a>' in html
    assert "@inproceedings{vaswani2017attention," in html
    cited = pages["entries/2014-bahdanau-align-and-translate.md"]
    assert '<strong>cited by</strong> <a href="../2017-vaswani-attention-is-all-you-need/">' in cited.render(cited.markdown)
    assert set(pages) >= {"timeline.md", "graph.md", "bibliography.md", "people.md", "threads.md"}


def test_mechanism_family_is_generated_from_relations():
    """Luong et al. (2015) extend Bahdanau et al. (2014): each page names the other, in the right direction,
    with the relation that links them; a page is never its own kin."""
    from scripts.pages.mechanisms_page import family_html, mechanism_family

    project = load_knowledge_base(Paths(ROOT / "timeline", ROOT / "bib", ROOT / "docs"))
    luong = mechanism_family(project, "luong-attention")
    assert any(k.slug == "bahdanau-attention" and k.direction == "earlier" and k.type == "extends" for k in luong)
    bahdanau = mechanism_family(project, "bahdanau-attention")
    assert any(k.slug == "luong-attention" and k.direction == "later" for k in bahdanau)
    assert all(k.slug != "luong-attention" for k in luong)
    html = family_html(project, "luong-attention", {"bahdanau-attention": "Additive <attention>"})
    assert '<a href="../bahdanau-attention/">Additive &lt;attention&gt;</a>' in html
    assert "What it builds on" in html


def test_mechanism_index_groups_pages_by_thread_in_schema_order():
    from scripts.pages.common import threads
    from scripts.pages.mechanisms_page import mechanism_groups, mechanism_sources

    project = load_knowledge_base(Paths(ROOT / "timeline", ROOT / "bib", ROOT / "docs"))
    slugs = list(mechanism_sources(ROOT / "docs"))
    groups = mechanism_groups(project, slugs)
    assert sorted(s for _, members in groups for s in members) == sorted(slugs), "every page exactly once"
    order = [t for t, _, _ in threads()]
    named = [t for t, _ in groups if t is not None]
    assert named == sorted(named, key=order.index)
    transformers = dict(groups)["transformers"]
    assert transformers[:3] == ["scaled-dot-product-attention", "multi-head-attention", "transformer-block"]
    assert "equivalences" in dict(groups)[None]


def test_entry_search_docs_are_plain_escaped_text(kb):
    from scripts.pages.search_docs import entry_search_docs, plain_text

    assert plain_text('<p>The score <span class="arithmatex">\\(e_{ij}\\)</span>, then &amp; <em>now</em>.</p>') == \
        "The score, then & now."
    entry = next(iter(kb.entries.values()))
    docs = entry_search_docs(kb, entry, f"entries/{entry.id}/", render_untrusted_markdown(entry.annotation))
    assert [doc["location"] for doc in docs] == [f"entries/{entry.id}/", f"entries/{entry.id}/#why-it-matters"]
    assert entry.date.label in docs[0]["text"] and entry.summary.split()[0] in docs[0]["text"]
    for doc in docs:
        assert "\\(" not in doc["text"] and "$" not in doc["text"] and "¶" not in doc["title"]


def test_entry_pages_carry_their_search_docs_and_skip_the_html_parse(kb):
    pages = generate_pages(kb, ROOT / "docs")
    entry_pages = [page for uri, page in pages.items() if uri.startswith("entries/")]
    assert entry_pages and all(page.search_docs for page in entry_pages)
    assert all('"exclude": true' in page.markdown.split("\n---", 1)[0] for page in entry_pages)


def test_entry_pages_made_directly_equal_what_markdown_makes_of_their_skeleton(kb):
    """Entry pages skip Markdown in the build: their HTML and table of contents must be exactly
    what the site's own Markdown configuration makes of the skeleton with the fragments put in."""
    import markdown
    from mkdocs.config import load_config
    from mkdocs.utils import meta

    config = load_config(str(ROOT / "mkdocs.yml"))
    pages = generate_pages(kb, ROOT / "docs")
    hostile = load_knowledge_base(Paths(ROOT / "tests" / "fixtures" / "hostile" / "timeline",
                                        ROOT / "tests" / "fixtures" / "hostile" / "bib", ROOT / "docs"))
    pages.update(generate_pages(hostile, ROOT / "docs"))
    entry_pages = {uri: page for uri, page in pages.items() if uri.startswith("entries/")}
    assert len(entry_pages) >= len(kb.entries) + 2
    for uri, page in entry_pages.items():
        assert page.html is not None, uri
        md = markdown.Markdown(extensions=config["markdown_extensions"], extension_configs=config["mdx_configs"])
        expected = page.render(md.convert(meta.get_data(page.markdown)[0]))
        assert page.html.split() == _decimal_references_decoded(expected).split(), uri
        assert page.toc_tokens == [_tokens_decoded(token) for token in md.toc_tokens], uri


def _decimal_references_decoded(html: str) -> str:
    """escape_markdown writes Markdown's specials as &#NN; (the same characters once rendered);
    decode those, but not the ones that would make text into markup."""
    import re

    return re.sub(r"&#(\d+);", lambda m: m.group(0) if chr(int(m.group(1))) in "<>&\"'" else chr(int(m.group(1))), html)


def _tokens_decoded(token: dict) -> dict:
    return {**token, "name": _decimal_references_decoded(token["name"]), "html": _decimal_references_decoded(token["html"]),
            "children": [_tokens_decoded(child) for child in token["children"]]}


def test_pages_with_markdown_text_are_left_to_markdown():
    from scripts.pages.builder import PageBuilder

    assert PageBuilder("T", title_text="T").markdown("Some *Markdown*").build().html is None
    assert PageBuilder("T", title_text="T").heading(2, "A [link](x)").build().html is None
    assert PageBuilder("T").heading(2, "Plain").build().html is None
    assert PageBuilder("T", title_text="T").heading(2, "Plain").html("<p>x</p>").build().html is not None


def test_an_entry_s_annotation_is_typeset_as_its_page_is_made_and_its_search_text_keeps_the_source(kb):
    """The build typesets an entry's math when it makes the page (the annotation is the one part
    with math) and marks the page so the whole page is not read again for it."""
    seen = []

    def typeset(html, where):
        seen.append(where)
        return html.replace('class="arithmatex">', 'class="arithmatex">TYPESET:')

    plain = generate_pages(kb, ROOT / "docs")
    pages = generate_pages(kb, ROOT / "docs", typeset_math=typeset)
    with_math = [uri for uri, page in plain.items() if uri.startswith("entries/") and 'class="arithmatex"' in page.html]
    assert with_math and sorted(seen) == sorted(uri for uri in plain if uri.startswith("entries/"))
    for uri in with_math:
        assert "TYPESET:" in pages[uri].html and "TYPESET:" not in plain[uri].html
        assert "atlas_math_typeset: true" in pages[uri].markdown and "atlas_math_typeset" not in plain[uri].markdown
        assert pages[uri].search_docs == plain[uri].search_docs  # the formula's source, as text
