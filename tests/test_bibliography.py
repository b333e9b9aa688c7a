"""BibTeX loading details: the LaTeX fast path agrees with pybtex, names and links come out right."""
from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from pybtex.richtext import Text

from scripts.bibliography import (_NO_LATEX, _PYBTEX_FROM_LATEX, bibtex_source, latex_to_text, latex_to_text_parsed,
                                  load_bibliography)
from scripts.pages.common import external_links, short_authors, venue
from tests.conftest import GOOD, ROOT

SAMPLES = ["", "Attention Is All You Need", "Neural Turing Machines", "Z{\\\"u}rich", "{LSTM} networks",
           "pages 975--979", "Kaiser, {\\L}ukasz", "a ~ b", "``quoted''", "100% sure", "x_1 and $y$",
           "Łukasz Kaiser", "Jürgen Schmidhuber", "Proc. 32nd ICML (2015): 2048-2057", "A & B"]


def test_fast_path_matches_pybtex_on_samples():
    for sample in SAMPLES:
        assert repr(Text.from_latex(sample)) == repr(_PYBTEX_FROM_LATEX(Text, sample)), sample


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=40))
def test_fast_path_matches_pybtex_on_any_text(sample):
    try:
        expected = repr(_PYBTEX_FROM_LATEX(Text, sample))
    except Exception:  # pybtex rejects it (unbalanced braces): the fast path must not accept it
        assert not _NO_LATEX.fullmatch(sample)
        return
    assert repr(Text.from_latex(sample)) == expected


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("aZé0 .,:()'-\t{}{}\\=~$")), max_size=30))
def test_plain_text_of_a_value_is_what_pybtex_renders(value):
    """latex_to_text's shortcut (plain words in case-protecting braces) against pybtex itself."""
    try:
        expected = latex_to_text_parsed(value)
    except Exception:  # pybtex rejects it (unbalanced braces): so must the shortcut's caller
        return
    assert latex_to_text(value) == expected


def test_every_venue_and_name_in_the_bibliography_reads_the_same_by_either_path():
    from pybtex.database import parse_file

    values = []
    for path in sorted((ROOT / "bib").glob("*.bib")):
        for record in parse_file(str(path)).entries.values():
            values += record.fields.values()
            values += [" ".join(names) for people in record.persons.values() for person in people
                       for names in (person.first_names + person.middle_names, person.prelast_names + person.last_names)]
    assert values and [v for v in values if latex_to_text(v) != latex_to_text_parsed(v)] == []


def test_project_records_format_and_link():
    records, problems = load_bibliography(ROOT / "bib")
    assert not problems
    for record in records.values():
        assert record.citation_html and record.citation_text
        assert bibtex_source(record).startswith("@")


def test_good_fixture_record_details():
    records, _ = load_bibliography(GOOD / "bib")
    vaswani = records["vaswani2017attention"]
    assert short_authors(vaswani.authors) == "Vaswani et al."
    assert vaswani.authors[6].display == "Łukasz Kaiser"
    assert venue(vaswani) == "Advances in Neural Information Processing Systems 30"
    assert external_links(vaswani) == [("arXiv", "https://arxiv.org/abs/1706.03762")]
    cherry = records["cherry1953some"]
    assert external_links(cherry) == [("DOI", "https://doi.org/10.1121/1.1907229")]
    assert short_authors(records["bahdanau2015neural"].authors) == "Bahdanau, Cho & Bengio"


def test_copied_bibtex_parses_back_to_the_same_record():
    """The BibTeX a reader copies from an entry page is the record itself: parsed again by pybtex
    it has the same type, fields and names (no value escaped twice, as `\\&` once became `\\\\&`)."""
    from pybtex.database.input.bibtex import Parser

    records, _ = load_bibliography(ROOT / "bib")
    for key, record in records.items():
        copied = Parser().parse_string(bibtex_source(record)).entries[key]
        assert copied.type == record.source.type
        assert dict(copied.fields) == dict(record.source.fields), key
        assert {role: [str(p) for p in people] for role, people in copied.persons.items()} == \
            {role: [str(p) for p in people] for role, people in record.source.persons.items()}, key
