"""Figures generated at build time from the data and the tested modules, never drawn by hand.

A hand-written page asks for one with a marker on a line of its own, at a paragraph boundary:

    <!-- atlas:figure NAME -->

and the build (scripts/mkdocs_hooks.py, on_page_markdown) puts the figure there: an inline SVG
with its alt text and caption. `thread-timeline` draws the thread of the essay it is in, or the
one named after it (`<!-- atlas:figure thread-timeline vision -->`). The figures drawn by running
modules import torch; they are cached by their inputs (scripts/figures/cache.py), so a rebuild
that changed none of them imports nothing."""
from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass
from pathlib import Path

from scripts.figures.cache import cached_diagram
from scripts.figures.diagram import Diagram, render
from scripts.model import KnowledgeBase

MARKER = re.compile(r"<!-- atlas:figure(?:\s+([\w-]+))?(?:\s+([\w-]+))?\s*-->")

# name → (module in scripts/figures/, function): each function takes no argument and returns a Diagram.
FROM_MODULES = {
    "alignment-matrix": ("alignment", "alignment_matrix"),
    "attention-masks": ("masks", "attention_masks"),
    "sparse-masks": ("masks", "sparse_masks"),
    "cache-masks": ("masks", "cache_masks"),
    "flash-tiles": ("flash_tiles", "flash_tiles"),
    "fast-weights-linear-attention": ("fast_weights", "fast_weights_figure"),
    "transformer-block": ("transformer_block", "transformer_block_figure"),
}
THREAD_TIMELINE = "thread-timeline"
NAMES = (*FROM_MODULES, THREAD_TIMELINE)


class UnknownFigure(ValueError):
    pass


@dataclass(frozen=True)
class PageContext:
    kb: KnowledgeBase
    source: str      # the page's source path, for messages: docs/essays/vision.md
    url: str         # the page's URL from the site root: essays/vision/

    @property
    def root(self) -> str:
        """The relative path from the page to the site root, ending in "/" (or "")."""
        folder = self.url if self.url.endswith("/") or not self.url else posixpath.dirname(self.url)
        up = posixpath.relpath(".", folder or ".")
        return "" if up == "." else up + "/"

    @property
    def thread(self) -> str:
        return Path(self.source).stem


def diagram(name: str, argument: str | None, context: PageContext) -> Diagram:
    if name == THREAD_TIMELINE:
        from scripts.figures.thread_timeline import thread_timeline
        thread = argument or context.thread
        if not any(entry.thread == thread for entry in context.kb.entries.values()):
            raise UnknownFigure(f"{context.source}: figure thread-timeline has no thread {thread!r} — "
                                "name a thread after it, or put it in an essay named after its thread")
        return thread_timeline(context.kb, thread)
    if name not in FROM_MODULES:
        raise UnknownFigure(f"{context.source}: unknown figure {name!r} — known figures: {', '.join(NAMES)}")
    return cached_diagram(name, *FROM_MODULES[name])


def fill_figure_markers(markdown: str, context: PageContext) -> str:
    """Every figure marker replaced by its figure; all unknown figures named at once."""
    problems: list[str] = []

    def figure(match: re.Match) -> str:
        try:
            return render(diagram(match.group(1) or "", match.group(2), context), context.root)
        except UnknownFigure as error:
            problems.append(str(error))
            return ""

    filled = MARKER.sub(figure, markdown)
    if problems:
        raise UnknownFigure("\n".join(problems))
    return filled
