"""The contributor's path as steps the tests share: add a BibTeX record, scaffold its entry,
fill it in, check. The shared test site is built with an entry made this way (tests/conftest.py),
so the one build every site test uses also shows that a scaffolded entry builds and joins the
site; tests/test_contributing.py walks the steps one at a time and checks what each says."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# A plainly synthetic record: the tests walk the contributor's path, they add no history.
NEW_RECORD = """
@article{example2020synthetic,
  author = {Example, Ada and Sample, Ben},
  title = {A Synthetic Work for the Contributor Test},
  journal = {Journal of Test Fixtures},
  year = {2020}
}
"""
KEY = "example2020synthetic"
ENTRY_ID = "2020-example-synthetic-work-contributor-test"
CITED = "2014-bahdanau-align-and-translate"


def run_module(*args: str) -> "subprocess.CompletedProcess[str]":
    return subprocess.run([sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True)


def add_record(data: Path) -> None:
    (data / "bib" / "contributor.bib").write_text(NEW_RECORD, encoding="utf-8")


def scaffold(data: Path) -> "subprocess.CompletedProcess[str]":
    return run_module("scripts.new_entry", KEY, "--root", str(data))


def check(data: Path) -> "subprocess.CompletedProcess[str]":
    return run_module("scripts.check", "--timeline", str(data / "timeline"), "--bib", str(data / "bib"))


def fill(path: Path) -> None:
    """What a contributor writes in place of the scaffold's TODOs."""
    text = path.read_text(encoding="utf-8")
    text = text.replace("thread: TODO", "thread: vision").replace("date: 2020", 'date: "2020-02"')
    text = text.replace('summary: "TODO: one sentence, in your own words, on what this work is."',
                        "summary: A synthetic work that exists only to test the contributor's path.")
    text = text.split("annotation: |")[0] + (
        "annotation: |\n  A test annotation with math, $\\alpha_{ti}$, long enough for the schema's minimum of eighty words:"
        + " word" * 80 + "\n"
        f"relations:\n  - type: cites\n    target: {CITED}\n")
    path.write_text(text, encoding="utf-8")


def add_contributor_entry(data: Path) -> Path:
    """Every step on a data set ({timeline,bib}/); the entry file, or an error saying which step failed."""
    add_record(data)
    scaffolded = scaffold(data)
    if scaffolded.returncode != 0:
        raise RuntimeError(f"scaffolding {KEY} failed:\n{scaffolded.stderr}")
    path = data / "timeline" / f"{ENTRY_ID}.yaml"
    fill(path)
    checked = check(data)
    if checked.returncode != 0:
        raise RuntimeError(f"the filled-in entry does not validate:\n{checked.stderr}")
    return path
