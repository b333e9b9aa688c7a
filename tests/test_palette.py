"""The colour-scheme toggle (scripts/theme/partials/palette.html and javascripts/palette.html), which
replaces Material's palette component: the scheme follows the system until the reader chooses, the
choice is remembered, the keyboard works, and the scheme is written while only the header exists, so
that it restyles the header alone rather than, as Material's component does, the whole document four
times (Lighthouse counted those as most of a mechanism page's blocking time on a phone). Fixtures come
from test_browser.py."""
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


# Records, from before the page's first byte, each write that restyles the whole document: a
# data-md-color-* attribute on <body> (the scheme's variables hang off it), Material's
# data-md-color-switching mark, and the <meta name="color-scheme"> the browser's widgets follow. Each
# record says whether the page's content had been parsed yet. A MutationObserver's callback runs at the
# microtask checkpoint after the script that wrote, before the parser goes on, so the answer does not
# depend on how fast the machine is.
RECORD_SCHEME_WRITES = """
window.__schemeWrites = [];
new MutationObserver(records => {
  const content = document.querySelector('.md-content') !== null;
  for (const r of records) {
    if (r.type === 'attributes' && r.target === document.body && r.attributeName.startsWith('data-md-color'))
      window.__schemeWrites.push({what: 'body ' + r.attributeName, content});
    else if (r.type === 'attributes' && r.target.matches && r.target.matches('meta[name=color-scheme]'))
      window.__schemeWrites.push({what: 'meta color-scheme ' + r.attributeName, content});
    else if (r.type === 'childList')
      for (const node of r.addedNodes)
        if (node.matches && node.matches('meta[name=color-scheme]'))
          window.__schemeWrites.push({what: 'meta color-scheme added', content});
  }
}).observe(document, {subtree: true, childList: true, attributes: true});
"""


@pytest.mark.parametrize("system", ["light", "dark"])
@pytest.mark.parametrize("path", [PAGE, "mechanisms/flash-attention/"])
def test_the_scheme_is_written_before_the_content_exists(context, server, system, path):  # noqa: F811
    """Material's component writes the scheme after the whole page is parsed, restyling every element
    four times (Lighthouse counted it as most of a mechanism page's blocking time on a phone). Written
    while only the header exists, the same writes restyle the header alone. The restyles themselves
    are counted in a benchmark (scripts/bench_lighthouse.py), not here: how many a browser does
    depends on how its parsing is cut into tasks, which depends on the machine's load."""
    page = context(system).new_page()
    page.add_init_script(RECORD_SCHEME_WRITES)
    page.goto(server + path, wait_until="load")
    page.wait_for_function("window.document$ !== undefined")  # Material's bundle has run
    page.evaluate("new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")  # and its next frames
    writes = page.evaluate("window.__schemeWrites")
    assert any(w["what"] == "meta color-scheme added" for w in writes), writes  # the recorder sees the writes
    late = [w["what"] for w in writes if w["content"]]
    assert not late, f"the scheme was written after the page's content was parsed: {late}"
