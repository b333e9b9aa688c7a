"""A claims ledger page: each claim, who made it and where, the evidence for and against, the verdict."""
from __future__ import annotations

from scripts.model import KnowledgeBase
from scripts.pages.builder import GeneratedPage, PageBuilder
from scripts.pages.common import short_authors
from scripts.text import escape_html, escape_markdown, render_untrusted_markdown

VERDICT_LABEL = {"supported": "Supported", "refuted": "Refuted", "unresolved": "Unresolved"}


def _source(kb: KnowledgeBase, source: dict) -> str:
    parts = []
    if "bib" in source:
        record = kb.records[source["bib"]]
        label = f"{short_authors(record.people)} {record.year}"
        parts.append(f'<a href="../bibliography/#{escape_html(record.key)}" title="{escape_html(record.citation_text)}">'
                     f'{escape_html(label)}</a>')
    if "locator" in source:
        parts.append(escape_html(source["locator"]))
    if "note" in source:
        parts.append(escape_html(source["note"]))
    return ", ".join(parts)


def render_claims_page(kb: KnowledgeBase, ledger: dict) -> GeneratedPage:
    page = PageBuilder(escape_markdown(ledger["title"]), meta={"hide": ["navigation"], "description": escape_html(ledger["title"] + ": each claim, who made it, the evidence for and against, and the verdict.")})
    if ledger.get("introduction"):
        page.html(render_untrusted_markdown(ledger["introduction"]))
    for claim in ledger["claims"]:
        page.heading(2, f"{escape_markdown(claim['claim'])} {{ #{claim['id']} }}")
        rows = "".join(
            f'<li class="atlas-evidence-{e["stance"]}"><strong>{"For" if e["stance"] == "for" else "Against"}:</strong> '
            f'{escape_html(e["text"])} <span class="atlas-locator">({_source(kb, e["source"])})</span></li>'
            for e in claim["evidence"])
        entries = ", ".join(f'<a href="../entries/{i}/">{escape_html(kb.entries[i].title)}</a>' for i in claim.get("entries", []))
        page.html(
            f'<p class="atlas-verdict atlas-verdict-{claim["verdict"]}">{VERDICT_LABEL[claim["verdict"]]}</p>'
            f'<p><strong>Claimed by</strong> {escape_html(claim["claimant"])}, in {_source(kb, claim["made_in"])}.</p>'
            f'<ul class="atlas-evidence">{rows}</ul>'
            f'<p><strong>Verdict.</strong> {escape_html(claim["reasoning"])}</p>'
            + (f'<p class="atlas-claim-entries">Entries: {entries}</p>' if entries else ""))
    return page.build()


def _nav_pages(nav: list) -> set[str]:
    found = set()
    for item in nav:
        value = next(iter(item.values())) if isinstance(item, dict) else item
        found |= _nav_pages(value) if isinstance(value, list) else {value}
    return found


def nav_with_every_ledger(nav: list, ledgers: list[dict]) -> list:
    """The nav with a top-level item for each ledger it does not name yet, after the ones it does
    (or at the end): a second ledger file becomes a page a reader can reach, not an orphan that
    `mkdocs build --strict` refuses."""
    listed = _nav_pages(nav)
    # The theme prints nav titles unescaped, and a ledger's title is a contributor's text.
    missing = [{escape_html(ledger["title"]): f"{ledger['slug']}.md"} for ledger in ledgers
               if f"{ledger['slug']}.md" not in listed]
    slugs = {f"{ledger['slug']}.md" for ledger in ledgers}
    positions = [i for i, item in enumerate(nav) if _nav_pages([item]) & slugs]
    at = positions[-1] + 1 if positions else len(nav)
    return nav[:at] + missing + nav[at:]
