"""A runnable module read as a literate program: its docstring, its "Differences from the paper"
and its source cut into one block per definition, each with the prose that explains it.

Everything comes from the module file itself (the code the tests run), located with `ast` line
ranges, so a page built from it cannot drift from the tested source:

- the module docstring is the page's introduction to the code (its shape legend included);
  its `Differences from the paper:` section, a list of `- ` bullets (continuation lines
  indented) ending at a blank line or the docstring's end, is taken out into its own list;
- each top-level function or class is a block: the comment lines just above it and its
  docstring are the prose, the rest of its lines the code. A class with more than one method
  is cut further, one block for its header and one per method (as labml's pages do);
- statements between definitions (imports, constants, the `__main__` guard) are blocks of
  code without prose.
"""
from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path

DIFFERENCES_HEADING = "Differences from the paper:"
_BULLET = re.compile(r"^- (.*)$")


@dataclass(frozen=True)
class Block:
    name: str   # "AdditiveAttention.forward", "" for statements between definitions
    prose: str  # Markdown: the definition's leading comments and docstring ("" for none)
    code: str   # its source lines, the docstring removed, indentation kept


@dataclass(frozen=True)
class LiterateModule:
    summary: str             # the module docstring without its differences section
    differences: list[str]   # one Markdown string per bullet
    blocks: list[Block]


class MissingDifferences(Exception):
    """The module's docstring has no usable "Differences from the paper:" section."""


def split_differences(docstring: str, where: str) -> tuple[str, list[str]]:
    """(the docstring without the section, its bullets). Raises MissingDifferences, naming `where`."""
    lines = docstring.splitlines()
    try:
        start = next(i for i, line in enumerate(lines) if line.strip() == DIFFERENCES_HEADING)
    except StopIteration:
        raise MissingDifferences(
            f"{where}: the module docstring has no '{DIFFERENCES_HEADING}' section — add one: that line, then one "
            "'- ' bullet per simplification or convention the module makes that the paper does not (or a single "
            "bullet saying there is none, and why)") from None
    bullets: list[str] = []
    end = start + 1
    while end < len(lines) and lines[end].strip():
        line = lines[end]
        bullet = _BULLET.match(line)
        if bullet:
            bullets.append(bullet.group(1).strip())
        elif bullets and line.startswith((" ", "\t")):
            bullets[-1] += " " + line.strip()
        else:
            raise MissingDifferences(
                f"{where}:{DIFFERENCES_HEADING} line {end - start} is neither a '- ' bullet nor an indented "
                f"continuation: {line.strip()!r} — start each difference with '- ' and indent continuation lines")
        end += 1
    if not bullets:
        raise MissingDifferences(f"{where}: '{DIFFERENCES_HEADING}' has no bullets — list the differences as "
                                 "'- ' lines directly under it (or one bullet saying there is none, and why)")
    summary = "\n".join(lines[:start] + lines[end:]).strip()
    return re.sub(r"\n{3,}", "\n\n", summary), bullets


def _docstring_node(node: ast.AST) -> ast.Expr | None:
    body = getattr(node, "body", [])
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
            and isinstance(body[0].value.value, str):
        return body[0]
    return None


def _first_line(node: ast.stmt) -> int:
    """1-based first line, decorators included."""
    return min([node.lineno, *(d.lineno for d in getattr(node, "decorator_list", []))])


def _leading_comments(lines: list[str], first: int, floor: int) -> tuple[str, int]:
    """The comment lines directly above line `first` (1-based; blank lines allowed between
    them), not reaching back past line `floor`. Returns (their text, the first line they take)."""
    i = first - 1  # 0-based index of the definition's first line
    taken: list[str] = []
    start = first
    while i - 1 >= floor and (lines[i - 1].strip().startswith("#") or not lines[i - 1].strip()):
        i -= 1
        if lines[i].strip():
            taken.insert(0, lines[i].strip()[1:].strip())
            start = i + 1
    return "\n".join(taken), start


def _code(lines: list[str], first: int, last: int, skip: ast.Expr | None) -> str:
    """Lines first..last (1-based), without the docstring `skip` and a blank line right after it."""
    keep = []
    for number, line in enumerate(lines[first - 1:last], start=first):
        if skip is not None and (skip.lineno <= number <= skip.end_lineno
                                 or (number == skip.end_lineno + 1 and not line.strip())):
            continue
        keep.append(line)
    return "\n".join(keep).rstrip()


def _definition(lines: list[str], node: ast.stmt, floor: int, prefix: str = "") -> Block:
    comments, _ = _leading_comments(lines, _first_line(node), floor)
    docstring = _docstring_node(node)
    if docstring is not None and len(node.body) == 1:
        docstring = None  # a body that is only a docstring stays as it is
    prose = "\n\n".join(p for p in (comments, ast.get_docstring(node) if docstring else "") if p)
    return Block(prefix + node.name, prose, _code(lines, _first_line(node), node.end_lineno, docstring))


def _class_blocks(lines: list[str], node: ast.ClassDef) -> list[Block]:
    """One block for the class line, its docstring and its other statements; one per method."""
    docstring = _docstring_node(node)
    header = lines[_first_line(node) - 1:node.body[0].lineno - 1]
    methods: list[Block] = []
    previous = node.body[0].lineno - 1
    for child in node.body:
        if child is docstring:
            pass
        elif isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
            methods.append(_definition(lines, child, previous, prefix=f"{node.name}."))
        else:
            header += lines[previous:child.end_lineno]
        previous = child.end_lineno
    return [Block(node.name, ast.get_docstring(node) or "", "\n".join(header).rstrip()), *methods]


def read_module(path: Path) -> LiterateModule:
    source = path.read_text(encoding="utf-8")
    tree = ast.parse(source, filename=str(path))
    lines = source.splitlines()
    docstring = ast.get_docstring(tree)
    if docstring is None:
        raise MissingDifferences(f"{path}:1: the module has no docstring — start it with one naming the work, "
                                 f"the equations and a '{DIFFERENCES_HEADING}' section")
    summary, differences = split_differences(docstring, f"{path}:1")
    module_doc = _docstring_node(tree)
    blocks: list[Block] = []
    pending: list[str] = []  # statements between definitions, gathered into one block
    previous = module_doc.end_lineno if module_doc else 0

    def flush() -> None:
        code = "\n".join(pending).strip("\n")
        if code.strip():
            blocks.append(Block("", "", code))
        pending.clear()

    for node in tree.body:
        if node is module_doc:
            continue
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            _, comment_start = _leading_comments(lines, _first_line(node), previous)
            pending += lines[previous:comment_start - 1]
            flush()
            methods = [n for n in getattr(node, "body", []) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]
            if isinstance(node, ast.ClassDef) and len(methods) > 1:
                comments, _ = _leading_comments(lines, _first_line(node), previous)
                header, *methods = _class_blocks(lines, node)
                prose = "\n\n".join(p for p in (comments, header.prose) if p)
                blocks += [Block(header.name, prose, header.code), *methods]
            else:
                blocks.append(_definition(lines, node, previous))
        else:
            pending += lines[previous:node.end_lineno]
        previous = node.end_lineno
    pending += lines[previous:]
    flush()
    return LiterateModule(summary, differences, blocks)
