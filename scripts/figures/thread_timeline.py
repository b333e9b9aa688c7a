"""The timeline of one thread: its works on a year axis, one row each, linked to their pages."""
from __future__ import annotations

from scripts.figures.diagram import Diagram
from scripts.model import KnowledgeBase
from scripts.pages.common import thread_colour, thread_label

WIDTH, ROW, TOP, SIDE = 640, 19, 34, 16
_LONGEST_TITLE = 46  # characters: the row must fit beside its dot on a 640-unit axis


def _short(title: str) -> str:
    return title if len(title) <= _LONGEST_TITLE else title[:_LONGEST_TITLE - 1].rstrip() + "…"


def thread_timeline(kb: KnowledgeBase, thread: str) -> Diagram:
    entries = sorted((e for e in kb.entries.values() if e.thread == thread), key=lambda e: (e.date.sort_key, e.id))
    if not entries:
        raise ValueError(f"thread {thread!r} has no entries")
    first, last = entries[0].date.year, entries[-1].date.year
    span = last + 1 - first

    def x(year: float) -> float:
        return SIDE + (WIDTH - 2 * SIDE) * (year - first) / span   # year: fractional, first ≤ year < last + 1

    label = thread_label(thread).lower()
    years = f"{first}–{last}" if last != first else str(first)
    diagram = Diagram(
        "thread-timeline", WIDTH, TOP + ROW * len(entries) + 8,
        alt=(f"Timeline of the {len(entries)} works in the {label} thread, {years}, one row each, placed by year: "
             + "; ".join(f"{e.date.year} {e.title}" for e in entries) + "."),
        caption=f"The {label} thread in the timeline, {years}: each dot is one work, placed by its date.",
        source_href="timeline/", source_label="All threads on the timeline.", min_width=520)
    step = 10 if span > 30 else 5 if span > 8 else 1
    for year in range(first - first % step + step if first % step else first, last + 1, step):
        diagram.add("line", x1=x(year), x2=x(year), y1=float(TOP - 12), y2=float(TOP + ROW * len(entries)),
                    class_="atlas-diagram__rule")
        diagram.add("text", x=x(year), y=float(TOP - 16), class_="atlas-diagram__label atlas-diagram__label--column",
                    text=str(year))
    colour = thread_colour(thread)
    for row, entry in enumerate(entries):
        # A work dated by its year alone sits mid-year.
        centre_x = x(entry.date.year + ((entry.date.month or 6.5) - 0.5) / 12)
        centre_y = TOP + ROW * row + ROW / 2
        diagram.add("circle", cx=centre_x, cy=centre_y, r=4.5, fill=colour, class_="atlas-diagram__dot",
                    title=f"{entry.date.label}: {entry.title}")
        right_side = centre_x < WIDTH / 2
        diagram.add("text", x=centre_x + (8 if right_side else -8), y=centre_y + 4,
                    class_="atlas-diagram__entry" + ("" if right_side else " atlas-diagram__entry--left"),
                    text=f"{entry.date.year} {_short(entry.title)}", href=f"entries/{entry.id}/")
    return diagram
