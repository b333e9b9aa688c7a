"""The Mechanisms index: every runnable mechanism page, with the timeline entries it implements."""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape

from scripts.mechanisms import module_exists, module_name, notebook_sources
from scripts.model import Entry, KnowledgeBase
from scripts.pages.common import RELATION_OUT, thread_label, threads
from scripts.pages.builder import GeneratedPage, PageBuilder
from scripts.text import escape_html

_TEMPLATES = Environment(loader=FileSystemLoader(Path(__file__).resolve().parent.parent / "templates"),
                         autoescape=select_autoescape(["html"]))

_TITLE = re.compile(r"^# # (.+)$", re.M)


def mechanism_sources(docs_dir: Path) -> dict[str, str]:
    """slug → title (the notebook's first heading) for docs/mechanisms/<slug>.py."""
    found = {}
    for path in notebook_sources(docs_dir):
        match = _TITLE.search(path.read_text(encoding="utf-8"))
        found[path.stem] = match.group(1).strip() if match else path.stem
    return found


def implementing(kb: KnowledgeBase, slug: str) -> list[Entry]:
    """The entries whose `runnable` names this page, oldest first."""
    return sorted((e for e in kb.entries.values() if slug in e.runnable), key=lambda e: (e.date.sort_key, e.id))


def mechanism_groups(kb: KnowledgeBase, slugs: list[str]) -> list[tuple[str | None, list[str]]]:
    """The mechanism pages grouped by the thread of the earliest work each implements, threads in
    the schema's order and pages by that work's date (then its own order); pages that implement no entry (comparisons,
    benchmarks, reproductions) come last, under None."""
    earliest = {slug: next(iter(implementing(kb, slug)), None) for slug in slugs}
    groups = []
    for thread, _, _ in threads():
        members = sorted((s for s in slugs if earliest[s] and earliest[s].thread == thread),
                         key=lambda s: (earliest[s].date.sort_key, earliest[s].runnable.index(s), s))
        if members:
            groups.append((thread, members))
    rest = [s for s in slugs if earliest[s] is None]
    return groups + ([(None, rest)] if rest else [])


def render_mechanisms_page(kb: KnowledgeBase, docs_dir: Path, titles: dict[str, str]) -> GeneratedPage:
    page = PageBuilder("Mechanisms", meta={"description": f"{len(titles)} attention mechanisms as short, tested PyTorch modules, each run when the site is built."})
    page.markdown("Each mechanism is a short PyTorch module in `runnable/`, tested on CPU and GPU against an "
                  "independent reference. Its page shows the module's own source and a demo run when the site "
                  "was built; its Run it box opens it in Colab, downloads a self-contained notebook, or gives the "
                  "terminal command (`python -m runnable.<module> --device cpu`); see [Run it yourself](../run-it-yourself.md). They are grouped by the thread of the earliest work they implement.")
    if not titles:
        page.html("<p>No mechanisms yet.</p>")
    for thread, slugs in mechanism_groups(kb, list(titles)):
        rows = []
        for slug in slugs:
            works = ", ".join(f'<a href="../entries/{e.id}/">{escape_html(e.title)}</a> ({e.date.year})'
                              for e in implementing(kb, slug))
            module = f" <code>runnable/{module_name(slug)}.py</code>" if module_exists(docs_dir, slug) else ""
            rows.append(f'<li><a href="{slug}/">{escape_html(titles[slug])}</a>'
                        f'{" — implements " + works if works else ""}{module}</li>')
        page.heading(2, thread_label(thread) if thread else "Across the atlas")
        page.html(f'<ul class="atlas-mechanisms">{"".join(rows)}</ul>')
    return page.build()


def notebook_header_html(kb: KnowledgeBase, slug: str, has_module: bool, essay: str | None = None) -> str:
    """The line under a mechanism page's title: the timeline entries it implements (from their
    `runnable` fields, so the link back is generated, never written by hand), its thread's essay,
    and the Notation page, whose symbols every page shares. The ways to run it follow in the
    "Run it" box (scripts/pages/run_it.py)."""
    entries = implementing(kb, slug)
    return _TEMPLATES.get_template("mechanism_header.html").render(
        entries=entries, essay=essay,
        thread=thread_label(entries[0].thread).lower() if entries else None)


@dataclass(frozen=True)
class Kin:
    """Another mechanism page related to this one through the timeline: `citing` has a relation
    of `type` to `cited`, and `slug` is the page that implements the entry on the other side."""
    slug: str
    direction: str  # "earlier": this page's work points back to it; "later": it points back here;
    #                 "same": the same work; "thread": no relation links them, but their works share a thread
    citing: Entry
    type: str
    cited: Entry


def mechanism_family(kb: KnowledgeBase, slug: str) -> list[Kin]:
    """The mechanism pages related to `slug` by the relations between the entries they implement,
    one Kin per (page, relation) — generated from the data, never written by hand."""
    mine = implementing(kb, slug)
    kin: list[Kin] = []
    for entry in mine:
        kin += [Kin(other, "same", entry, "", entry) for other in entry.runnable if other != slug]
        for relation in entry.relations:
            target = kb.entries.get(relation.target)
            if target is not None:
                kin += [Kin(other, "earlier", entry, relation.type, target) for other in target.runnable if other != slug]
        for source, _, kind in kb.graph.in_edges(entry.id, keys=True):
            citing = kb.entries[source]
            kin += [Kin(other, "later", citing, kind, entry) for other in citing.runnable if other != slug]
    if not any(k.direction != "same" for k in kin):
        # No relation reaches another page: fall back on the pages of the same thread.
        for entry in mine:
            kin += [Kin(other, "thread", e, "", entry) for e in kb.entries.values()
                    if e.thread == entry.thread and e.id != entry.id for other in e.runnable if other != slug]
    unique = list(dict.fromkeys(kin))
    return sorted(unique, key=lambda k: (k.direction != "same", k.direction, k.citing.date.sort_key, k.slug))


def family_html(kb: KnowledgeBase, slug: str, titles: dict[str, str]) -> str:
    """The "Family" section at the foot of a mechanism page: each related mechanism page once,
    under the closest of its links (same work, then earlier, later, same thread), with every
    link between the two works that relates them, each naming its relation(s)."""
    def entry_link(entry: Entry) -> str:
        return f'<a href="../../entries/{entry.id}/">{escape_html(entry.title)}</a> ({entry.date.year})'

    # page → (the group it is listed under, {(direction, citing, cited): relation types})
    kin: dict[str, tuple[str, dict[tuple[str, str, str], list[str]]]] = {}
    for k in mechanism_family(kb, slug):  # sorted: same work, earlier, later, thread
        _, links = kin.setdefault(k.slug, (k.direction, {}))
        types = links.setdefault((k.direction, k.citing.id, k.cited.id), [])
        if k.type not in types:
            types.append(k.type)
    groups: dict[str, list[str]] = {"same": [], "earlier": [], "later": [], "thread": []}
    for other, (group, links) in kin.items():
        reasons = []
        for (direction, citing, cited), types in links.items():
            citing, cited = kb.entries[citing], kb.entries[cited]
            reasons.append({"same": f"also from {entry_link(citing)}",
                            "thread": f"{entry_link(citing)}, in the same thread as {entry_link(cited)}"}.get(direction)
                           or f"{entry_link(citing)} {', '.join(RELATION_OUT[t] for t in types)} {entry_link(cited)}")
        groups[group].append(f'<li><a href="../{other}/">{escape_html(titles.get(other, other))}</a> — '
                             f'{"; ".join(reasons)}</li>')
    headings = {"same": "From the same work", "earlier": "What it builds on",
                "later": "What builds on it", "thread": "In the same thread (no recorded relation yet)"}
    body = "".join(f'<h3>{headings[d]}</h3><ul class="atlas-family">{"".join(items)}</ul>'
                   for d, items in groups.items() if items)
    if not body:
        return ""
    return ('<h2 id="family">Family<a class="headerlink" href="#family" title="Permanent link">&para;</a></h2>'
            '<p class="atlas-family-note">Other runnable mechanisms linked to this one by the timeline\'s '
            'relations, generated from the entries each page implements; each is listed once.</p>' + body)
