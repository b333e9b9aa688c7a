"""The claims ledger ("Who named attention?"): timeline/claims/*.yaml, validated against
timeline/claims/schema.json and against the bibliography and the entries, like everything else."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from scripts.bibliography import display_path, read_utf8
from scripts.problems import Problem
from scripts.schema_messages import schema_errors
from scripts.yaml_source import YamlSyntaxError, parse_yaml


def _sources(data: dict) -> list[tuple[tuple, dict]]:
    """(path, source) for every source mapping in a ledger, for reference checks."""
    found = []
    for i, claim in enumerate(data.get("claims", [])):
        found.append((("claims", i, "made_in"), claim["made_in"]))
        for j, evidence in enumerate(claim["evidence"]):
            found.append((("claims", i, "evidence", j, "source"), evidence["source"]))
    return found


def load_claims(claims_dir: Path, record_keys: set[str], entry_ids: set[str]) -> tuple[list[dict[str, Any]], list[Problem]]:
    ledgers, problems = [], []
    schema = claims_dir / "schema.json"
    for file in sorted(claims_dir.glob("*.yaml")):
        path = display_path(file)
        text, problem = read_utf8(file)
        if problem:
            problems.append(problem)
            continue
        try:
            doc, duplicates = parse_yaml(text)
        except YamlSyntaxError as error:
            problems.append(Problem(path, error.line, f"YAML syntax error: {error.message}", "fix the indentation or quoting here"))
            continue
        problems += [Problem(path, line, f"field '{key}' appears twice", "keep one of them") for line, key in duplicates]
        errors = schema_errors(doc.data, schema)
        problems += [Problem(path, doc.line_of(where), message, fix) for where, message, fix in errors]
        if errors or duplicates:
            continue
        for where, source in _sources(doc.data):
            if "bib" in source and source["bib"] not in record_keys:
                problems.append(Problem(path, doc.line_of(where + ("bib",)), f"source key '{source['bib']}' has no record in bib/*.bib",
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
                                            f"entry '{entry_id}' does not exist", "use an entry id (a file name in timeline/)"))
        ledgers.append({"slug": file.stem, **doc.data})
    return ledgers, problems
