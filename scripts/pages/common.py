"""What every page needs to say about a work: its authors, venue, links, thread and URL."""
from __future__ import annotations

from functools import lru_cache

from scripts.bibliography import bibtex_source as record_bibtex, latex_to_text  # noqa: F401
from scripts.model import BibRecord, Entry, KnowledgeBase, Person
from scripts.schema_messages import load_schema
from scripts.text import escape_html

# One hue per thread at one middle luminance, so that each has at least 4:1 contrast on both the
# light (#fff) and the dark (Material's slate, #1e2029) background; tests/test_site_quality.py checks it.
_PALETTE = ("#B96C00", "#D149A4", "#009161", "#8C8000", "#3B79F5", "#E7430C",
            "#088C98", "#AD5AD6", "#E93864", "#419019", "#7F7F7F", "#1183D4",
            "#A07560",  # interpretability
            "#7A6FE0")  # inference

RELATION_OUT = {"cites": "cites", "influenced": "influenced by", "independent": "independent of",
                "equivalent": "equivalent to", "extends": "extends", "disputes": "disputes"}
RELATION_IN = {"cites": "cited by", "influenced": "influenced", "independent": "independent of",
               "equivalent": "equivalent to", "extends": "extended by", "disputes": "disputed by"}


@lru_cache(maxsize=None)
def threads() -> tuple[tuple[str, str, str], ...]:
    """(slug, description, colour) for each thread, in the schema's order."""
    spec = load_schema()["properties"]["thread"]
    return tuple((slug, description, _PALETTE[i % len(_PALETTE)])
                 for i, (slug, description) in enumerate(zip(spec["enum"], spec["enumDescriptions"])))


def thread_label(slug: str) -> str:
    return slug.replace("-", " ").capitalize()


def thread_colour(slug: str) -> str:
    return next(colour for name, _, colour in threads() if name == slug)


def main_record(kb: KnowledgeBase, entry: Entry) -> BibRecord:
    return kb.records[entry.bib[0]]


def entry_people(kb: KnowledgeBase, entry: Entry) -> tuple[Person, ...]:
    return main_record(kb, entry).people


def short_authors(people: tuple[Person, ...]) -> str:
    names = [p.last for p in people]
    if len(names) > 3:
        return f"{names[0]} et al."
    return " & ".join(names) if len(names) < 3 else f"{names[0]}, {names[1]} & {names[2]}"


def venue(record: BibRecord) -> str:
    f = record.fields
    for name in ("journal", "booktitle", "howpublished", "school", "institution", "publisher"):
        if f.get(name):
            return latex_to_text(f[name])
    if f.get("eprint") and f.get("archiveprefix", "").lower() == "arxiv":
        return "arXiv"
    return ""


def external_links(record: BibRecord) -> list[tuple[str, str]]:
    """(label, URL) pairs; the validator guarantees DOIs, arXiv ids and URLs are well formed."""
    f, links = record.fields, []
    if f.get("doi"):
        links.append(("DOI", f"https://doi.org/{f['doi'].strip()}"))
    if f.get("eprint") and f.get("archiveprefix", "").lower() == "arxiv":
        links.append(("arXiv", f"https://arxiv.org/abs/{f['eprint'].strip()}"))
    if f.get("url"):
        links.append(("Link", f["url"].strip()))
    return links


def thread_chip(slug: str, href: str | None = None) -> str:
    label = escape_html(thread_label(slug))
    style = f' style="--atlas-thread: {thread_colour(slug)}"'
    if href:
        return f'<a class="atlas-chip" href="{escape_html(href)}"{style}>{label}</a>'
    return f'<span class="atlas-chip"{style}>{label}</span>'
