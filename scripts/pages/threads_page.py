"""Threads: the fixed list from the schema, with counts and a link to the filtered timeline."""
from __future__ import annotations

from collections import Counter

from scripts.model import KnowledgeBase
from scripts.pages.common import thread_chip, thread_label, threads
from scripts.text import escape_html


def render_threads_page(kb: KnowledgeBase) -> str:
    counts = Counter(e.thread for e in kb.entries.values())
    lines = ["# Threads", "",
             "Every entry belongs to one thread: a strand of the history that can be followed on its own. "
             "The list is fixed by `timeline/schema.json`; propose a new thread in an issue.", "",
             "| Thread | Slug | What it covers | Entries |", "|---|---|---|---|"]
    for slug, description, _ in threads():
        lines.append(f"| {thread_chip(slug, '../timeline/?thread=' + slug)} | `{slug}` | {escape_html(description)} | {counts.get(slug, 0)} |")
    return "\n".join(lines)
