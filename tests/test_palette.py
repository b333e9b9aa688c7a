"""The colour-scheme toggle (scripts/theme/partials/palette.html and javascripts/palette.html), which
replaces Material's palette component: the scheme follows the system until the reader chooses, the
choice is remembered, the keyboard works, and loading a page restyles the whole document once, not
once more per write of Material's component (four more; Lighthouse counted them as most of a
mechanism page's blocking time on a phone). Fixtures come from test_browser.py."""
from __future__ import annotations

import pytest

from tests.test_browser import browser, server  # noqa: F401  (fixtures)

PAGE = "mechanisms/bahdanau-attention/"
STATE = """() => ({
  scheme: document.body.getAttribute('data-md-color-scheme'),
  meta: document.querySelector('meta[name=color-scheme]').content,
  toggle: [...document.querySelectorAll('form[data-atlas-palette] label')].filter(l => !l.hidden).map(l => l.title),
})"""


@pytest.fixture
def context(browser):  # noqa: F811
    contexts = []

    def make(scheme: str):
        contexts.append(browser.new_context(color_scheme=scheme))
        return contexts[-1]
    yield make
    for c in contexts:
        c.close()


@pytest.mark.parametrize("system, scheme, meta, toggle", [("light", "default", "light", "Switch to dark mode"),
                                                          ("dark", "slate", "dark", "Switch to light mode")])
def test_scheme_follows_the_system_until_the_reader_chooses(context, server, system, scheme, meta, toggle):  # noqa: F811
    page = context(system).new_page()
    page.goto(server + PAGE)
    assert page.evaluate(STATE) == {"scheme": scheme, "meta": meta, "toggle": [toggle]}
    assert page.locator("[data-md-component=palette]").count() == 0, \
        "Material's palette component is mounted again: it restyles every page four times on load"


def test_the_readers_choice_is_remembered_and_the_keyboard_toggles(context, server):  # noqa: F811
    page = context("light").new_page()
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(server + PAGE)
    page.locator("form[data-atlas-palette] label:not([hidden])").click()
    assert page.evaluate(STATE) == {"scheme": "slate", "meta": "dark", "toggle": ["Switch to light mode"]}
    page.reload()
    assert page.evaluate(STATE)["scheme"] == "slate"
    page.locator("input[name=__palette]:checked").focus()
    page.keyboard.press("Enter")
    assert page.evaluate(STATE) == {"scheme": "default", "meta": "light", "toggle": ["Switch to dark mode"]}
    assert page.evaluate("document.activeElement.id") == "__palette_0"
    assert not errors, errors


def _whole_document_restyles(page, url: str) -> list[int]:
    """Element counts of the style recalculations, during load, that touched nearly every element (the
    first style of a long page comes in chunks as it is parsed; those touch less)."""
    cdp = page.context.new_cdp_session(page)
    events, done = [], []
    cdp.on("Tracing.dataCollected", lambda e: events.extend(e["value"]))
    cdp.on("Tracing.tracingComplete", lambda e: done.append(True))
    cdp.send("Tracing.start", {"traceConfig": {"includedCategories": ["devtools.timeline"]}, "transferMode": "ReportEvents"})
    page.goto(url, wait_until="load")
    page.wait_for_function("window.document$ !== undefined")
    elements = page.evaluate("document.getElementsByTagName('*').length")
    page.evaluate("new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")  # Material's last frame
    cdp.send("Tracing.end")
    while not done:
        page.wait_for_timeout(50)  # a poll for the trace's end, not a timing assumption
    return [e["args"]["elementCount"] for e in events
            if e.get("name") == "UpdateLayoutTree" and e.get("args", {}).get("elementCount", 0) >= 0.9 * elements]


@pytest.mark.parametrize("system", ["light", "dark"])
@pytest.mark.parametrize("path", [PAGE, "mechanisms/flash-attention/"])
def test_loading_a_page_restyles_the_whole_document_once(context, server, system, path):  # noqa: F811
    restyles = _whole_document_restyles(context(system).new_page(), server + path)
    assert len(restyles) <= 1, f"{len(restyles)} whole-document restyles while loading ({restyles})"
