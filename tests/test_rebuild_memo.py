"""What `mkdocs serve` keeps from one build to the next (scripts/rebuild_memo.py): only the previous
build's values, only when turned on, and a rebuild after an edit sees the edit."""
from __future__ import annotations

import pytest

from scripts import rebuild_memo
from scripts.rebuild_memo import Memo
from scripts.text import render_untrusted_markdown
from scripts.validate import Paths, check
from tests.conftest import ROOT


@pytest.fixture
def serving(monkeypatch):
    monkeypatch.setattr(rebuild_memo, "_enabled", True)
    rebuild_memo.next_build()
    yield
    rebuild_memo.next_build()
    rebuild_memo.next_build()  # nothing of this test's is left for another


def _counting(calls: list):
    def compute(indices: list[int]) -> list:
        calls.append(list(indices))
        return [f"value {i}" for i in indices]
    return compute


def test_off_it_computes_everything_every_time():
    memo, calls = Memo(), []
    assert memo.get("a", lambda: 1) == 1
    rebuild_memo.next_build()
    assert memo.map(["a", "b"], _counting(calls)) == ["value 0", "value 1"]
    rebuild_memo.next_build()
    memo.map(["a", "b"], _counting(calls))
    assert calls == [[0, 1], [0, 1]]


def test_on_a_build_reuses_the_previous_builds_values_only(serving):
    memo, calls = Memo(), []
    memo.map(["a", "b"], _counting(calls))
    memo.map(["a", "b"], _counting(calls))  # the same build: computed again (no dedup within a build)
    rebuild_memo.next_build()
    assert memo.map(["b", "c"], _counting(calls)) == ["value 1", "value 1"]  # b kept; c new, at index 1
    rebuild_memo.next_build()
    memo.map(["a"], _counting(calls))  # a was not in the last build: forgotten
    assert calls == [[0, 1], [0, 1], [1], [0]]


def test_a_rebuild_sees_an_edited_entry_file_and_record(serving, good_data):
    paths = Paths(good_data / "timeline", good_data / "bib", ROOT / "docs")
    kb, problems = check(paths, citations=True)
    assert not problems
    entry = good_data / "timeline" / "2014-bahdanau-align-and-translate.yaml"
    entry.write_text(entry.read_text(encoding="utf-8").replace("thread: alignment", "thread: nowhere"), encoding="utf-8")
    bib = next((good_data / "bib").glob("*.bib"))
    bib.write_text(bib.read_text(encoding="utf-8").replace("Bahdanau, Dzmitry", "Bahdanau, D."), encoding="utf-8")
    rebuild_memo.next_build()
    _, problems = check(paths, citations=True)
    assert problems and all(problem.path.endswith(entry.name) for problem in problems), problems
    entry.write_text(entry.read_text(encoding="utf-8").replace("thread: nowhere", "thread: alignment"), encoding="utf-8")
    rebuild_memo.next_build()
    kb, problems = check(paths, citations=True)
    assert not problems
    assert "D. Bahdanau" in kb.records["bahdanau2015neural"].citation_text


def test_annotations_are_rendered_from_their_text(serving):
    assert render_untrusted_markdown("*a*") == "<p><em>a</em></p>"
    rebuild_memo.next_build()
    assert render_untrusted_markdown("*b*") == "<p><em>b</em></p>"
    assert render_untrusted_markdown("*a*") == "<p><em>a</em></p>"
