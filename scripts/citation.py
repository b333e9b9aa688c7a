"""How to cite the Atlas: CITATION.cff is the one place; the home page's BibTeX is made from it."""
from __future__ import annotations

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
CITATION = ROOT / "CITATION.cff"
REQUIRED = ("cff-version", "message", "title", "authors")


def load_citation(path: Path = CITATION) -> dict:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def _author(person: dict) -> str:
    if "name" in person:  # an entity: braces keep BibTeX from splitting it into first and last names
        return "{" + person["name"] + "}"
    return f"{person['family-names']}, {person['given-names']}"


def bibtex(citation: dict, key: str = "attentionatlas") -> str:
    """A @misc record for the Atlas from its CITATION.cff fields."""
    fields = {
        "title": "{" + citation["title"] + "}",
        "author": " and ".join(_author(a) for a in citation["authors"]),
        "year": str(citation["date-released"])[:4] if "date-released" in citation else None,
        "version": citation.get("version"),
        "url": citation.get("url"),
        "note": f"Source: {citation['repository-code']}" if "repository-code" in citation else None,
    }
    width = max(len(name) for name in fields)
    body = ",\n".join(f"  {name:<{width}} = {{{value}}}" for name, value in fields.items() if value)
    return f"@misc{{{key},\n{body}\n}}"
