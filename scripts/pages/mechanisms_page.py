"""The Mechanisms index: every runnable mechanism page, with the timeline entries it implements."""
from __future__ import annotations

import re
from pathlib import Path

from scripts.mechanisms import module_name, notebook_sources
from scripts.model import KnowledgeBase
from scripts.pages.builder import GeneratedPage, PageBuilder
from scripts.text import escape_html

_TITLE = re.compile(r"^# # (.+)$", re.M)


def mechanism_sources(docs_dir: Path) -> dict[str, str]:
    """slug → title (the notebook's first heading) for docs/mechanisms/<slug>.py."""
    found = {}
    for path in notebook_sources(docs_dir):
        match = _TITLE.search(path.read_text(encoding="utf-8"))
        found[path.stem] = match.group(1).strip() if match else path.stem
    return found


def render_mechanisms_page(kb: KnowledgeBase, docs_dir: Path) -> GeneratedPage:
    page = PageBuilder("Mechanisms")
    page.markdown("Each mechanism is a short PyTorch module in `runnable/`, tested on CPU and GPU against an "
                  "independent reference. Its page shows the module's own source and a demo run when the site "
                  "was built; download the notebook from the page, or run `python -m runnable.<module> --device cpu` "
                  "from a clone.")
    rows = []
    for slug, title in mechanism_sources(docs_dir).items():
        entries = [e for e in kb.entries.values() if e.runnable == slug]
        works = ", ".join(f'<a href="../entries/{e.id}/">{escape_html(e.title)}</a> ({e.date.year})' for e in entries)
        rows.append(f'<li><a href="{slug}/">{escape_html(title)}</a>'
                    f'{" — implements " + works if works else ""} <code>runnable/{module_name(slug)}.py</code></li>')
    page.html(f'<ul class="atlas-mechanisms">{"".join(rows)}</ul>' if rows else "<p>No mechanisms yet.</p>")
    return page.build()


def notebook_header_html(kb: KnowledgeBase, slug: str, has_module: bool) -> str:
    """The lines under a mechanism page's title: the timeline entries it implements (from their
    `runnable` fields, so the link back is generated, never written by hand), the notebook to
    download (mkdocs-jupyter copies it beside the page) and the terminal command."""
    entries = [e for e in kb.entries.values() if e.runnable == slug]
    lines = []
    if entries:
        works = ", ".join(f'<a href="../../entries/{e.id}/">{escape_html(e.title)}</a> ({e.date.year})' for e in entries)
        lines.append(f'<p class="atlas-implements">Implements, from the timeline: {works}.</p>')
    run = (f' · or run <code>python -m runnable.{module_name(slug)} --device cpu</code> from a clone'
           if has_module else "")
    lines.append(f'<p class="atlas-download"><a class="md-button" href="{slug}.ipynb" download>'
                 f'Download the notebook</a>{run}</p>')
    return "".join(lines)
