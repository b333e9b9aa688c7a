"""The validator on what git cannot hold or a fixture should not: links, folders, devices, huge files.

Each case is made in a copy of the good fixture at run time and must give its `path:line` message,
never a traceback, a hang or a read of something outside the data folders."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from scripts.data_files import ENTRY_LIMIT
from tests.conftest import ROOT
from tests.hang_guard import hang_guard
from tests.test_validate import problems_for

ENTRY = "timeline/2017-vaswani-attention-is-all-you-need.yaml"


def _folder_named_like_an_entry(root: Path) -> None:
    (root / "timeline" / "2015-x.yaml").mkdir()


def _dangling_link(root: Path) -> None:
    (root / "timeline" / "2015-x.yaml").symlink_to(root / "timeline" / "nowhere.yaml")


def _link_loop(root: Path) -> None:
    (root / "timeline" / "2015-x.yaml").symlink_to(root / "timeline" / "2015-y.yaml")
    (root / "timeline" / "2015-y.yaml").symlink_to(root / "timeline" / "2015-x.yaml")


def _link_to_dev_zero(root: Path) -> None:
    (root / "timeline" / "2015-x.yaml").symlink_to("/dev/zero")


def _link_outside(root: Path) -> None:
    outside = root / "elsewhere.yaml"
    outside.write_text((root / ENTRY).read_text().replace("2017-vaswani-attention-is-all-you-need", "2015-x"))
    (root / "timeline" / "2015-x.yaml").symlink_to(outside)


def _link_inside(root: Path) -> None:
    """Allowed: a link that stays inside timeline/ is read like the file (here, as a duplicate id)."""
    (root / "timeline" / "2015-x.yaml").symlink_to(root / ENTRY)


def _fifo(root: Path) -> None:
    os.mkfifo(root / "timeline" / "2015-x.yaml")


def _oversized_entry(root: Path) -> None:
    (root / "timeline" / "2015-x.yaml").write_text("id: 2015-x\n" + "#" * ENTRY_LIMIT)


def _oversized_bib_value(root: Path) -> None:
    """A 10 MB value is cut in the message, not echoed whole."""
    (root / "bib" / "huge.bib").write_text("@misc{huge2020value,\n  author = {Doe, Jane},\n  title = {Huge},\n"
                                           "  year = {2020},\n  doi = {" + "x" * 10_000_000 + "}\n}\n")


def _bib_folder(root: Path) -> None:
    (root / "bib" / "more.bib").mkdir()


CASES = {
    "folder-named-like-an-entry": (_folder_named_like_an_entry, "timeline/2015-x.yaml:1: is a folder, not a file"),
    "dangling-link": (_dangling_link, "timeline/2015-x.yaml:1: a symbolic link to nothing"),
    "link-loop": (_link_loop, "timeline/2015-x.yaml:1: cannot be read (a symbolic link loop"),
    "link-to-dev-zero": (_link_to_dev_zero, "timeline/2015-x.yaml:1: a symbolic link to /dev/zero, outside timeline/"),
    "link-outside": (_link_outside, "timeline/2015-x.yaml:1: a symbolic link to "),
    "link-inside": (_link_inside, "timeline/2015-x.yaml:2: id '2017-vaswani-attention-is-all-you-need' does not match the file name"),
    "fifo": (_fifo, "timeline/2015-x.yaml:1: is not a regular file (a device, FIFO or socket)"),
    "oversized-entry": (_oversized_entry, "timeline/2015-x.yaml:1: is 1,048,587 bytes, over the 1,048,576-byte limit"),
    "oversized-bib-value": (_oversized_bib_value, "bib/huge.bib:1: record 'huge2020value': doi 'xxxxxxxx"),
    "bib-folder": (_bib_folder, "bib/more.bib:1: is a folder, not a file"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_files_that_are_not_plain_data_are_refused_where_they_are(case, good_data, monkeypatch):
    make, expected = CASES[case]
    make(good_data)
    with hang_guard(120, case):  # the slowest case (10 MB) takes about a second
        problems = problems_for(good_data, monkeypatch)
    assert any(p.startswith(expected.split(": ", 1)[0] + ":") and expected.split(": ", 1)[1] in p for p in problems), \
        f"expected '{expected}' among:\n" + "\n".join(problems)
    for problem in problems:
        assert len(problem) < 600 and "\n" not in problem


def test_a_long_value_is_cut_in_its_message(good_data, monkeypatch):
    _oversized_bib_value(good_data)
    [problem] = [p for p in problems_for(good_data, monkeypatch) if "huge2020value" in p]
    assert "x" * 59 + "…'" in problem and "x" * 61 not in problem


def test_editor_backups_are_named_as_notes_and_do_not_fail(good_data):
    for name in ("2017-x.yaml~", "2017-x.yaml.bak", ".#2017-x.yaml", ".DS_Store"):
        (good_data / "timeline" / name).write_text("id: x\n")
    (good_data / "bib" / "fixture.bib.orig").write_text("")
    result = subprocess.run([sys.executable, "-m", "scripts.check", "--root", str(good_data)], cwd=ROOT,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    notes = result.stderr.splitlines()
    for name in ("timeline/2017-x.yaml~", "timeline/2017-x.yaml.bak", "timeline/.#2017-x.yaml", "timeline/.DS_Store",
                 "bib/fixture.bib.orig"):
        assert any(line.startswith("note: ") and f"{name}:1: ignored: " in line for line in notes), (name, notes)


def test_an_alias_bomb_in_the_claims_ledger_is_refused_at_once(good_data, monkeypatch):
    bomb = "".join(f"l{i}: &l{i} [" + ", ".join([f"*l{i - 1}" if i else '"lol"'] * 9) + "]\n" for i in range(9))
    (good_data / "timeline" / "claims").mkdir()
    (good_data / "timeline" / "claims" / "ledger.yaml").write_text("title: A ledger\n" + bomb)
    problems = problems_for(good_data, monkeypatch)
    assert any(p.startswith("timeline/claims/ledger.yaml:2: an anchor (&name) is not allowed") for p in problems), problems


def test_a_large_bibliography_of_small_valid_records_validates(good_data, monkeypatch):
    """28,000 records, 5 MB: linear work only (the issue saw it run past 60 s)."""
    records = [f"@misc{{author{i:05d}2000small,\n  author = {{Surname{i}, Given and Other, Person}},\n"
               f"  title = {{A small record number {i} about attention}},\n  howpublished = {{A venue}},\n"
               f"  year = {{2000}}\n}}\n" for i in range(28_000)]
    (good_data / "bib" / "large.bib").write_text("\n".join(records))
    assert (good_data / "bib" / "large.bib").stat().st_size > 5_000_000
    with hang_guard(300, "validating 28,000 records"):  # far above the honest time (seconds)
        assert problems_for(good_data, monkeypatch) == []
