"""The knowledge base cannot silently shrink: the counts the atlas promises its readers (entries,
each thread's depth, relations, annotation length), an essay per thread, and a reading path."""
from __future__ import annotations

import re
from collections import Counter

import pytest

from scripts.pages.common import threads
from scripts.validate import Paths, load_knowledge_base
from tests.conftest import ROOT

ESSAYS = ROOT / "docs" / "essays"
# Floors per thread; psychology and neuroscience together must reach 12.
THREAD_FLOORS = {
    "psychology": 8, "neuroscience": 4, "fast-weights": 10, "kernels-and-filters": 4, "alignment": 8,
    "memory-and-addressing": 5, "vision": 8, "self-attention": 5, "transformers": 8,
    "efficient-attention": 12, "graphs-and-sets": 5, "informal-record": 3,
    "interpretability": 6, "inference": 6,
}
ESSAY_WORDS = (600, 1500)
_LINK_TARGET = re.compile(r"\]\([^)]*\)")
_ENTRY_LINK = re.compile(r"\]\(\.\./entries/([0-9]{4}-[a-z0-9-]+)\.md(?:#[^)]*)?\)")


@pytest.fixture(scope="module")
def kb():
    return load_knowledge_base(Paths(ROOT / "timeline", ROOT / "bib", ROOT / "docs"))


# TeX source ($…$, $$…$$) and build markers (<!-- atlas:figure … -->) are not prose: an equation's
# \operatorname{softmax} would count as words a reader never reads.
_NOT_PROSE = re.compile(r"\$\$.*?\$\$|\$[^$\n]+\$|<!--.*?-->", re.S)


def words(markdown: str) -> int:
    """Words a reader reads: link targets, headings' hashes, the front matter, equations and
    markers do not count."""
    body = markdown.split("---", 2)[2] if markdown.startswith("---") else markdown
    return len(re.findall(r"[A-Za-z0-9][\w'’-]*", _NOT_PROSE.sub(" ", _LINK_TARGET.sub("]", body))))


def test_at_least_100_entries_each_with_a_record(kb):
    assert len(kb.entries) >= 100
    for entry in kb.entries.values():
        assert all(key in kb.records for key in entry.bib), entry.id


def test_every_thread_has_depth(kb):
    counts = Counter(e.thread for e in kb.entries.values())
    assert set(THREAD_FLOORS) == {slug for slug, _, _ in threads()}, "a floor for every thread in the schema"
    thin = {t: (counts[t], floor) for t, floor in THREAD_FLOORS.items() if counts[t] < floor}
    assert not thin, f"threads below their floor (count, floor): {thin}"
    assert counts["psychology"] + counts["neuroscience"] >= 12


def test_at_least_200_typed_relations(kb):
    relations = [r for e in kb.entries.values() for r in e.relations]
    assert len(relations) >= 200
    kinds = Counter(r.type for r in relations)
    assert kinds["cites"] >= 100 and kinds["independent"] >= 1 and kinds["equivalent"] >= 1


def test_annotations_are_at_least_80_words(kb):
    short = {e.id: len(e.annotation.split()) for e in kb.entries.values() if len(e.annotation.split()) < 80}
    assert not short, f"annotations under 80 words: {short}"


@pytest.mark.parametrize("thread", [slug for slug, _, _ in threads()])
def test_an_essay_per_thread_linking_its_entries(kb, thread):
    path = ESSAYS / f"{thread}.md"
    assert path.exists(), f"no essay docs/essays/{thread}.md"
    text = path.read_text(encoding="utf-8")
    assert ESSAY_WORDS[0] <= words(text) <= ESSAY_WORDS[1], f"{words(text)} words"
    linked = set(_ENTRY_LINK.findall(text))
    assert linked <= set(kb.entries), f"links to missing entries: {linked - set(kb.entries)}"
    own = {e.id for e in kb.entries.values() if e.thread == thread}
    assert len(linked & own) >= min(4, len(own)), "an essay discusses the entries of its thread"


def test_every_essay_is_in_the_nav():
    nav = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    for path in ESSAYS.glob("*.md"):
        assert f"essays/{path.name}" in nav, f"{path.name} is not in mkdocs.yml's nav"


def _route_steps(route: str) -> list[str]:
    """The entry each numbered step of a reading route links first."""
    items = re.split(r"^\s*\d+\.\s", route, flags=re.M)[1:]
    return [re.search(r"\]\(entries/([0-9]{4}-[a-z0-9-]+)\.md\)", item).group(1) for item in items]


def test_reading_path_has_twelve_works_forward_and_a_route_back(kb):
    text = (ROOT / "docs" / "reading-path.md").read_text(encoding="utf-8")
    forward, _, back = text.partition("\n## The way back")
    steps = _route_steps(forward)
    assert len(steps) == 12 and len(set(steps)) == 12, steps
    assert all(step in kb.entries for step in steps)
    assert back, "the reading path has a second route, from today's models back"
    back_steps = _route_steps(back)
    assert len(back_steps) >= 8 and len(set(back_steps)) == len(back_steps), back_steps
    assert all(step in kb.entries for step in back_steps)
    dates = [kb.entries[step].date.sort_key for step in back_steps]
    assert dates == sorted(dates, reverse=True), "the way back walks back in time"
