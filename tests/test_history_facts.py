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


# Works added in issue 14: date of first public appearance, arXiv id (where there is one) and the
# number of authors, each checked against the work or against independent reference lists.
NEW_WORKS = [
    ("1991-schmidhuber-fast-weight-memories-report", EntryDate(1991, 3), None, 1),
    ("1997-hochreiter-schmidhuber-long-short-term-memory", EntryDate(1997), None, 2),
    ("2014-vinyals-show-and-tell", EntryDate(2014, 11), "1411.4555", 4),
    ("2015-chan-listen-attend-spell", EntryDate(2015, 8), "1508.01211", 4),
    ("2015-kumar-dynamic-memory-networks", EntryDate(2015, 6), "1506.07285", 9),
    ("2017-hu-squeeze-excitation-networks", EntryDate(2017, 9), "1709.01507", 3),
    ("2018-woo-cbam-convolutional-block-attention", EntryDate(2018, 7), "1807.06521", 4),
    ("2019-radford-gpt-2-unsupervised-multitask", EntryDate(2019, 2), None, 6),
    ("2021-liu-swin-transformer", EntryDate(2021, 3), "2103.14030", 8),
    ("2021-press-alibi-linear-biases", EntryDate(2021, 8), "2108.12409", 3),
]


@pytest.mark.parametrize("entry_id, date, eprint, authors", NEW_WORKS, ids=[w[0] for w in NEW_WORKS])
def test_added_work_is_dated_and_recorded(kb, entry_id, date, eprint, authors):
    entry = kb.entries[entry_id]
    record = kb.records[entry.bib[0]]
    assert entry.date == date
    assert record.fields.get("eprint") == eprint
    assert len(record.authors) == authors


def test_fast_weight_report_is_the_1991_technical_report(kb):
    record = kb.records["schmidhuber1991learning"]
    assert record.type == "techreport" and record.fields["number"] == "FKI-147-91"
    # The report's title ends "recurrent nets"; the journal paper's "dynamic recurrent networks".
    assert record.fields["title"].endswith("An Alternative to Recurrent Nets")
    journal = kb.entries["1992-schmidhuber-fast-weight-memories"]
    assert ("extends", "1991-schmidhuber-fast-weight-memories-report") in {(r.type, r.target) for r in journal.relations}


# `cites` of the added works, from the reference lists that were read (ALiBi's ICLR 2022 text,
# Swin's ICCV text, the 1997 LSTM paper, Sutskever et al. 2014 and Graves 2013); a change must be
# re-checked against the list.
CHECKED_CITES = {
    "2021-press-alibi-linear-biases": {
        "2017-vaswani-attention-is-all-you-need", "2018-shaw-relative-position-representations",
        "2019-raffel-t5-text-to-text", "2021-su-roformer-rotary-position-embedding", "2019-dai-transformer-xl",
        "2020-beltagy-longformer", "2020-brown-gpt-3-few-shot-learners", "2018-devlin-bert",
        "2016-parikh-decomposable-attention", "2021-jumper-alphafold"},
    "2021-liu-swin-transformer": {
        "2017-vaswani-attention-is-all-you-need", "2020-dosovitskiy-vision-transformer",
        "2017-wang-non-local-neural-networks", "2018-fu-danet-dual-attention", "2020-carion-detr-detection-transformer",
        "2020-choromanski-performer", "2019-raffel-t5-text-to-text", "2021-radford-clip"},
    # Its Section 2 discusses the methods Bengio, Simard and Frasconi (1994) tried.
    "1997-hochreiter-schmidhuber-long-short-term-memory": {"1994-bengio-long-term-dependencies"},
}
UNCHECKED = ["2014-vinyals-show-and-tell", "2015-chan-listen-attend-spell", "2015-kumar-dynamic-memory-networks",
             "2017-hu-squeeze-excitation-networks", "2018-woo-cbam-convolutional-block-attention",
             "2019-radford-gpt-2-unsupervised-multitask", "1991-schmidhuber-fast-weight-memories-report"]


def test_cites_of_added_works_are_the_checked_ones(kb):
    for entry_id, expected in CHECKED_CITES.items():
        cited = {r.target for r in kb.entries[entry_id].relations if r.type == "cites"}
        assert cited == expected, entry_id
    for entry_id in UNCHECKED:
        assert not [r for r in kb.entries[entry_id].relations if r.type == "cites"], \
            f"{entry_id}: no reference list was checked, so no cites"
    for citing in ("2014-sutskever-sequence-to-sequence", "2013-graves-generating-sequences"):
        cited = {r.target for r in kb.entries[citing].relations if r.type == "cites"}
        assert "1997-hochreiter-schmidhuber-long-short-term-memory" in cited, citing


# Works added in issue 17 (the interpretability thread, attention in vision and control before 2014,
# the encoder–decoder's length problem, Distill 2016): date of first public appearance, arXiv id
# (where there is one) and number of authors, checked against the ACL Anthology, arXiv listings,
# the publishers' records and the Transformer Circuits Thread.
ISSUE_17_WORKS = [
    ("1987-fukushima-selective-attention", EntryDate(1987), None, 1),
    ("1990-schmidhuber-huber-fovea-trajectories", EntryDate(1990), None, 2),
    ("1993-olshausen-dynamic-routing", EntryDate(1993), None, 3),
    ("1994-bengio-long-term-dependencies", EntryDate(1994), None, 3),
    ("2011-denil-learning-where-to-attend", EntryDate(2011, 9), "1109.3737", 4),
    ("2014-cho-properties-encoder-decoder", EntryDate(2014, 9), "1409.1259", 4),
    ("2016-olah-carter-augmented-rnns", EntryDate(2016, 9), None, 2),
    ("2019-jain-wallace-attention-not-explanation", EntryDate(2019, 2), "1902.10186", 2),
    ("2019-michel-sixteen-heads", EntryDate(2019, 5), "1905.10650", 3),
    ("2019-serrano-smith-is-attention-interpretable", EntryDate(2019, 6), "1906.03731", 2),
    ("2019-clark-what-does-bert-look-at", EntryDate(2019, 6), "1906.04341", 4),
    ("2019-wiegreffe-pinter-not-not-explanation", EntryDate(2019, 8), "1908.04626", 2),
    ("2021-elhage-transformer-circuits", EntryDate(2021, 12), None, 25),
    # Published on the Transformer Circuits Thread in March 2022; arXiv 2209.11895 followed in September.
    ("2022-olsson-induction-heads", EntryDate(2022, 3), "2209.11895", 26),
]


@pytest.mark.parametrize("entry_id, date, eprint, authors", ISSUE_17_WORKS, ids=[w[0] for w in ISSUE_17_WORKS])
def test_issue_17_work_is_dated_and_recorded(kb, entry_id, date, eprint, authors):
    test_added_work_is_dated_and_recorded(kb, entry_id, date, eprint, authors)


# Their `cites`, from the reference lists that were read: Distill's from the dt-cite keys of its
# repository (distillpub/post--augmented-rnns), the others from their introductions as published.
ISSUE_17_CITES = {
    "2016-olah-carter-augmented-rnns": {
        "2014-graves-neural-turing-machines", "2014-bahdanau-align-and-translate", "2015-chan-listen-attend-spell",
        "2015-xu-show-attend-tell", "2014-weston-memory-networks", "2015-kumar-dynamic-memory-networks",
        "2015-grefenstette-transduce-unbounded-memory", "2015-vinyals-pointer-networks"},
    "2014-cho-properties-encoder-decoder": {
        "2014-cho-encoder-decoder", "2013-kalchbrenner-recurrent-continuous-translation",
        "2014-sutskever-sequence-to-sequence"},
    "2011-denil-learning-where-to-attend": {"2010-larochelle-hinton-foveal-glimpses", "1993-olshausen-dynamic-routing"},
    "2019-jain-wallace-attention-not-explanation": {"2014-bahdanau-align-and-translate"},
    "2019-wiegreffe-pinter-not-not-explanation": {
        "2014-bahdanau-align-and-translate", "2019-jain-wallace-attention-not-explanation"},
    "2019-serrano-smith-is-attention-interpretable": {
        "2014-bahdanau-align-and-translate", "2015-luong-effective-attention", "2017-vaswani-attention-is-all-you-need"},
    "2019-clark-what-does-bert-look-at": {
        "2014-bahdanau-align-and-translate", "2017-vaswani-attention-is-all-you-need", "2018-devlin-bert",
        "2018-radford-gpt-generative-pretraining"},
    "2019-michel-sixteen-heads": {"2017-vaswani-attention-is-all-you-need", "2018-devlin-bert"},
    # No reference list was read for these, so they carry no cites.
    "1987-fukushima-selective-attention": set(), "1990-schmidhuber-huber-fovea-trajectories": set(),
    "1993-olshausen-dynamic-routing": set(), "1994-bengio-long-term-dependencies": set(),
    "2021-elhage-transformer-circuits": set(), "2022-olsson-induction-heads": set(),
}


def test_cites_of_issue_17_works_are_the_checked_ones(kb):
    for entry_id, expected in ISSUE_17_CITES.items():
        assert {r.target for r in kb.entries[entry_id].relations if r.type == "cites"} == expected, entry_id
    bahdanau = {r.target for r in kb.entries["2014-bahdanau-align-and-translate"].relations if r.type == "cites"}
    assert "2014-cho-properties-encoder-decoder" in bahdanau, "Bahdanau et al. cite Cho et al. (2014b)"


def test_the_explanation_debate_is_recorded_as_a_dispute(kb):
    reply = kb.entries["2019-wiegreffe-pinter-not-not-explanation"]
    assert ("disputes", "2019-jain-wallace-attention-not-explanation") in {(r.type, r.target) for r in reply.relations}
    assert {e.id for e in kb.entries.values() if e.thread == "interpretability"} >= {
        "2019-jain-wallace-attention-not-explanation", "2019-wiegreffe-pinter-not-not-explanation",
        "2019-serrano-smith-is-attention-interpretable", "2019-clark-what-does-bert-look-at",
        "2019-michel-sixteen-heads", "2021-elhage-transformer-circuits", "2022-olsson-induction-heads"}
