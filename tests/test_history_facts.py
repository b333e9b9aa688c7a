"""Facts an outside review checked against the primary sources, pinned so that they cannot drift
back: an arXiv id, a quote's locator, a date of first public appearance, and how the claims ledger
attributes and settles Schmidhuber's claims about the word and the mechanism."""
from __future__ import annotations

import pytest

from scripts.model import EntryDate
from scripts.validate import Paths, load_knowledge_base
from tests.conftest import ROOT


@pytest.fixture(scope="module")
def kb():
    return load_knowledge_base(Paths(ROOT / "timeline", ROOT / "bib", ROOT / "docs"))


@pytest.fixture(scope="module")
def claims(kb):
    return {claim["id"]: claim for ledger in kb.claims for claim in ledger["claims"]}


def test_grefenstette_arxiv_id(kb):
    assert kb.records["grefenstette2015learning"].fields["eprint"] == "1506.02516"


def test_karpathy_quote_opens_the_second_paragraph(kb):
    quote, = [q for q in kb.entries["2024-karpathy-bahdanau-email"].quotes if q.text.startswith("Attention is a brilliant")]
    assert "second paragraph" in quote.locator and "opening" not in quote.locator
    essay = (ROOT / "docs" / "essays" / "informal-record.md").read_text(encoding="utf-8")
    assert "Karpathy's post, opening paragraph" not in essay


def test_clip_is_dated_by_its_release_not_by_arxiv(kb):
    # OpenAI released CLIP on 5 January 2021; arXiv 2103.00020 followed on 26 February.
    assert kb.entries["2021-radford-clip"].date == EntryDate(2021, 1)


def test_the_word_claim_is_refuted_and_attributed_to_its_reporter(claims):
    word = claims["schmidhuber-1992-used-the-word"]
    assert word["verdict"] == "refuted"
    assert "reported by the Turing Post" in word["claimant"]
    assert word["made_in"].get("bib") == "turingpost2024who"
    against = [e for e in word["evidence"] if e["stance"] == "against"]
    assert any("1993" in e["text"] for e in against), "Schmidhuber's own dating of the word to 1993"


def test_the_mechanism_claim_is_schmidhubers_own_and_separate(claims):
    mechanism = claims["schmidhuber-fast-weights-anticipated-attention"]
    assert mechanism["claimant"] == "Jürgen Schmidhuber"
    assert "anticipated" in mechanism["claim"] and "word" not in mechanism["claim"]
    assert "turingpost2024who" not in str(mechanism["made_in"]), "made in his own writing, not a report"
    assert mechanism["verdict"] == "supported"


def test_no_page_still_calls_the_word_claim_open(kb):
    essay = (ROOT / "docs" / "essays" / "informal-record.md").read_text(encoding="utf-8")
    assert "[unresolved](../who-named-attention.md#schmidhuber-1992-used-the-word)" not in essay
    assert "#schmidhuber-fast-weights-anticipated-attention" in essay
    turing = kb.entries["2024-turing-post-who-coined-attention"].annotation
    assert "has not itself checked" not in turing and "1993" in turing
