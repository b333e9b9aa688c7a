"""Load bib/*.bib with pybtex: every syntax error, duplicate key and unformattable record.

Records are formatted one by one with pybtex's plain style: formatting a whole
bibliography aborts at the first record that lacks a field the style needs, and we want
every such record reported (and every good one formatted).
"""
from __future__ import annotations

import re
from pathlib import Path

import nh3
import pybtex.errors
from pybtex.database.input.bibtex import DuplicateField, Parser
from pybtex.plugin import find_plugin
from pybtex.richtext import String, Text
from pybtex.scanner import PybtexSyntaxError

from scripts.data_files import BIB_LIMIT, display_path, inventory, read_data_file
from scripts.model import BibRecord, Person
from scripts.parallel import parallel_map
from scripts.problems import Problem, shown
from scripts.rebuild_memo import Memo

KEY_PATTERN = re.compile(r"^[a-z][a-z0-9]*[0-9]{4}[a-z0-9]*$")
KEY_FORMAT = "first author's surname, the year and the first word of the title, lowercase ASCII (e.g. bahdanau2015neural)"
DOI_PATTERN = re.compile(r"^10\.\d{4,9}/\S+$")
ARXIV_PATTERN = re.compile(r"^(\d{4}\.\d{4,5}|[a-z-]+(\.[A-Z]{2})?/\d{7})(v\d+)?$")
_RECORD_START = re.compile(r"^[ \t]*@[ \t]*(\w+)[ \t]*[{(][ \t]*([^,\s]+)", re.MULTILINE)
_NOT_RECORDS = {"comment", "string", "preamble"}
_BRACES_AND_SPACE = re.compile(r"[{}\s]+")
_DUPLICATE_FIELD = re.compile(r"entry with key (.*) has a duplicate (.*) field", re.DOTALL)

# pybtex decodes every field with latexcodec, which is most of the cost of formatting a record
# (about 0.8 ms each: 4 s at 5,000 records). Text with none of LaTeX's special characters
# decodes to itself, so it skips the decoder; tests/test_bibliography.py checks the two agree.
_PLAIN_WORD = r"[A-Za-z0-9,.:;()!?/+=*@\u00C0-\u024F]+"
_NO_LATEX = re.compile(rf"{_PLAIN_WORD}( {_PLAIN_WORD})*")  # words and single spaces: the decoder normalises other whitespace
_PYBTEX_FROM_LATEX = Text.from_latex.__func__


def _from_latex(cls, latex: str) -> Text:
    if _NO_LATEX.fullmatch(latex):
        return cls(String(latex))
    return _PYBTEX_FROM_LATEX(cls, latex)


Text.from_latex = classmethod(_from_latex)

_STYLE = find_plugin("pybtex.style.formatting", "plain")()
_HTML = find_plugin("pybtex.backends", "html")()
_PLAIN = find_plugin("pybtex.backends", "text")()


def record_lines(text: str) -> dict[str, list[int]]:
    """Line of each record's '@type{key' (pybtex does not keep positions)."""
    lines: dict[str, list[int]] = {}
    line, position = 1, 0
    for match in _RECORD_START.finditer(text):
        line += text.count("\n", position, match.start())  # counted incrementally: linear in the file
        position = match.start()
        if match.group(1).lower() not in _NOT_RECORDS:
            lines.setdefault(match.group(2), []).append(line)
    return lines


# BibTeX's case-protecting groups, `{ICML}`, with plain words inside: as text, just the words.
_PLAIN_GROUP = re.compile(r"\{([^{}\\]*)\}")


def latex_to_text(value: str) -> str:
    """A field's value as plain text. Values whose only LaTeX is case-protecting braces (most
    venues: `Proceedings of … ({ICML} 2015)`) skip pybtex's parse and rendering, which were most
    of an entry page's own cost in a large build; tests/test_bibliography.py checks both agree."""
    unprotected = _PLAIN_GROUP.sub(r"\1", value)
    if _NO_LATEX.fullmatch(unprotected):
        return unprotected
    return latex_to_text_parsed(value)


def latex_to_text_parsed(value: str) -> str:
    return str(Text.from_latex(value).render(_PLAIN))


def _person(person) -> Person:
    last = latex_to_text(" ".join(person.prelast_names + person.last_names))
    given = latex_to_text(" ".join(person.first_names + person.middle_names))
    suffix = latex_to_text(" ".join(person.lineage_names))
    display = " ".join(part for part in (given, last, suffix) if part)
    return Person(last=last, display=display)


def _field_line(text: str, start: int, name: str, occurrence: int) -> int:
    """Line of the `occurrence`-th `name =` of the record starting on line `start` (pybtex gives none)."""
    pattern = re.compile(rf"(?:^|[,{{(])[ \t]*{re.escape(name)}[ \t]*=", re.IGNORECASE | re.MULTILINE)
    offset = sum(len(line) for line in text.splitlines(keepends=True)[: start - 1])
    for count, match in enumerate(pattern.finditer(text, offset), 1):
        if count == occurrence:
            return text.count("\n", 0, match.end()) + 1
    return start


def _syntax_problem(path: str, error: Exception, starts: list[int]) -> Problem:
    if isinstance(error, PybtexSyntaxError):
        message = shown(str(error).split(": ", 1)[-1], 200)
        line = error.lineno or 1
        start = max((s for s in starts if s <= line), default=None)
        if start is not None and start != line:
            message += f" (in the record that starts on line {start})"
        return Problem(path, line, f"BibTeX syntax error: {message}",
                       "check the braces, quotes, commas and '=' of this record and the one before it")
    return Problem(path, 1, f"BibTeX error: {shown(error, 200)}", "fix the record pybtex names")


def _field_problems(key: str, entry, path: str, line: int) -> list[Problem]:
    problems = []
    at = lambda message, fix: problems.append(Problem(path, line, f"record '{shown(key)}': {message}", fix))  # noqa: E731
    if not KEY_PATTERN.fullmatch(key):
        at(f"key does not follow the project's key format", f"rename it: {KEY_FORMAT}")
    fields = {name.lower(): value for name, value in entry.fields.items()}
    if not (entry.persons.get("author") or entry.persons.get("editor")):
        at("has no author", "add author = {Last, First and Last, First} (or editor for an edited book)")
    for name in ("title", "year"):
        if not _BRACES_AND_SPACE.sub("", fields.get(name, "")):  # `title = {{}}` is empty too
            at(f"has no {name}", f"add {name} = {{...}} from the work itself")
    year = fields.get("year", "")
    if year and not re.fullmatch(r"\d{4}", year.strip()):
        at(f"year '{shown(year)}' is not a four-digit year", "write the year of the venue, e.g. year = {2015}")
    doi = fields.get("doi")
    if doi is not None and not DOI_PATTERN.fullmatch(doi.strip()):
        at(f"doi '{shown(doi)}' is not a DOI", "write it as 10.xxxx/suffix without https://doi.org/, or leave it out if unsure")
    is_arxiv = fields.get("archiveprefix", fields.get("eprinttype", "")).lower() == "arxiv"
    if "eprint" in fields and is_arxiv and not ARXIV_PATTERN.fullmatch(fields["eprint"].strip()):
        at(f"eprint '{shown(fields['eprint'])}' is not an arXiv identifier", "write it as e.g. 1409.0473 (no 'arXiv:' prefix)")
    url = fields.get("url")
    if url is not None and not re.match(r"https?://\S", url.strip()):
        at(f"url '{shown(url)}' is not an http(s) address", "give the full https:// address or leave it out")
    for person in entry.persons.get("author", []) + entry.persons.get("editor", []):
        if not person.last_names:
            at(f"author '{shown(person)}' has no surname", "write names as 'Last, First' separated by ' and '")
    return problems


def _formatted(item) -> list:
    """The slow, pure part of a record: its citation and people formatted by pybtex
    (["ok", html, text, authors, editors] or ["error", message]); independent of all other
    records, so it runs in parallel, and only the results travel back."""
    key, entry = item
    try:
        citation_html, citation_text = _format(key, entry)
    except Exception as error:  # pybtex raises several types for unformattable records
        return ["error", shown(error, 200)]
    people = [[[p.last, p.display] for p in map(_person, entry.persons.get(role, []))] for role in ("author", "editor")]
    return ["ok", citation_html, citation_text, *people]


# Under `mkdocs serve`, a rebuild formats only the records that are new or were edited.
_FORMATTED = Memo()


def _identity(key: str, entry) -> tuple:
    """Everything _formatted reads from a record."""
    people = tuple((role, tuple(tuple(map(tuple, (p.first_names, p.middle_names, p.prelast_names, p.last_names,
                                                  p.lineage_names))) for p in persons))
                   for role, persons in entry.persons.items())
    return key, entry.type, tuple(entry.fields.items()), people


def _formatted_all(items: list[tuple[str, object]]) -> list[list]:
    """_formatted for every record, in parallel."""
    return _FORMATTED.map([_identity(key, entry) for key, entry in items],
                          lambda indices: parallel_map(_formatted, [items[i] for i in indices]))


def _shape(entry) -> tuple:
    """What pybtex's style branches on: the type, which fields are present, whose names are given.
    Records of one shape format alike, or fail alike for the same missing field."""
    return (entry.type.lower(), tuple(sorted(name.lower() for name in entry.fields)),
            tuple(sorted((role, min(len(people), 3)) for role, people in entry.persons.items())))


def _formattable(items: list[tuple[str, object]]) -> list[list]:
    """Whether each record can be formatted, trying one record of each shape: like _formatted's
    results, with empty citations and people."""
    verdicts: dict[tuple, list] = {}
    results = []
    for item in items:
        shape = _shape(item[1])
        if shape not in verdicts:
            result = _formatted(item)
            verdicts[shape] = ["ok", "", "", [], []] if result[0] == "ok" else result
        results.append(verdicts[shape])
    return results


def _record(key: str, entry, path: str, line: int, formatted: list) -> tuple[BibRecord | None, list[Problem]]:
    problems = _field_problems(key, entry, path, line)
    if formatted[0] == "error":
        problems.append(Problem(path, line, f"record '{shown(key)}' cannot be formatted by pybtex: {formatted[1]}",
                                "add the field it names, or use the entry type that fits the work"))
    if problems:
        return None, problems
    _, citation_html, citation_text, authors, editors = formatted
    return BibRecord(
        key=key, type=entry.type.lower(),
        fields={name.lower(): str(value) for name, value in entry.fields.items()},
        authors=tuple(Person(*p) for p in authors), editors=tuple(Person(*p) for p in editors),
        path=path, line=line, citation_html=citation_html, citation_text=citation_text, source=entry), []


def _format(key: str, entry) -> tuple[str, str]:
    formatted = _STYLE.format_entry(key, entry)
    citation_html = nh3.clean(formatted.text.render(_HTML), tags={"a", "em", "strong", "span", "i", "b"},
                              attributes={"a": {"href"}, "span": {"class"}}, url_schemes={"http", "https"})
    return citation_html, formatted.text.render(_PLAIN)


def _quoted(value: str) -> str:
    """A field value as pybtex's writer quotes it: in double quotes unless it holds one."""
    return f'"{value}"' if '"' not in value else f"{{{value}}}"


def bibtex_source(record: BibRecord) -> str:
    """The record as BibTeX in a normalised layout, for copying: the values as they are in the
    file (already LaTeX), names as 'Last, First'. Written here rather than with pybtex's writer,
    which re-encodes every value through a LaTeX codec at about a millisecond a record."""
    entry = record.source
    lines = [f"@{entry.type}{{{record.key}"]
    for role in ("author", "editor"):
        if entry.persons.get(role):
            lines.append(f"    {role} = {_quoted(' and '.join(str(person) for person in entry.persons[role]))}")
    lines += [f"    {name} = {_quoted(value)}" for name, value in entry.fields.items()]
    return ",\n".join(lines) + "\n}"


def bib_inventory(bib_dir: Path):
    return inventory(bib_dir, ".bib", "BibTeX")


def load_bibliography(bib_dir: Path, citations: bool = True) -> tuple[dict[str, BibRecord], list[Problem]]:
    """Every record, checked; with `citations`, each formatted (slow: about 1.5 ms of CPU a record),
    otherwise only whether it can be, and the records carry no citation or people (`make check`)."""
    records: dict[str, BibRecord] = {}
    problems: list[Problem] = []
    pending: list[tuple[str, object, str, int]] = []  # (key, entry, path, line): checked, to format
    first_seen: dict[str, tuple[str, int]] = {}
    files = bib_inventory(bib_dir)
    problems += files.problems
    if not files.data:
        problems.append(Problem(display_path(bib_dir), 1, "no .bib files found", "add BibTeX records to bib/*.bib"))
    for file in files.data:
        path = display_path(file)
        text, problem = read_data_file(file, bib_dir, BIB_LIMIT)
        if problem:
            problems.append(problem)
            continue
        lines = record_lines(text)
        with pybtex.errors.capture() as captured:
            data = Parser().parse_string(text)
        starts = sorted(n for ns in lines.values() for n in ns)
        broken_records: set[int] = set()  # a record with a syntax error is reported once, as that
        for error in captured:
            if isinstance(error, PybtexSyntaxError) and error.lineno:
                broken_records.add(max((s for s in starts if s <= error.lineno), default=0))
            if "repeated bibliography entry" in str(error):
                key = str(error).rsplit(": ", 1)[-1]
                line = lines.get(key, [1])[-1]
                problems.append(Problem(path, line, f"duplicate BibTeX key '{shown(key)}' (also on line {lines.get(key, [1])[0]})",
                                        "keep one record per work; give different works different keys"))
            elif isinstance(error, DuplicateField):
                key, name = _DUPLICATE_FIELD.fullmatch(str(error)).groups()
                start = lines.get(key, [1])[0]
                problems.append(Problem(path, _field_line(text, start, name, 2),
                                        f"record '{shown(key)}': field '{shown(name)}' appears twice", "keep one of them"))
            else:
                problems.append(_syntax_problem(path, error, starts))
        for key, entry in data.entries.items():
            line = lines.get(key, [1])[0]
            if key in records:
                other = first_seen[key]
                problems.append(Problem(path, line, f"duplicate BibTeX key '{shown(key)}' (also in {other[0]}:{other[1]})",
                                        "keep one record per work; give different works different keys"))
                continue
            if line in broken_records:
                continue
            records[key] = None  # claimed, for duplicate detection across files
            first_seen[key] = (path, line)
            pending.append((key, entry, path, line))
    items = [(key, entry) for key, entry, _, _ in pending]
    formatted = _formatted_all(items) if citations else _formattable(items)
    for (key, entry, path, line), result in zip(pending, formatted):
        records[key], record_problems = _record(key, entry, path, line, result)
        problems += record_problems
    return dict(sorted(((k, r) for k, r in records.items() if r is not None), key=lambda kv: kv[0])), problems
