"""People: every author (and editor) in the BibTeX, plus the `people` of entries, with their works."""
from __future__ import annotations

from collections import defaultdict
from itertools import groupby

from scripts.model import KnowledgeBase, Person
from scripts.pages.builder import GeneratedPage, PageBuilder
from scripts.text import escape_html


def people_index(kb: KnowledgeBase) -> dict[Person, list]:
    """Person → the entries they appear in (through any of the entry's records, or its `people`)."""
    index: dict[Person, list] = defaultdict(list)
    for entry in kb.entries.values():
        persons = {p for key in entry.bib for p in kb.records[key].people}
        persons |= {Person(last=name.split()[-1], display=name) for name in entry.people}
        for person in persons:
            index[person].append(entry)
    return dict(sorted(index.items(), key=lambda kv: (kv[0].last.lower(), kv[0].display.lower())))


def render_people_page(kb: KnowledgeBase) -> GeneratedPage:
    index = people_index(kb)
    page = PageBuilder("People", meta={"search": {"exclude": True}, "description": f"The {len(index)} people named in the atlas, by surname, with their works."})
    page.markdown(f"The {len(index)} people named in the atlas's records and entries, by surname.")
    for initial, group in groupby(index.items(), key=lambda kv: kv[0].last[:1].upper()):
        items = "".join(
            f'<li id="{person.slug}"><strong>{escape_html(person.display)}</strong>: '
            + ", ".join(f'<a href="../entries/{e.id}/">{escape_html(e.title)}</a> ({e.date.year})' for e in entries)
            + "</li>" for person, entries in group)
        page.heading(2, escape_html(initial) or "?").html(f'<ul class="atlas-people">{items}</ul>')
    return page.build()
