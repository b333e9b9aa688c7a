"""jsonschema errors → messages a contributor can act on, with the fix, from the schema itself."""
from __future__ import annotations

import difflib
import json
import re
from functools import lru_cache
from pathlib import Path
from typing import Any

import fastjsonschema
import jsonschema

from scripts.problems import shown

SCHEMA_PATH = Path(__file__).resolve().parent.parent / "timeline" / "schema.json"


@lru_cache(maxsize=None)
def load_schema(path: Path = SCHEMA_PATH) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


@lru_cache(maxsize=None)
def fast_validator(path: Path = SCHEMA_PATH):
    """Compiled validator: answers 'valid?' quickly; jsonschema explains the invalid ones."""
    return fastjsonschema.compile(load_schema(path))


@lru_cache(maxsize=None)
def _end_anchored(pattern: str) -> re.Pattern:
    """JSON Schema's `$` (ECMA 262) ends the text; Python's also matches before a final newline,
    so "2015-06\n" would pass. fastjsonschema makes the same substitution."""
    return re.compile(re.sub(r"(?<!\\)\$", r"\\Z", pattern))


def _pattern(validator, pattern: str, instance: Any, schema: dict):
    if validator.is_type(instance, "string") and not _end_anchored(pattern).search(instance):
        yield jsonschema.ValidationError(f"{instance!r} does not match {pattern!r}")


# The explaining validator must agree with the compiled one on every input: the same anchors, and
# a whole number is an int (YAML never gives a float here: the loader keeps floats as text).
_StrictValidator = jsonschema.validators.extend(
    jsonschema.Draft7Validator, validators={"pattern": _pattern},
    type_checker=jsonschema.Draft7Validator.TYPE_CHECKER.redefine(
        "integer", lambda checker, value: isinstance(value, int) and not isinstance(value, bool)))


@lru_cache(maxsize=None)
def full_validator(path: Path = SCHEMA_PATH) -> jsonschema.Draft7Validator:
    return _StrictValidator(load_schema(path))


def _field_name(path: tuple[Any, ...]) -> str:
    name = ""
    for step in path:
        name += f"[{step}]" if isinstance(step, int) else (f".{step}" if name else str(step))
    return name or "the entry"


def _type_name(value: Any) -> str:
    return {bool: "true/false", int: "a number", float: "a number", str: "text", list: "a list",
            dict: "a mapping", type(None): "empty"}.get(type(value), type(value).__name__)


def _suggest(word: Any, choices: list[str]) -> str:
    close = difflib.get_close_matches(str(word)[:100], choices, n=1)  # a long value would make difflib crawl
    return f"did you mean '{close[0]}'? " if close else ""


def _words(text: str) -> str:
    count = len(text.split())
    return f"{count} word{'s' if count != 1 else ''}"


def _unknown_fields(error: jsonschema.ValidationError) -> list[tuple[tuple[Any, ...], str, str]]:
    """Each unknown field at its own line (jsonschema reports them all in one error)."""
    path = tuple(error.absolute_path)
    known = sorted(error.schema.get("properties", {}))
    unknown = sorted(set(error.instance) - set(known), key=str) or ["?"]  # keys may be of mixed types
    inside = f" in {_field_name(path)}" if path else ""
    return [(path + (extra,), f"unknown field '{shown(extra)}'{inside}",
             f"{_suggest(extra, known)}known fields are: {', '.join(known)}") for extra in unknown]


def describe(error: jsonschema.ValidationError) -> tuple[tuple[Any, ...], str, str]:
    """(path of the offending value, what is wrong, how to fix it)."""
    path = tuple(error.absolute_path)
    field = _field_name(path)
    schema = error.schema
    keyword = error.validator
    description = schema.get("description", "")
    if keyword == "additionalProperties":  # one error for all unknown keys: see _unknown_fields
        return _unknown_fields(error)[0]
    if keyword == "required":
        missing = error.message.split("'")[1]
        about = schema.get("properties", {}).get(missing, {}).get("description", "")
        if missing == "source" and path[:1] == ("relations",) and isinstance(error.instance, dict):
            return path, f"{field} is a '{shown(error.instance.get('type'))}' relation with no source", \
                "every relation but 'cites' needs its evidence: source: {bib: <key>, locator: <page or section>} or source: {note: <...>}"
        return path, f"missing field '{missing}'" + (f" in {field}" if path else ""), \
            f"add it: {about}" if about else f"add '{missing}'"
    if keyword == "enum":
        allowed = [str(v) for v in error.validator_value]
        return path, f"{field} '{shown(error.instance)}' is not one of the allowed values", \
            f"{_suggest(error.instance, allowed)}use one of: {', '.join(allowed)}"
    if keyword == "type":
        expected = error.validator_value
        expected = expected if isinstance(expected, str) else " or ".join(expected)
        names = {"string": "text", "integer": "a whole number", "array": "a list", "object": "a mapping"}
        return path, f"{field} should be {names.get(expected, expected)}, not {_type_name(error.instance)}", \
            description or "fix the value's type"
    if keyword == "oneOf" and path and path[-1] == "date":
        month = re.fullmatch(r"[0-9]{4}-([0-9]{2})", error.instance) if isinstance(error.instance, str) else None
        if month:
            return path, f"date '{error.instance}' has no month {month.group(1)}", \
                'months run from 01 to 12: write e.g. date: "2014-09", or only the year if the month is unknown'
        return path, f"date '{shown(error.instance)}' is neither a year nor a quoted year-month", \
            'write a year (date: 2014) or a year and month in quotes (date: "2014-09")'
    if keyword == "anyOf" and "bib" in schema.get("properties", {}):
        return path, f"{field} needs either a bib key with a locator, or a note", \
            "add 'bib: <key>' and 'locator: <page or section>', or 'note: <what the evidence is>'"
    if keyword == "pattern" and error.validator_value == "\\S":
        return path, f"{field} is empty (nothing but spaces)", description or "write the text"
    if keyword == "pattern" and "{79}" in error.validator_value:
        return path, f"{field} has {_words(error.instance)}; it needs at least 80", description
    if keyword == "pattern":
        return path, f"{field} '{shown(error.instance)}' has the wrong format", description or f"match {error.validator_value}"
    if keyword in ("minLength", "maxLength", "minItems"):
        limit = error.validator_value
        size = {"maxLength": f"longer than {limit} characters", "minLength": f"shorter than {limit} characters",
                "minItems": f"fewer than {limit} item{'s' if limit != 1 else ''}"}[keyword]
        return path, f"{field} is too {'long' if keyword == 'maxLength' else 'short'} ({size})", \
            description or "adjust its length"
    if keyword == "uniqueItems":
        return path, f"{field} lists the same value twice", "remove the repeated value"
    return path, f"{field}: {shown(error.message, 200)}", description or "see timeline/schema.json"


def schema_errors(data: Any, schema_path: Path = SCHEMA_PATH) -> list[tuple[tuple[Any, ...], str, str]]:
    try:
        fast_validator(schema_path)(data)
        return []
    except fastjsonschema.JsonSchemaException as fast_error:
        disagreement = ((), f"invalid: {shown(fast_error.message)}", "see timeline/schema.json")
    errors = sorted(full_validator(schema_path).iter_errors(data), key=lambda e: list(map(str, e.absolute_path)))
    # Should the two validators ever disagree, the entry is still refused.
    described = [found for error in errors
                 for found in (_unknown_fields(error) if error.validator == "additionalProperties" else [describe(error)])]
    return described or [disagreement]
