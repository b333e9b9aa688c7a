"""Every claims ledger becomes a page in the nav (the shared test site has a second one: see
tests/test_build.py); a ledger whose file name would take another page's address is refused by
the validator."""
from __future__ import annotations

import shutil

from scripts.claims import GENERATED_PAGES
from scripts.pages.claims_page import nav_with_every_ledger
from scripts.site_pages import generate_pages
from scripts.validate import Paths, load_knowledge_base
from tests.conftest import ROOT
from tests.test_validate import problems_for

LEDGER = """title: A second <ledger> & more
claims:
  - id: cocktail
    claim: Cherry named the cocktail party problem.
    claimant: A reader
    made_in: {note: a fixture}
    evidence:
      - stance: for
        text: The paper's own title says so.
        source: {bib: cherry1953some, locator: p. 975}
    verdict: supported
    reasoning: The title is the evidence.
    entries: [1953-cherry-cocktail-party]
"""


def _with_ledgers(root, *names):
    claims = root / "timeline" / "claims"
    claims.mkdir()
    shutil.copy(ROOT / "timeline" / "claims" / "schema.json", claims)
    for name in names:
        (claims / name).write_text(LEDGER)
    return root


def test_a_ledger_missing_from_the_nav_is_added_after_the_ledgers_it_has():
    nav = [{"Home": "index.md"}, {"Who named attention?": "who-named-attention.md"}, {"Threads": "threads.md"}]
    ledgers = [{"slug": "who-named-attention", "title": "Who"}, {"slug": "second", "title": "A <b>"}]
    assert nav_with_every_ledger(nav, ledgers) == [
        {"Home": "index.md"}, {"Who named attention?": "who-named-attention.md"}, {"A &lt;b&gt;": "second.md"},
        {"Threads": "threads.md"}]
    assert nav_with_every_ledger(nav, ledgers[:1]) == nav


def test_ledger_names_that_take_another_page_s_address_are_refused(good_data, monkeypatch):
    _with_ledgers(good_data, "timeline.yaml", "index.yaml", "Not_A_Slug.yaml", "fine-name.yaml")
    problems = problems_for(good_data, monkeypatch)
    assert any(p.startswith("timeline/claims/timeline.yaml:1: the site already has a page at /timeline/") for p in problems)
    assert any(p.startswith("timeline/claims/index.yaml:1: the site already has a page at /index/") for p in problems)
    assert any(p.startswith("timeline/claims/Not_A_Slug.yaml:1: a ledger's file name becomes its page's address") for p in problems)
    assert not any("fine-name" in p for p in problems), problems


def test_generated_top_level_pages_are_the_ones_ledgers_may_not_take(good_data):
    kb = load_knowledge_base(Paths(good_data / "timeline", good_data / "bib", ROOT / "docs"))
    top = {uri.split("/")[0].removesuffix(".md") for uri in generate_pages(kb, ROOT / "docs")}
    assert top <= GENERATED_PAGES

