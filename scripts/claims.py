"""The claims ledgers ("Who named attention?"): timeline/claims/*.yaml, validated against
timeline/claims/schema.json and against the bibliography and the entries, like everything else.

Each ledger becomes a page at /<file name>/ and a nav item, so its file name must be a slug that no
other page of the site already uses."""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from scripts.data_files import ENTRY_LIMIT, LEDGERS, SCHEMA, display_path, inventory, read_data_file
from scripts.problems import Problem, shown
from scripts.schema_messages import schema_errors
from scripts.yaml_source import YamlSyntaxError, parse_yaml, yaml_problem

CLAIMS_SCHEMA = Path(__file__).resolve().parent.parent / "timeline" / LEDGERS / SCHEMA  # the rules are the project's
SLUG = re.compile(r"[a-z0-9]+(-[a-z0-9]+)*")
# Pages generated at the top of the site (scripts/site_pages.py; a test keeps the two in step).
GENERATED_PAGES = frozenset({"index", "timeline", "graph", "bibliography", "people", "threads", "entries", "mechanisms"})


def _sources(data: dict) -> list[tuple[tuple, dict]]:
    """(path, source) for every source mapping in a ledger, for reference checks."""
    found = []
    for i, claim in enumerate(data.get("claims", [])):
        found.append((("claims", i, "made_in"), claim["made_in"]))
        for j, evidence in enumerate(claim["evidence"]):
            found.append((("claims", i, "evidence", j, "source"), evidence["source"]))
    return found


def _name_problem(file: Path, docs_dir: Path) -> Problem | None:
    """A ledger's file name is its page's URL: a slug, not taken by another page."""
    slug, path = file.stem, display_path(file)
    if not SLUG.fullmatch(slug):
        return Problem(path, 1, "a ledger's file name becomes its page's address, and this one is not a slug",
                       "name it with lowercase letters, digits and hyphens, e.g. who-named-attention.yaml")
    if slug in GENERATED_PAGES or (docs_dir / f"{slug}.md").exists() or (docs_dir / slug).exists():
        return Problem(path, 1, f"the site already has a page at /{slug}/", "give the ledger another file name")
    return None


def ledger_inventory(claims_dir: Path):
    return inventory(claims_dir, ".yaml", "claims ledger", allowed=frozenset({SCHEMA}))


def load_claims(claims_dir: Path, record_keys: set[str], entry_ids: set[str],
                docs_dir: Path) -> tuple[list[dict[str, Any]], list[Problem]]:
    ledgers = []
    files = ledger_inventory(claims_dir)
    problems = list(files.problems)
    for file in files.data:
        path = display_path(file)
        text, problem = read_data_file(file, claims_dir, ENTRY_LIMIT)
        problem = problem or _name_problem(file, docs_dir)
        if problem:
            problems.append(problem)
            continue
        try:
            doc, duplicates = parse_yaml(text)
        except YamlSyntaxError as error:
            problems.append(yaml_problem(path, error))
            continue
        problems += [Problem(path, line, f"field '{shown(key)}' appears twice", "keep one of them") for line, key in duplicates]
        errors = schema_errors(doc.data, CLAIMS_SCHEMA)
        problems += [Problem(path, doc.line_of(where), message, fix) for where, message, fix in errors]
        if errors or duplicates:
            continue
        for where, source in _sources(doc.data):
            if "bib" in source and source["bib"] not in record_keys:
                problems.append(Problem(path, doc.line_of(where + ("bib",)), f"source key '{shown(source['bib'])}' has no record in bib/*.bib",
                                        "add the record or fix the key"))
        seen: set[str] = set()
        for i, claim in enumerate(doc.data["claims"]):
            if claim["id"] in seen:
                problems.append(Problem(path, doc.line_of(("claims", i, "id")), f"claim id '{claim['id']}' is used twice",
                                        "give each claim its own id"))
            seen.add(claim["id"])
            for j, entry_id in enumerate(claim.get("entries", [])):
                if entry_id not in entry_ids:
                    problems.append(Problem(path, doc.line_of(("claims", i, "entries", j)),
                                            f"entry '{shown(entry_id)}' does not exist", "use an entry id (a file name in timeline/)"))
        ledgers.append({"slug": file.stem, **doc.data})
    return ledgers, problems
