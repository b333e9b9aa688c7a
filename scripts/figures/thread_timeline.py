"""The timeline of one thread: its works on a year axis, one row each, linked to their pages.

Two layouts of the same rows. The wide one writes each title beside its dot, on the side with
room; a phone's column is too narrow for that without shrinking the text, so the narrow one
squeezes the axis into a band on the left and writes the titles in a column beside it. The page
shows the layout that fits (figures.css)."""
from __future__ import annotations

from scripts.figures.diagram import Diagram
from scripts.model import Entry, KnowledgeBase
from scripts.pages.common import thread_colour, thread_label

ROW, TOP, SIDE = 19, 34, 16
WIDE = 640
_WIDE_TITLE = 46     # characters: the row must fit beside its dot on a 640-unit axis
NARROW, NARROW_AXIS = 356, 70      # a phone's column (358 px on a 390 px phone) and the axis band inside it
_YEAR_GAP = 36      # units between year labels (a year is ~26 wide at 10 px)
_NARROW_TITLE = 32  # characters: with the year in front (~7 px a character at 12 px) it fits right of the band


def _short(title: str, longest: int) -> str:
    return title if len(title) <= longest else title[:longest - 1].rstrip() + "…"


def _draw(entries: list[Entry], thread: str, *, narrow: bool) -> Diagram:
    first, last = entries[0].date.year, entries[-1].date.year
    span = last + 1 - first
    axis_right = NARROW_AXIS if narrow else WIDE - SIDE

    def x(year: float) -> float:
        return SIDE + (axis_right - SIDE) * (year - first) / span   # year: fractional, first ≤ year < last + 1

    label = thread_label(thread).lower()
    years = f"{first}–{last}" if last != first else str(first)
    diagram = Diagram(
        "thread-timeline", NARROW if narrow else WIDE, TOP + ROW * len(entries) + 8,
        alt=(f"Timeline of the {len(entries)} works in the {label} thread, {years}, one row each, placed by year: "
             + "; ".join(f"{e.date.year} {e.title}" for e in entries) + "."),
        caption=f"The {label} thread in the timeline, {years}: each dot is one work, placed by its date.",
        source_href="timeline/", source_label="All threads on the timeline.", min_width=0 if narrow else 520)
    # Year labels about four digits apart at least, so that they never run into each other.
    step = next(s for s in (1, 2, 5, 10, 20, 50, 100) if s * (axis_right - SIDE) / span >= _YEAR_GAP or s == 100)
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
        if narrow:
            diagram.add("text", x=float(NARROW_AXIS + 10), y=centre_y + 4, class_="atlas-diagram__entry",
                        text=f"{entry.date.year} {_short(entry.title, _NARROW_TITLE)}", href=f"entries/{entry.id}/")
            continue
        right_side = centre_x < WIDE / 2
        diagram.add("text", x=centre_x + (8 if right_side else -8), y=centre_y + 4,
                    class_="atlas-diagram__entry" + ("" if right_side else " atlas-diagram__entry--left"),
                    text=f"{entry.date.year} {_short(entry.title, _WIDE_TITLE)}", href=f"entries/{entry.id}/")
    return diagram


def thread_timeline(kb: KnowledgeBase, thread: str) -> Diagram:
    entries = sorted((e for e in kb.entries.values() if e.thread == thread), key=lambda e: (e.date.sort_key, e.id))
    if not entries:
        raise ValueError(f"thread {thread!r} has no entries")
    wide = _draw(entries, thread, narrow=False)
    wide.narrow = _draw(entries, thread, narrow=True)
    return wide
