"""Fuzzing the validator with mutated real entries: every outcome is success, or `path:line: … — …`
messages and exit 1. Never a traceback, never a hang.

Each example starts from one of the good fixture's files (an entry, or the BibTeX file) and applies
a few mutations a stranger's pull request could bring: fields deleted, retyped or duplicated, odd
Unicode, NUL bytes and newlines inserted, anchors and aliases, truncation, random bytes. Most run
in-process (fast); a few go through `python -m scripts.check` as a contributor runs it."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scripts.problems import format_problems
from scripts.validate import Paths, check
from tests.conftest import GOOD, ROOT, copy_data
from tests.hang_guard import hang_guard

TARGETS = sorted(str(p.relative_to(GOOD)) for p in GOOD.glob("*/*") if p.suffix in (".yaml", ".bib"))
MESSAGE = re.compile(r"^\S*(?:timeline|bib)/[^\n:]+:[0-9]+: [^\n]+ — [^\n]*\S$")
ODD = ["\x00", "\n", "\r", "\t", "\u2028", "\u202e", "\ufeff", "\U0001F600", "é", "&a ", "*a", "!!python/object:os.system ",
       "<<: ", "? ", "- ", ": ", "#", "'", '"', "{", "}", "[", "]", "\\", "%", "@", "~", "on", "1.5", "2015.0", "yes", "null"]
VALUES = ["", " ", "   ", "\n", "~", "null", "true", "on", "2015.0", "2014-13", '"2014-00"', '"2015-06\\n"', "1e3", "0x7DE",
          "[]", "{}", "[a, b]", "{a: 1}", "&x 1", "*x", "!!binary aGk=", "2015-06-01", "'x'", "|\n  text", "-1", "99999999999999999999"]
KEYS = ["id", "date", "bib", "title", "thread", "kind", "summary", "annotation", "quotes", "relations", "runnable", "people",
        "type", "target", "source", "note", "locator", "text", "on", "~", "1", "1.5", "<<", "zz"]


def _lines(text: str) -> list[str]:
    return text.split("\n")


def mutation(draw, text: str) -> str:
    """One mutation of the text, chosen by hypothesis (so failures shrink to a small one)."""
    lines = _lines(text)
    kind = draw(st.sampled_from(["delete", "retype", "duplicate", "insert", "truncate", "bytes", "key", "indent", "swap"]))
    at = draw(st.integers(0, max(len(lines) - 1, 0)))
    if kind == "delete":
        del lines[at]
    elif kind == "retype":
        line = lines[at]
        if ":" in line:
            lines[at] = line.split(":", 1)[0] + ": " + draw(st.sampled_from(VALUES))
    elif kind == "duplicate":
        lines.insert(at, lines[at])
    elif kind == "insert":
        line = lines[at]
        cut = draw(st.integers(0, len(line)))
        odd = draw(st.sampled_from(ODD) | st.text(max_size=4))
        lines[at] = line[:cut] + odd + line[cut:]
    elif kind == "truncate":
        return text[: draw(st.integers(0, len(text)))]
    elif kind == "bytes":  # handled on bytes by the caller: mark the spot
        cut = draw(st.integers(0, len(text)))
        return text[:cut] + "\udcff" + text[cut:]  # a lone surrogate: becomes an invalid byte below
    elif kind == "key":
        lines.insert(at, f"{draw(st.sampled_from(KEYS))}: {draw(st.sampled_from(VALUES))}")
    elif kind == "indent":
        lines[at] = " " * draw(st.integers(1, 6)) + lines[at]
    else:
        other = draw(st.integers(0, max(len(lines) - 1, 0)))
        lines[at], lines[other] = lines[other], lines[at]
    return "\n".join(lines)


@st.composite
def mutated_files(draw) -> tuple[str, bytes]:
    target = draw(st.sampled_from(TARGETS))
    text = (GOOD / target).read_text(encoding="utf-8")
    for _ in range(draw(st.integers(1, 4))):
        text = mutation(draw, text)
    raw = text.encode("utf-8", "surrogateescape") if "\udcff" in text else text.encode("utf-8")
    return target, raw


def _assert_only_located_messages(problems: list) -> None:
    for problem in problems:
        assert MESSAGE.match(str(problem)), repr(str(problem))


_DATA: dict[str, Path] = {}


def _data(tmp_path_factory) -> Path:
    """One copy of the good fixture per session; each example rewrites a single file and restores it."""
    if "root" not in _DATA:
        _DATA["root"] = copy_data(GOOD, tmp_path_factory.mktemp("fuzz"))
    return _DATA["root"]


@settings(max_examples=500, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(mutated_files())
def test_any_mutation_of_a_real_file_gives_success_or_located_messages(tmp_path_factory, monkeypatch, mutated):
    target, raw = mutated
    root = _data(tmp_path_factory)
    path = root / target
    monkeypatch.chdir(root)
    try:
        path.write_bytes(raw)
        with hang_guard(60, f"validating a mutation of {target}"):  # an honest run takes milliseconds
            kb, problems = check(Paths(Path("timeline"), Path("bib"), ROOT / "docs"))
    finally:
        path.write_bytes((GOOD / target).read_bytes())
    assert (kb is None) == bool(problems)
    _assert_only_located_messages(problems)
    format_problems(problems)


@settings(max_examples=6, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(mutated_files())
def test_the_command_gives_exit_0_or_exit_1_with_located_messages(tmp_path_factory, mutated):
    target, raw = mutated
    root = _data(tmp_path_factory)
    path = root / target
    try:
        path.write_bytes(raw)
        result = subprocess.run([sys.executable, "-m", "scripts.check", "--root", str(root)], cwd=ROOT,
                                capture_output=True, text=True, timeout=120)  # a hang guard
    finally:
        path.write_bytes((GOOD / target).read_bytes())
    assert "Traceback" not in result.stderr, result.stderr
    if result.returncode == 0:
        assert result.stdout.startswith("ok: ")
        return
    assert result.returncode == 1, result.stderr
    *messages, summary = [line for line in result.stderr.splitlines() if not line.startswith("note: ")]
    assert re.fullmatch(r"[0-9]+ problems? found; nothing was built\.", summary)
    for message in messages:
        assert MESSAGE.match(message), repr(message)
