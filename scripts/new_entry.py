"""`make new KEY=<bibkey>`: scaffold timeline/<year>-<slug>.yaml from a BibTeX record.

The scaffold carries TODO markers where only a person can write the text; `make check`
refuses any entry that still has one, so nothing half-filled reaches the site."""
from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from scripts.bibliography import latex_to_text, load_bibliography
from scripts.schema_messages import load_schema
from scripts.text import slugify

STOPWORDS = {"a", "an", "the", "of", "on", "in", "for", "and", "with", "to", "by", "is", "are"}


def entry_id(year: int, surname: str, title: str) -> str:
    words = [w for w in slugify(title).split("-") if w not in STOPWORDS][:4]
    return f"{year}-" + "-".join([slugify(surname), *words])


def scaffold(record, thread: str | None = None) -> tuple[str, str]:
    """(entry id, YAML text) for a record."""
    surname = record.people[0].last if record.people else "anon"
    title = latex_to_text(record.fields["title"])
    new_id = entry_id(record.year, surname, title)
    threads = load_schema()["properties"]["thread"]["enum"]
    kinds = load_schema()["properties"]["kind"]["enum"]
    kind = {"article": "paper", "inproceedings": "paper", "book": "book", "incollection": "chapter",
            "inbook": "chapter", "techreport": "report", "phdthesis": "thesis", "mastersthesis": "thesis"}.get(record.type, "TODO")
    short_title = title if len(title) <= 80 else title[:77].rsplit(" ", 1)[0] + "…"
    text = f"""# yaml-language-server: $schema=./schema.json
id: {new_id}
# The year (or "YYYY-MM", quoted) the work first appeared in public: the arXiv date if it has one.
date: {record.year}
bib: [{record.key}]
title: {_yaml_string(short_title)}
# One of: {", ".join(threads)}
thread: {thread or "TODO"}
# One of: {", ".join(kinds)}
kind: {kind}
summary: "TODO: one sentence, in your own words, on what this work is."
annotation: |
  TODO: at least 80 words in your own words: what the work did, what exactly its
  attention-like mechanism computes (LaTeX math works: $\\alpha_{{ij}}$), and where it sits in
  the lineage.
# Links to earlier entries, each with its evidence (see CONTRIBUTING.md):
# relations:
#   - type: cites
#     target: 2014-bahdanau-neural-machine-translation
#   - type: influenced
#     target: 1991-schmidhuber-learning-control-fast
#     source: {{bib: somekey2020, locator: "Section 2"}}
"""
    return new_id, text


def _yaml_string(value: str) -> str:
    return value if re.fullmatch(r"[A-Za-z0-9][\w ,()'’-]*", value) else '"' + value.replace('"', '\\"') + '"'


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("key", nargs="?", help="BibTeX key of the record (add it to bib/*.bib first)")
    parser.add_argument("--thread", help="thread to fill in")
    parser.add_argument("--root", type=Path, default=Path("."))
    args = parser.parse_args(argv)
    if not args.key:
        print("usage: make new KEY=<bibkey>   (add the BibTeX record to bib/*.bib first)", file=sys.stderr)
        return 2
    records, problems = load_bibliography(args.root / "bib")
    if args.key not in records:
        hint = " (bib/ has problems: run make check)" if problems else ""
        print(f"no BibTeX record with key '{args.key}' in bib/*.bib{hint} — add the record first, then run make new again",
              file=sys.stderr)
        return 1
    new_id, text = scaffold(records[args.key], args.thread)
    path = args.root / "timeline" / f"{new_id}.yaml"
    if path.exists():
        print(f"{path} already exists — edit it, or rename the new entry's id and file", file=sys.stderr)
        return 1
    path.write_text(text, encoding="utf-8")
    print(f"wrote {path}: fill in the TODOs (and the date), then run make check and make serve")
    return 0


if __name__ == "__main__":
    sys.exit(main())
