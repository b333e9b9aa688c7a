"""The built site as a visitor meets it, in headless Chromium: search that ranks right and loads
its index only when opened, no serious accessibility violations (axe-core) on any page type in
either colour scheme, a readable graph at desktop and phone sizes, and the timeline's filter in
the address. Fixtures (the built site, its server, the browser) come from test_browser.py."""
from __future__ import annotations

import pytest

from scripts.graph import build_graph
from tests.conftest import ROOT
from tests.test_browser import HANG_GUARD_MS, browser, server, site_kb  # noqa: F401  (fixtures)

AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
PAGE_TYPES = {"home": "", "timeline": "timeline/", "graph": "graph/", "entry": "entries/2014-bahdanau-align-and-translate/",
              "mechanism": "mechanisms/bahdanau-attention/", "essay": "essays/alignment/",
              "bibliography": "bibliography/", "people": "people/", "threads": "threads/",
              "claims": "who-named-attention/", "contributing": "contributing/"}


@pytest.fixture
def visit(browser, server):  # noqa: F811
    contexts = []

    def go(path: str, scheme: str = "light", viewport=(1280, 800)):
        context = browser.new_context(color_scheme=scheme, viewport={"width": viewport[0], "height": viewport[1]})
        contexts.append(context)
        page = context.new_page()
        requests: list[str] = []
        page.on("request", lambda r: requests.append(r.url))
        page.goto(server + path, wait_until="load")
        page.wait_for_function("window.document$ !== undefined")
        page.requests = requests
        return page
    yield go
    for context in contexts:
        context.close()


# --- search -------------------------------------------------------------------------------------

def search(page, query: str) -> list[str]:
    """The result pages' addresses, best first, once Material has answered the query."""
    page.fill("input[data-md-component=search-query]", query)
    page.wait_for_function("document.querySelectorAll('.md-search-result__item').length > 0", timeout=HANG_GUARD_MS)
    return page.eval_on_selector_all(".md-search-result__item > a", "links => links.map(a => a.getAttribute('href'))")


def test_search_index_is_fetched_only_when_search_is_opened(visit):
    page = visit("")
    page.wait_for_load_state("networkidle")
    assert not any("search_index.json" in url for url in page.requests)
    page.focus("input[data-md-component=search-query]")
    page.wait_for_function("performance.getEntriesByType('resource').some(e => e.name.endsWith('search_index.json'))")


def test_searching_an_author_finds_their_work_first(visit):
    results = search(visit(""), "Bahdanau")
    assert "entries/2014-bahdanau-align-and-translate/" in results[0], results[:5]


def test_searching_a_mechanism_finds_its_page_first(visit):
    results = search(visit(""), "additive attention")
    assert "mechanisms/bahdanau-attention/" in results[0], results[:5]


def test_search_results_show_no_markup(visit):
    page = visit("")
    for query in ("divide", "Reformer"):
        search(page, query)
        titles = page.eval_on_selector_all(".md-search-result__article h1, .md-search-result__article h2",
                                           "hs => hs.map(h => h.textContent)")
        assert titles and not [t for t in titles if "¶" in t or "\\(" in t or "$" in t or "\\sqrt" in t], titles


# --- accessibility ------------------------------------------------------------------------------

# Rules whose outcome depends on the colours: all that a change of scheme can change. The scheme
# changes only <body>'s data-md-color-* attributes and which of the toggle's two labels shows.
COLOUR_RULES = ["color-contrast", "link-in-text-block"]


@pytest.mark.parametrize("kind", PAGE_TYPES)
def test_no_serious_accessibility_violations_in_either_scheme(visit, kind):
    """Every rule in the light scheme; then, on the same page, the system's scheme turned dark (which
    the page follows, as it does for a reader who has not chosen) and the colour rules again."""
    page = visit(PAGE_TYPES[kind], "light")
    scheme = "s => document.body.getAttribute('data-md-color-scheme') === s"
    page.wait_for_function(scheme, arg="default")
    if kind == "graph":
        page.wait_for_function("window.atlasGraph !== undefined")
    assert_no_serious_violations(page)
    page.emulate_media(color_scheme="dark")
    page.wait_for_function(scheme, arg="slate")
    # Links fade to their new colour (Material's transitions): check the colours they arrive at.
    page.wait_for_function("document.getAnimations().every(a => !(a instanceof CSSTransition) || a.playState !== 'running')")
    assert_no_serious_violations(page, rules=COLOUR_RULES)


# On a phone, display math, tables and figures wider than the column scroll, and a region that
# scrolls must take keyboard focus: the pages that have all three.
@pytest.mark.parametrize("path", ["essays/transformers/", "notation/", "mechanisms/bahdanau-attention/"])
def test_no_serious_accessibility_violations_on_a_phone(visit, path):
    page = visit(path, viewport=(390, 844))
    page.wait_for_function("document.querySelector('.md-typeset [tabindex=\"0\"]') !== null")
    assert_no_serious_violations(page)


def assert_no_serious_violations(page, rules: list[str] | None = None):
    """axe-core's serious and critical violations on the page: none. `rules`: only these rules."""
    if not page.evaluate("typeof axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE))
    violations = page.evaluate("""async rules => {
        const options = {resultTypes: ['violations']};
        if (rules) options.runOnly = {type: 'rule', values: rules};
        const result = await axe.run(document, options);
        return result.violations.filter(v => v.impact === 'serious' || v.impact === 'critical')
            .map(v => `${v.id} (${v.impact}): ${v.nodes.length} × ${v.nodes.slice(0, 3).map(n => n.target.join(' ')).join(' | ')}`);
    }""", rules)
    assert not violations, "\n".join(violations)


def test_timeline_checkboxes_show_keyboard_focus(visit):
    page = visit("timeline/")
    boxes = page.locator(".atlas-filter input[type=checkbox]")
    label_outline = "b => getComputedStyle(b.closest('label')).outlineStyle"
    assert boxes.nth(1).evaluate(label_outline) == "none"
    boxes.first.focus()
    page.keyboard.press("Tab")  # by keyboard, onto the second box
    assert boxes.nth(1).evaluate("b => b === document.activeElement")
    assert boxes.nth(1).evaluate(label_outline) == "solid"


# --- graph --------------------------------------------------------------------------------------

def test_graph_names_the_most_connected_works_at_first_view(visit, site_kb):  # noqa: F811
    page = visit("graph/")
    page.wait_for_function("window.atlasGraphLabels !== undefined")
    labelled = page.evaluate("atlasGraphLabels()")
    works = [i for i in labelled if not i.startswith(("lane:", "year:", "break:"))]
    graph = build_graph(site_kb)
    most_cited = max(site_kb.entries, key=lambda i: (graph.in_degree(i), i))
    assert len(works) >= 8 and most_cited in works
    # Drawn labels are legible (one size on screen) and do not overlap.
    size = page.evaluate(f"atlasGraph.body.nodes['{most_cited}'].options.font.size * atlasGraph.getScale()")
    assert size >= 12
    boxes = page.evaluate("""ids => ids.map(id => { const s = atlasGraph.body.nodes[id].labelModule.size;
                                                    return [s.left, s.top, s.left + s.width, s.top + s.height]; })""", works)
    for i, a in enumerate(boxes):
        for b in boxes[i + 1:]:
            assert a[2] <= b[0] or b[2] <= a[0] or a[3] <= b[1] or b[3] <= a[1], (a, b)


@pytest.mark.parametrize("query, expected", [("Bahdanau", "2014-bahdanau-align-and-translate"),
                                             ("1953", "1953-cherry-cocktail-party")])
def test_graph_search_by_author_and_year(visit, query, expected):
    page = visit("graph/")
    page.wait_for_function("window.atlasGraph !== undefined")
    page.fill("[data-atlas-graph-search]", query)
    page.press("[data-atlas-graph-search]", "Enter")
    assert expected in page.evaluate("atlasGraph.getSelectedNodes()")


def test_graph_on_a_phone_is_a_list(visit, site_kb):  # noqa: F811
    page = visit("graph/", viewport=(390, 844))
    assert not page.locator("#atlas-graph").is_visible()
    items = page.locator(".atlas-graph-list > ol > li")
    assert items.count() == len(site_kb.entries)
    assert page.locator(".atlas-graph-list a[href$='entries/2014-bahdanau-align-and-translate/']").first.is_visible()
    assert page.evaluate("window.atlasGraph") is None  # no canvas work on a phone


def test_thread_colours_have_contrast_on_both_schemes():
    from scripts.pages.common import threads

    def luminance(colour: str) -> float:
        channels = [int(colour[i:i + 2], 16) / 255 for i in (1, 3, 5)]
        linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    def contrast(a: str, b: str) -> float:
        high, low = sorted((luminance(a), luminance(b)), reverse=True)
        return (high + 0.05) / (low + 0.05)

    for slug, _, colour in threads():
        for background in ("#ffffff", "#1e2029"):  # Material's default and slate backgrounds
            assert contrast(colour, background) >= 3, (slug, colour, background)


# --- smaller things -----------------------------------------------------------------------------

def test_timeline_filter_is_in_the_address_and_hides_emptied_decades(visit):
    page = visit("timeline/")
    page.click("[data-atlas-none]")
    page.check(".atlas-filter input[value=psychology]")
    page.wait_for_function("location.search === '?thread=psychology'")
    assert page.locator("h2[id='2010s']").is_hidden()
    assert page.locator(".md-nav__link[href='#2010s']").first.is_hidden()
    page.fill("[data-atlas-query]", "cocktail")
    page.wait_for_function("new URLSearchParams(location.search).get('q') === 'cocktail'")
    page.reload()
    assert page.locator(".atlas-item:visible").count() == 1


def test_timeline_marks_runnable_works(visit):
    page = visit("timeline/")
    item = page.locator(".atlas-item", has=page.locator("a[href$='entries/2014-bahdanau-align-and-translate/']"))
    assert item.locator(".atlas-runnable a[href$='mechanisms/bahdanau-attention/']").count() == 1


def test_entry_page_tab_essay_lineage_and_evidence(visit):
    page = visit("entries/2017-vaswani-attention-is-all-you-need/")
    assert page.locator(".md-tabs__item--active a").inner_text().strip() == "Timeline"
    assert page.locator(".atlas-byline a[href$='essays/transformers/']").count() == 1
    assert page.locator(".atlas-lineage .atlas-generation").first.inner_text().startswith("Generation 1")
    here = page.evaluate("location.pathname")
    self_links = page.eval_on_selector_all(".atlas-relations a", "as => as.map(a => new URL(a.href).pathname)")
    assert here not in self_links
    more = page.locator(".atlas-more").first
    if more.count():
        more.locator("summary").click()
        assert more.evaluate("d => d.open")


def test_mechanism_page_highlights_its_tab_and_links_its_essay(visit):
    page = visit("mechanisms/bahdanau-attention/")
    assert page.locator(".md-tabs__item--active a").inner_text().strip() == "Mechanisms"
    assert page.locator(".atlas-implements a[href$='essays/alignment/']").count() == 1


def test_home_era_cards_list_works_in_date_order(visit):
    page = visit("")
    for card in page.locator(".atlas-era").all():
        years = [int(t.strip("() ")) for t in card.locator("li").evaluate_all(
            "lis => lis.map(li => li.textContent.match(/\\((\\d{4})\\)\\s*$/)[1])")]
        assert years == sorted(years)


# --- tables -------------------------------------------------------------------------------------

def test_tables_arrive_wrapped_and_styled_as_material_would_style_them(visit):
    """The build wraps each Markdown table in Material's scroll container (scripts/table_html.py),
    so Material's script moves none on load; and a wrapped table's cells look exactly like those
    of a bare table, which Material styles itself (the reference, added to the page here)."""
    page = visit("notation/")
    page.wait_for_function("document.querySelector('.md-typeset table.atlas-table') !== null")
    assert page.evaluate("document.querySelectorAll('.md-typeset__scrollwrap .md-typeset__scrollwrap').length") == 0
    assert page.evaluate("document.querySelectorAll('.md-typeset table:not([class])').length") == 0
    properties = ["padding-top", "padding-left", "border-top-width", "border-top-style", "font-size", "font-weight",
                  "text-align", "vertical-align", "min-width", "display"]
    differences = page.evaluate("""(properties) => {
        const ours = document.querySelector('.md-typeset table.atlas-table');
        const bare = ours.cloneNode(true);
        bare.removeAttribute('class');
        // Material's script wraps a bare table it finds on load only; this one it never sees.
        ours.closest('.md-typeset__scrollwrap').after(bare);
        const compare = (selector) => properties.flatMap((property) => {
            const a = getComputedStyle(ours.querySelector(selector)).getPropertyValue(property);
            const b = getComputedStyle(bare.querySelector(selector)).getPropertyValue(property);
            return a === b ? [] : [`${selector} ${property}: ${a} (ours) vs ${b} (Material's)`];
        });
        const table = properties.flatMap((property) => {
            const a = getComputedStyle(ours).getPropertyValue(property), b = getComputedStyle(bare).getPropertyValue(property);
            return a === b ? [] : [`table ${property}: ${a} vs ${b}`];
        });
        return [...table, ...compare('th'), ...compare('td')];
    }""", properties)
    assert not differences, differences
