"""Load bib/ and timeline/, check everything, and return the knowledge base or every problem.

    python -m scripts.check        # the contributor's command (make check)
"""
from __future__ import annotations

import datetime
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from scripts.bibliography import bib_inventory, load_bibliography
from scripts.claims import ledger_inventory, load_claims
from scripts.data_files import ENTRY_LIMIT, LEDGERS, SCHEMA, display_path, inventory, read_data_file
from scripts.graph import build_graph
from scripts.mechanisms import page_exists
from scripts.model import BibRecord, Entry, EntryDate, Evidence, KnowledgeBase, Quote, Relation
from scripts.problems import InvalidData, Problem, shown
from scripts import rebuild_memo
from scripts.rebuild_memo import Memo
from scripts.parallel import parallel_map_beside
from scripts.schema_messages import schema_errors
from scripts.yaml_source import YamlDocument, YamlSyntaxError, parse_yaml, yaml_problem


@dataclass(frozen=True)
class Paths:
    """Where the data lives; tests point these at fixtures."""
    timeline: Path
    bib: Path
    docs: Path

    @classmethod
    def of_project(cls, root: Path) -> Paths:
        return cls(root / "timeline", root / "bib", root / "docs")


@dataclass
class _Parsed:
    path: str
    stem: str
    doc: YamlDocument
    schema_valid: bool


def _load_entry_file(file: Path) -> tuple[_Parsed | None, list[Problem]]:
    """Read, parse and schema-check one entry file (independent of all others: run in parallel)."""
    path = display_path(file)
    text, problem = read_data_file(file, file.parent, ENTRY_LIMIT)
    if problem:
        return None, [problem]
    try:
        doc, duplicates = parse_yaml(text)
    except YamlSyntaxError as error:
        return None, [yaml_problem(path, error)]
    problems = [Problem(path, line, f"field '{shown(key)}' appears twice", "keep one of them") for line, key in duplicates]
    if not isinstance(doc.data, dict):
        return None, problems + [Problem(path, 1, "an entry file must be a mapping of fields",
                                         "start from `make new KEY=<bibkey>` or copy an existing entry")]
    errors = schema_errors(doc.data)
    problems += [Problem(path, doc.line_of(where), message, fix) for where, message, fix in errors]
    return _Parsed(path, file.stem, doc, not errors), problems


def entry_inventory(timeline_dir: Path):
    """The entry files of timeline/, and every other file there refused or noted."""
    return inventory(timeline_dir, ".yaml", "entry", allowed=frozenset({SCHEMA}), subfolders=frozenset({LEDGERS}))


# Under `mkdocs serve`, a rebuild parses only the entry files that are new or were saved.
_PARSED = Memo()


def _file_state(file: Path) -> tuple:
    """What identifies one version of a file: where it is, when it was last written, its size."""
    stat = file.stat()
    return str(file), stat.st_ino, stat.st_mtime_ns, stat.st_size


def _parse_entry_files(timeline_dir: Path, beside: Callable[[], Any]) -> tuple[list[_Parsed], list[Problem], Any]:
    """Every entry file parsed (in parallel), with `beside()` run in this process meanwhile."""
    files = entry_inventory(timeline_dir)
    parsed, problems = [], list(files.problems)
    other = None

    def parse(indices: list[int]) -> list:  # called once, with the files to parse (maybe none)
        nonlocal other
        results, other = parallel_map_beside(_load_entry_file, [files.data[i] for i in indices], beside)
        return results

    keys = [_file_state(file) for file in files.data] if rebuild_memo.enabled() else files.data
    for item, item_problems in _PARSED.map(keys, parse):
        problems += item_problems
        if item is not None:
            parsed.append(item)
    return parsed, problems, other


def _slugs(runnable: str | list[str] | None) -> tuple[str, ...]:
    """`runnable` may name one mechanism page or list several."""
    if runnable is None:
        return ()
    return (runnable,) if isinstance(runnable, str) else tuple(runnable)


def _entry_from(data: dict[str, Any], doc: YamlDocument, path: str) -> Entry:
    relations = []
    for index, raw in enumerate(data.get("relations", [])):
        source = raw.get("source")
        relations.append(Relation(
            type=raw["type"], target=raw["target"],
            source=Evidence(**source) if source else None,
            line=doc.line_of(("relations", index))))
    return Entry(
        id=data["id"], date=EntryDate.parse(data["date"]), bib=tuple(data["bib"]),
        title=data["title"].strip(), thread=data["thread"], kind=data["kind"],
        summary=data["summary"].strip(), annotation=data["annotation"], path=path,
        quotes=tuple(Quote(**q) for q in data.get("quotes", [])),
        relations=tuple(relations), runnable=_slugs(data.get("runnable")),
        people=tuple(data.get("people", [])))


def _date_problems(entry: Entry, doc: YamlDocument, today: datetime.date) -> list[str]:
    date = entry.date
    wrong = []
    if date.year > today.year or (date.year == today.year and (date.month or 1) > today.month):
        wrong.append(f"date {date.label} is in the future")
    if date.year < 1000:
        wrong.append(f"date {date.year} is implausibly early")
    return wrong


def _check_entry(entry: Entry, doc: YamlDocument, stem: str, records: dict[str, BibRecord],
                 entries: dict[str, Entry], invalid_ids: set[str], docs_dir: Path,
                 today: datetime.date) -> list[Problem]:
    """Cross-checks of one schema-valid entry. `invalid_ids` are ids of files that failed the
    schema: relations to them are not reported again, so one bad file does not cascade."""
    problems = []
    add = lambda where, message, fix: problems.append(Problem(entry.path, doc.line_of(where), message, fix))  # noqa: E731
    if stem != entry.id:
        add(("id",), f"id '{entry.id}' does not match the file name '{stem}.yaml'",
            f"rename the file to {entry.id}.yaml or change the id to {stem}")
    if not entry.id.startswith(f"{entry.date.year}-"):
        add(("id",), f"id '{entry.id}' does not start with the entry's year {entry.date.year}",
            f"use an id of the form {entry.date.year}-<slug>, and rename the file to match")
    for field in ("title", "thread", "kind", "summary", "annotation"):
        if "TODO" in str(getattr(entry, field)):
            add((field,), f"{field} still holds a TODO from the scaffold", f"write the {field} (see CONTRIBUTING.md)")
    for message in _date_problems(entry, doc, today):
        add(("date",), message, "give the year (and month) the work first appeared in public")
    for index, key in enumerate(entry.bib):
        if key not in records:
            add(("bib", index), f"bib key '{key}' has no record in bib/*.bib",
                "add the BibTeX record, or fix the key (keys are case-sensitive)")
    main = records.get(entry.bib[0])
    if main is not None and entry.date.year > main.year:
        add(("date",), f"date {entry.date.label} is after its record's year {main.year}",
            "the entry's date is the first public appearance, which cannot be later than the publication")
    for index, quote in enumerate(entry.quotes):
        if quote.source not in records:
            add(("quotes", index, "source"), f"quote source '{shown(quote.source)}' has no record in bib/*.bib",
                "add the record or fix the key")
    seen: set[tuple[str, str]] = set()
    for index, relation in enumerate(entry.relations):
        where = ("relations", index)
        if relation.target == entry.id:
            add(where, f"relation '{relation.type}' points at the entry itself", "point it at another entry")
            continue
        if (relation.type, relation.target) in seen:
            add(where, f"relation '{relation.type}' to '{shown(relation.target)}' is listed twice", "remove one of them")
        seen.add((relation.type, relation.target))
        target = entries.get(relation.target)
        if target is None and relation.target in invalid_ids:
            pass  # its own file's problems are reported; the relation may well be right
        elif target is None:
            add(where + ("target",), f"relation target '{shown(relation.target)}' is not an entry id",
                "use the id of an existing entry (its file name without .yaml)")
        elif _earlier(entry.date, target.date):
            message, fix = _backwards_in_time(entry, relation.type, target)
            add(where, message, fix)
        if relation.source and relation.source.bib and relation.source.bib not in records:
            add(where + ("source", "bib"), f"evidence key '{shown(relation.source.bib)}' has no record in bib/*.bib",
                "add the record or fix the key")
    for slug in entry.runnable:
        if not page_exists(docs_dir, slug):
            add(("runnable",), f"runnable page '{slug}' does not exist",
                f"add docs/mechanisms/{slug}.py, or use the slug of an existing mechanism page")
    return problems


_VERBS = {"cites": "cite", "influenced": "have been influenced by", "extends": "extend", "disputes": "dispute",
          "independent": "be listed as independent of", "equivalent": "be listed as equivalent to"}


def _backwards_in_time(entry: Entry, kind: str, target: Entry) -> tuple[str, str]:
    """Every relation points back in time (timeline/schema.json says why for each type)."""
    message = (f"{entry.id} ({entry.date.label}) cannot {_VERBS[kind]} {target.id} ({target.date.label}), "
               "which appeared later")
    if kind in ("independent", "equivalent"):
        fix = (f"'{kind}' holds both ways and is written in the later work's file: move this relation to "
               f"timeline/{target.id}.yaml with target: {entry.id}")
    elif kind == "cites":
        fix = (f"check both dates; if {target.id} cites this work, write the relation in timeline/{target.id}.yaml, "
               "or use 'independent' with a source")
    else:
        reverse = {"influenced": f"this work influenced {target.id}", "extends": f"{target.id} extends this work",
                   "disputes": f"{target.id} disputes this work"}[kind]
        fix = f"check both dates; if {reverse}, write '{kind}' in timeline/{target.id}.yaml with target: {entry.id}"
    return message, fix


def _earlier(a: EntryDate, b: EntryDate) -> bool:
    if a.year != b.year:
        return a.year < b.year
    return a.month is not None and b.month is not None and a.month < b.month


def check(paths: Paths, today: datetime.date | None = None,
          citations: bool = False) -> tuple[KnowledgeBase | None, list[Problem]]:
    """Everything wrong with the data, at once; the knowledge base only when nothing is. Its
    records carry their formatted citations and people only with `citations` (the build's)."""
    today = today or datetime.date.today()
    if citations:  # formatting is parallel itself: it gets the cores to itself
        records, problems = load_bibliography(paths.bib, citations)
        parsed, entry_problems, _ = _parse_entry_files(paths.timeline, lambda: None)
    else:  # the bibliography's parse is serial: it runs beside the entries' workers
        parsed, entry_problems, (records, problems) = _parse_entry_files(
            paths.timeline, lambda: load_bibliography(paths.bib, citations))
    problems += entry_problems

    valid: list[tuple[Entry, _Parsed]] = []
    first_file: dict[str, _Parsed] = {}
    for item in parsed:
        entry_id = item.doc.data.get("id")
        if isinstance(entry_id, str):
            if entry_id in first_file:
                problems.append(Problem(item.path, item.doc.line_of(("id",)),
                                        f"duplicate entry id '{shown(entry_id)}' (also in {first_file[entry_id].path})",
                                        "every entry needs its own id; rename one of them"))
            first_file.setdefault(entry_id, item)
        if item.schema_valid:
            valid.append((_entry_from(item.doc.data, item.doc, item.path), item))

    by_id = {entry.id: entry for entry, _ in valid}
    invalid_ids = set(first_file) - set(by_id)
    for entry, item in valid:
        problems += _check_entry(entry, item.doc, item.stem, records, by_id, invalid_ids, paths.docs, today)
    claims, claim_problems = load_claims(paths.timeline / LEDGERS, set(records), set(first_file), paths.docs)
    problems += claim_problems
    if problems:
        return None, sorted(set(problems))
    entries = dict(sorted(((e.id, e) for e, _ in valid), key=lambda kv: (kv[1].date.sort_key, kv[0])))
    return KnowledgeBase(entries=entries, records=records, claims=claims), []


def ignored_files(paths: Paths) -> list[Problem]:
    """Files in the data folders that are neither read nor refused (editor backups, OS clutter),
    to be named in the report so that nothing is dropped without a word."""
    found = [entry_inventory(paths.timeline), ledger_inventory(paths.timeline / LEDGERS), bib_inventory(paths.bib)]
    return sorted(note for inventory_ in found for note in inventory_.notes)


def load_knowledge_base(paths: Paths) -> KnowledgeBase:
    """The validated knowledge base with its graph; raises InvalidData with every problem."""
    kb, problems = check(paths, citations=True)
    if problems:
        raise InvalidData(problems)
    kb.graph = build_graph(kb)
    return kb
