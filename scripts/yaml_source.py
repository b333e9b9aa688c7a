"""Parse one YAML document, keeping the line of every value so errors can point at it.

PyYAML's C loader composes a node tree (with marks) and constructs Python data from it in
one pass; it is several times faster than a round-trip loader, which matters at 5,000 files.
The lines are kept as a plain {path: line} map so documents can cross process boundaries.

Entries come from strangers, so the loader is narrowed to what a contributor needs:
- no anchors, aliases or tags: an alias "bomb" (nine levels of nine) would make a few hundred
  bytes expand into gigabytes; they are refused from the token stream, before any node exists;
- nesting at most MAX_DEPTH deep (composing and constructing recurse);
- field names are the text as written: YAML 1.1 reads `on:` as True and `~:` as None, which
  would make "unknown field 'True'" point at no line;
- floats and timestamps stay the text as written: no field is a float or a date object, and
  `date: 2015.0` must fail as a malformed date, not pass as the integer 2015.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import yaml

from scripts.problems import Problem

MAX_DEPTH = 16
_OPENERS = (yaml.BlockMappingStartToken, yaml.BlockSequenceStartToken,
            yaml.FlowMappingStartToken, yaml.FlowSequenceStartToken)
_CLOSERS = (yaml.BlockEndToken, yaml.FlowMappingEndToken, yaml.FlowSequenceEndToken)
_REFUSED = {yaml.AnchorToken: "an anchor (&name)", yaml.AliasToken: "an alias (*name)", yaml.TagToken: "a tag (!...)"}
# Only text with one of these can hold an anchor, alias, tag or deep nesting; the rest skips the scan.
_MAYBE_UNSAFE = re.compile(r"[&*!]|^[ \t?-]{24}", re.MULTILINE)
_MAX_FLOW_BRACKETS = 16


@dataclass
class YamlDocument:
    data: Any
    lines: dict[tuple, int] = field(default_factory=dict)

    def line_of(self, path: tuple[Any, ...]) -> int:
        """1-based line of the value at `path` (keys and list indices); the nearest parent
        that exists when the path runs past the document (e.g. a missing field)."""
        for end in range(len(path), -1, -1):
            if path[:end] in self.lines:
                return self.lines[path[:end]]
        return 1


class YamlSyntaxError(Exception):
    def __init__(self, line: int, message: str, fix: str | None = None):
        self.line, self.message, self.fix = line, message, fix
        super().__init__(f"line {line}: {message}")


YAML_FIX = "fix the indentation or quoting here (text with ': ' or '#' needs quotes or a | block)"


def yaml_problem(path: str, error: YamlSyntaxError) -> Problem:
    if error.fix:  # refused rather than malformed (an alias, a tag, deep nesting): it says why
        return Problem(path, error.line, error.message, error.fix)
    return Problem(path, error.line, f"YAML syntax error: {error.message}", YAML_FIX)


class _Refused(Exception):
    def __init__(self, line: int, message: str, fix: str):
        self.line, self.message, self.fix = line, message, fix


class _EntryLoader(yaml.CSafeLoader):
    """The safe loader with string keys, and floats and timestamps kept as written."""


def _construct_mapping(loader: _EntryLoader, node: yaml.MappingNode) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for key_node, value_node in node.value:
        if not isinstance(key_node, yaml.ScalarNode):
            raise _Refused(key_node.start_mark.line + 1, "a field name is a list or mapping",
                           "write field names as plain words followed by ':'")
        # The first of repeated keys wins, as in the line map; the repeats are reported.
        if key_node.value not in data:
            data[key_node.value] = loader.construct_object(value_node, deep=True)
    return data


def _construct_as_written(loader: _EntryLoader, node: yaml.ScalarNode) -> str:
    return node.value


_EntryLoader.add_constructor("tag:yaml.org,2002:map", _construct_mapping)
_EntryLoader.add_constructor("tag:yaml.org,2002:float", _construct_as_written)
_EntryLoader.add_constructor("tag:yaml.org,2002:timestamp", _construct_as_written)


def _refuse_unsafe_tokens(text: str) -> None:
    """Raise _Refused at the first anchor, alias or tag, or where nesting runs too deep."""
    depth = 0
    for token in yaml.scan(text, Loader=yaml.CSafeLoader):
        kind = type(token)
        if kind in _REFUSED:
            raise _Refused(token.start_mark.line + 1, f"{_REFUSED[kind]} is not allowed in data files",
                           "write the value out in full where it is needed")
        if isinstance(token, _OPENERS):
            depth += 1
            if depth > MAX_DEPTH:
                raise _Refused(token.start_mark.line + 1, f"nesting deeper than {MAX_DEPTH} levels",
                               "entries nest at most a few levels (relations → source → note)")
        elif isinstance(token, _CLOSERS):
            depth -= 1


def _walk(node: yaml.Node | None) -> tuple[dict[tuple, int], list[tuple[int, str]]]:
    """Every value's line (a mapping value sits on its key's line), and repeated keys, which
    PyYAML would otherwise silently overwrite. Aliases are refused before this runs, so every
    node is visited once."""
    lines: dict[tuple, int] = {}
    duplicates: list[tuple[int, str]] = []
    stack = [((), node)] if node is not None else []
    if node is not None:
        lines[()] = node.start_mark.line + 1
    while stack:
        path, current = stack.pop()
        if isinstance(current, yaml.MappingNode):
            seen: set[str] = set()
            for key_node, value_node in current.value:
                key = key_node.value
                if key in seen:
                    duplicates.append((key_node.start_mark.line + 1, key))
                    continue
                seen.add(key)
                lines[path + (key,)] = key_node.start_mark.line + 1
                stack.append((path + (key,), value_node))
        elif isinstance(current, yaml.SequenceNode):
            for index, item in enumerate(current.value):
                lines[path + (index,)] = item.start_mark.line + 1
                stack.append((path + (index,), item))
    return lines, sorted(duplicates)


def parse_yaml(text: str) -> tuple[YamlDocument, list[tuple[int, str]]]:
    """Return the document and its duplicate keys; raise YamlSyntaxError on bad syntax or on
    anything refused above (with its own fix)."""
    loader = None
    try:
        if text.count("[") + text.count("{") > _MAX_FLOW_BRACKETS or _MAYBE_UNSAFE.search(text):
            _refuse_unsafe_tokens(text)
        loader = _EntryLoader(text)
        root = loader.get_single_node()
        data = loader.construct_document(root) if root is not None else None
    except _Refused as refused:
        raise YamlSyntaxError(refused.line, refused.message, refused.fix) from None
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = mark.line + 1 if mark else 1
        message = " ".join(str(part) for part in (error.context, error.problem) if part)
        raise YamlSyntaxError(line, message or "invalid YAML") from None
    except yaml.YAMLError as error:  # the reader's errors carry a character offset, not a mark
        position = getattr(error, "position", None)
        line = text.count("\n", 0, position) + 1 if isinstance(position, int) else 1
        raise YamlSyntaxError(line, str(error).split("\n")[0]) from None
    finally:
        if loader is not None:
            loader.dispose()
    lines, duplicates = _walk(root)
    return YamlDocument(data, lines), duplicates
