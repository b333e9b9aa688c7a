"""The figures' one drawing vocabulary: a Diagram is a list of SVG shapes, made by pure functions
from data and rendered inline by one autoescaped template (scripts/templates/diagram.html).

Inline, not <img>: the ink is `currentColor` and the accents are Material's colour variables
(classes in docs/assets/stylesheets/figures.css), so one SVG reads on the light and the dark
scheme alike. Numbers are written with fixed precision, so the same data gives the same bytes."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape

_TEMPLATES = Environment(loader=FileSystemLoader(Path(__file__).resolve().parent.parent / "templates"),
                         autoescape=select_autoescape(["html"]))
_TAGS = {"rect", "text", "line", "circle", "path"}


def number(value: float) -> str:
    """A coordinate or opacity as SVG text: two decimals at most, no trailing zeros."""
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


@dataclass(frozen=True)
class Shape:
    tag: str
    attributes: tuple[tuple[str, str], ...]
    text: str = ""
    title: str = ""     # a tooltip (SVG <title>), e.g. a cell's exact value
    href: str = ""      # wraps the shape in a link

    def get(self, key: str) -> str | None:
        return dict(self.attributes).get(key)


def shape(tag: str, *, text: str = "", title: str = "", href: str = "", **attributes) -> Shape:
    """attributes by keyword (class_ for class, underscores for dashes); floats written by number()."""
    if tag not in _TAGS:
        raise ValueError(f"unknown SVG shape {tag!r}")
    written = tuple((key.rstrip("_").replace("_", "-"), number(value) if isinstance(value, float) else str(value))
                    for key, value in attributes.items())
    return Shape(tag, written, text, title, href)


@dataclass
class Diagram:
    name: str          # the marker's name: <!-- atlas:figure NAME -->
    width: int
    height: int
    alt: str           # what the figure shows, for a reader who cannot see it
    caption: str
    shapes: list[Shape] = field(default_factory=list)
    source_href: str = ""    # the page the figure's data comes from, relative to the site root
    source_label: str = ""
    min_width: int = 0       # below this width the figure scrolls instead of shrinking its text
    narrow: "Diagram | None" = None   # a layout for a phone's column, shown there instead (figures.css)

    def add(self, tag: str, **kwargs) -> Shape:
        made = shape(tag, **kwargs)
        self.shapes.append(made)
        return made

    def filled(self, css_class: str) -> list[Shape]:
        """The shapes drawn with this class (what the tests compare with the data)."""
        return [s for s in self.shapes if css_class in (s.get("class") or "").split()]


def render(diagram: Diagram, root: str = "") -> str:
    """The figure's HTML; `root` is the relative path from the page to the site root ("../../")."""
    if not diagram.alt.strip():
        raise ValueError(f"figure {diagram.name} has no alt text")
    layouts = [("wide" if diagram.narrow else "", diagram)] + ([("narrow", diagram.narrow)] if diagram.narrow else [])
    canvases = [{"layout": layout, "width": drawn.width, "height": drawn.height, "min_width": drawn.min_width,
                 "shapes": [s if not s.href or "://" in s.href else Shape(s.tag, s.attributes, s.text, s.title, root + s.href)
                            for s in drawn.shapes]}
                for layout, drawn in layouts]
    return _TEMPLATES.get_template("diagram.html").render(
        name=diagram.name, alt=diagram.alt.strip(), caption=diagram.caption, canvases=canvases,
        # An image's parts are presentational, so a figure with links is a labelled group instead.
        role="group" if any(s.href for s in diagram.shapes) else "img",
        source_href=root + diagram.source_href if diagram.source_href else "", source_label=diagram.source_label)


def grid(diagram: Diagram, x: float, y: float, values, cell: float, *, title: str = "",
         row_labels=(), column_labels=(), outlined=(), signed: bool = False, mask: bool = False) -> None:
    """A matrix as cells at (x, y): a boolean mask as filled and empty cells (classes
    atlas-cell--on / atlas-cell--off), numbers as ink of opacity |value| / max (signed: negative
    values in the second colour). `outlined` (row, column) cells get a frame. Exact values are
    the cells' tooltips."""
    rows = [list(row) for row in values]
    largest = max((abs(float(v)) for row in rows for v in row), default=0.0) or 1.0
    if title:
        diagram.add("text", x=x, y=y - 6.0, class_="atlas-diagram__title", text=title)
    for i, row in enumerate(rows):
        for j, value in enumerate(row):
            left, top = x + j * cell, y + i * cell
            if mask:
                # (No tooltip per cell: a mask has hundreds, and the alt text says what they show.)
                diagram.add("rect", x=left, y=top, width=cell, height=cell,
                            class_="atlas-cell atlas-cell--on" if value else "atlas-cell atlas-cell--off")
            else:
                kind = "atlas-cell--negative" if signed and float(value) < 0 else "atlas-cell--value"
                diagram.add("rect", x=left, y=top, width=cell, height=cell, class_=f"atlas-cell {kind}",
                            fill_opacity=abs(float(value)) / largest, title=f"{float(value):.4f}")
    for i, j in outlined:
        diagram.add("rect", x=x + j * cell, y=y + i * cell, width=cell, height=cell, class_="atlas-cell--outlined")
    for i, label in enumerate(row_labels):
        diagram.add("text", x=x - 4.0, y=y + (i + 0.5) * cell, class_="atlas-diagram__label atlas-diagram__label--row",
                    text=str(label))
    for j, label in enumerate(column_labels):
        diagram.add("text", x=x + (j + 0.5) * cell, y=y - 4.0, class_="atlas-diagram__label atlas-diagram__label--column",
                    text=str(label))
