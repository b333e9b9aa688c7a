"""The in-memory model every page is generated from: entries, bibliographic records, relations."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


@dataclass(frozen=True, order=True)
class EntryDate:
    year: int
    month: int | None = None

    @property
    def sort_key(self) -> tuple[int, int]:
        return (self.year, self.month or 0)

    @property
    def label(self) -> str:
        return f"{MONTHS[self.month - 1]} {self.year}" if self.month else str(self.year)

    @classmethod
    def parse(cls, value: Any) -> EntryDate:
        if isinstance(value, int):
            return cls(value)
        year, month = str(value).split("-")
        return cls(int(year), int(month))


@dataclass(frozen=True)
class Evidence:
    bib: str | None = None
    locator: str | None = None
    note: str | None = None


@dataclass(frozen=True)
class Relation:
    type: str
    target: str
    source: Evidence | None
    line: int


@dataclass(frozen=True)
class Quote:
    text: str
    source: str
    locator: str


@dataclass(frozen=True)
class Entry:
    id: str
    date: EntryDate
    bib: tuple[str, ...]
    title: str
    thread: str
    kind: str
    summary: str
    annotation: str
    path: str
    quotes: tuple[Quote, ...] = ()
    relations: tuple[Relation, ...] = ()
    runnable: tuple[str, ...] = ()  # mechanism page slugs, in the order the entry lists them
    people: tuple[str, ...] = ()


@dataclass(frozen=True)
class Person:
    """An author as BibTeX gives them: `last` is the sort name, `display` the full name."""
    last: str
    display: str

    @property
    def slug(self) -> str:
        from scripts.text import slugify
        return slugify(self.display)


@dataclass(frozen=True)
class BibRecord:
    key: str
    type: str
    fields: dict[str, str]
    authors: tuple[Person, ...]
    editors: tuple[Person, ...]
    path: str
    line: int
    source: Any = field(repr=False, compare=False)  # the pybtex Entry, re-serialised on demand
    citation_html: str   # the record formatted by pybtex's plain style
    citation_text: str

    @property
    def year(self) -> int:
        return int(self.fields["year"])

    @property
    def people(self) -> tuple[Person, ...]:
        return self.authors or self.editors


@dataclass
class KnowledgeBase:
    entries: dict[str, Entry]          # ordered by date, then id
    records: dict[str, BibRecord]      # ordered by key
    graph: Any = field(default=None, repr=False)  # networkx.MultiDiGraph, built by scripts.graph
    claims: list = field(default_factory=list)     # ledgers from timeline/claims/*.yaml
