"""The field reference in CONTRIBUTING.md, generated from timeline/schema.json (one source of rules).

    python -m scripts.field_reference --write CONTRIBUTING.md   # make fields
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from scripts.schema_messages import load_schema

START, END = "<!-- field-reference:start -->", "<!-- field-reference:end -->"


def _escape(text: str) -> str:
    return text.replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;")


def _type(spec: dict) -> str:
    if "enum" in spec:
        return "one of the list below"
    if "oneOf" in spec:
        return " or ".join(_type(s) for s in spec["oneOf"])
    kind = spec.get("type", "")
    if kind == "array":
        return f"list of {_type(spec.get('items', {}))}"
    return {"string": "text", "integer": "year", "object": "mapping"}.get(kind, kind)


def _table(spec: dict, prefix: str = "") -> list[str]:
    required = set(spec.get("required", []))
    rows = ["| Field | Required | Type | Meaning |", "|---|---|---|---|"]
    for name, field in spec["properties"].items():
        text = _escape(field.get("description", ""))
        rows.append(f"| `{prefix}{name}` | {'yes' if name in required else 'no'} | {_type(field)} | {text} |")
    return rows


def _choices(title: str, spec: dict) -> list[str]:
    lines = [f"**{title}**", ""]
    for value, text in zip(spec["enum"], spec["enumDescriptions"]):
        lines.append(f"- `{value}`: {_escape(text)}")
    return lines + [""]


def field_reference(schema: dict) -> str:
    props = schema["properties"]
    relation = props["relations"]["items"]
    lines = [START, "", *_table(schema), "",
             "Each item of `quotes`:", "", *_table(props["quotes"]["items"]), "",
             "Each item of `relations`:", "", *_table(relation), "",
             "A relation's `source`:", "", *_table(relation["properties"]["source"]), "",
             *_choices("Threads", props["thread"]),
             *_choices("Kinds", props["kind"]),
             *_choices("Relation types", relation["properties"]["type"]),
             END]
    return "\n".join(lines)


def replace_reference(document: str, reference: str) -> str:
    if START not in document or END not in document:
        raise ValueError(f"the document has no {START} … {END} block")
    head, rest = document.split(START, 1)
    return head + reference + rest.split(END, 1)[1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--write", type=Path, required=True)
    args = parser.parse_args(argv)
    document = args.write.read_text(encoding="utf-8")
    args.write.write_text(replace_reference(document, field_reference(load_schema())), encoding="utf-8")
    print(f"updated the field reference in {args.write}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
