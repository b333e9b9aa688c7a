"""The validator: good data passes; each bad input is reported at its file and line, all at once."""
from __future__ import annotations

import datetime
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from scripts.validate import Paths, check
from tests.conftest import FIXTURES, GOOD, ROOT, copy_data

BAD_CASES = sorted(p.name for p in (FIXTURES / "bad").iterdir())
TODAY = datetime.date(2026, 11, 25)


def data_with_overlay(case: str, tmp_path: Path) -> Path:
    """The good fixture with the case's files laid over it (replacing or adding)."""
    copy_data(GOOD, tmp_path)
    overlay = FIXTURES / "bad" / case
    for part in ("timeline", "bib"):
        if (overlay / part).exists():
            shutil.copytree(overlay / part, tmp_path / part, dirs_exist_ok=True)
    return tmp_path


def problems_for(root: Path, monkeypatch) -> list[str]:
    monkeypatch.chdir(root)
    kb, problems = check(Paths(Path("timeline"), Path("bib"), ROOT / "docs"), today=TODAY)
    assert (kb is None) == bool(problems)
    return [str(p) for p in problems]


def test_good_fixture_has_no_problems(good_data, monkeypatch):
    assert problems_for(good_data, monkeypatch) == []


@pytest.mark.parametrize("case", BAD_CASES)
def test_bad_input_is_reported_where_it_is(case, tmp_path, monkeypatch):
    problems = problems_for(data_with_overlay(case, tmp_path), monkeypatch)
    expected = (FIXTURES / "bad" / case / "expect.txt").read_text(encoding="utf-8").strip().splitlines()
    for line in expected:
        location, fragment = line.split(": ", 1)
        matches = [p for p in problems if p.startswith(location + ":") and fragment in p]
        assert matches, f"expected '{line}' among:\n" + "\n".join(problems)
    for problem in problems:  # every message says how to fix it, on one line
        assert " — " in problem and problem.split(" — ", 1)[1].strip()
        assert "\n" not in problem


def test_every_problem_is_reported_at_once(tmp_path, monkeypatch):
    root = tmp_path
    copy_data(GOOD, root)
    # Cases touching different files: Vaswani's entry, Cherry's entry, and two new .bib files.
    cases = ["unknown-thread", "bibtex-syntax", "not-utf8", "record-missing-fields"]
    for case in cases:
        overlay = FIXTURES / "bad" / case
        for part in ("timeline", "bib"):
            for file in (overlay / part).glob("*") if (overlay / part).exists() else []:
                name = f"{case}.bib" if part == "bib" else file.name
                (root / part / name).write_bytes(file.read_bytes())
    problems = problems_for(root, monkeypatch)
    for fragment in ["did you mean 'transformers'?", "BibTeX syntax error", "file is not valid UTF-8", "has no author"]:
        assert any(fragment in p for p in problems), fragment


def test_a_schema_failure_does_not_cascade_into_missing_targets(tmp_path, monkeypatch):
    """Bahdanau's file is broken; Vaswani's relation to it must not also be reported."""
    copy_data(GOOD, tmp_path)
    path = tmp_path / "timeline" / "2014-bahdanau-align-and-translate.yaml"
    path.write_text(path.read_text().replace("thread: alignment", "thread: nope"))
    problems = problems_for(tmp_path, monkeypatch)
    assert len(problems) == 1 and "thread 'nope'" in problems[0]


def test_cli_exits_1_and_prints_every_problem(tmp_path):
    root = data_with_overlay("unknown-thread", tmp_path)
    result = subprocess.run([sys.executable, "-m", "scripts.check", "--root", str(root)], cwd=ROOT,
                            capture_output=True, text=True)
    assert result.returncode == 1
    assert "did you mean 'transformers'?" in result.stderr
    assert "1 problem found; nothing was built." in result.stderr


def test_cli_exits_0_on_good_data(good_data):
    result = subprocess.run([sys.executable, "-m", "scripts.check", "--root", str(good_data)], cwd=ROOT,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("ok: 3 entries, 3 BibTeX records, 2 relations, 0 claims")


def test_project_data_is_valid():
    kb, problems = check(Paths.of_project(ROOT))
    assert problems == [], "\n".join(map(str, problems))
    assert len(kb.entries) >= 12
    assert len({e.thread for e in kb.entries.values()}) >= 5


BAD_LEDGER = """title: Test ledger
claims:
  - id: one
    claim: A claim that is long enough.
    claimant: Someone
    made_in: {bib: nosuch2020key, locator: p. 1}
    evidence:
      - stance: for
        text: Evidence that is long enough.
        source: {note: a note}
    verdict: probably
    reasoning: Reasoning that is long enough.
  - id: one
    claim: Another claim, long enough.
    claimant: Someone else
    made_in: {note: somewhere}
    evidence:
      - stance: against
        text: Evidence that is long enough.
        source: {bib: cherry1953some}
    verdict: refuted
    reasoning: Reasoning that is long enough.
    entries: [1999-no-such-entry]
"""


def test_claims_ledger_errors_are_located(good_data, monkeypatch):
    (good_data / "timeline" / "claims").mkdir()
    (good_data / "timeline" / "claims" / "schema.json").write_text((ROOT / "timeline" / "claims" / "schema.json").read_text())
    (good_data / "timeline" / "claims" / "ledger.yaml").write_text(BAD_LEDGER)
    problems = problems_for(good_data, monkeypatch)
    assert any(p.startswith("timeline/claims/ledger.yaml:11:") and "verdict 'probably'" in p for p in problems), problems
    assert any(p.startswith("timeline/claims/ledger.yaml:20:") and "needs either a bib key with a locator" in p for p in problems), problems
    (good_data / "timeline" / "claims" / "ledger.yaml").write_text(
        BAD_LEDGER.replace("verdict: probably", "verdict: supported").replace("source: {bib: cherry1953some}", "source: {bib: cherry1953some, locator: p. 975}"))
    problems = problems_for(good_data, monkeypatch)
    assert any(":6:" in p and "source key 'nosuch2020key' has no record" in p for p in problems), problems
    assert any(":13:" in p and "claim id 'one' is used twice" in p for p in problems), problems
    assert any(":23:" in p and "entry '1999-no-such-entry' does not exist" in p for p in problems), problems


def test_project_claims_ledger_is_loaded():
    kb, problems = check(Paths.of_project(ROOT))
    assert not problems
    ledger = next(ledger for ledger in kb.claims if ledger["slug"] == "who-named-attention")
    assert {c["verdict"] for c in ledger["claims"]} <= {"supported", "refuted", "unresolved"}
    assert len(ledger["claims"]) >= 6
