"""Tables wrapped and styled at build time, not by Material's script after the page has loaded.

Material styles a Markdown table through `table:not([class])` and, on load, moves each such table
into a scroll container (`.md-typeset__scrollwrap > .md-typeset__table`). Moving a table restyles
everything around it: on a mechanism page whose tables hold typeset math, that was most of a
second of blocking time on a phone (Lighthouse). So the build writes the containers itself and
gives each table a class, which Material's script passes over; the class gets Material's own
table rules, copied from the installed theme's stylesheet at build time, so the two cannot drift."""
from __future__ import annotations

import functools
import re
from pathlib import Path

import material
import tinycss2

TABLE_CLASS = "atlas-table"
MATERIAL_SELECTOR = "table:not([class])"
STYLESHEET_URI = "assets/stylesheets/tables.css"
# A Markdown table is a bare <table>; ones with attributes (a notebook's DataFrame) are not Material's.
_BARE_TABLE = re.compile(r"<table>(?P<body>(?:(?!<table\b).)*?)</table>", re.S)


def wrapped_tables(html: str) -> str:
    """Each bare table in its scroll container, as Material's script would put it, with the class."""
    if "<table>" not in html:
        return html
    return _BARE_TABLE.sub(
        lambda match: (f'<div class="md-typeset__scrollwrap"><div class="md-typeset__table">'
                       f'<table class="{TABLE_CLASS}">{match.group("body")}</table></div></div>'), html)


def mirrored_table_rules(material_css: str) -> str:
    """Every rule of Material's stylesheet that styles `table:not([class])`, for `table.atlas-table`
    instead (inside the same @media blocks)."""
    return "".join(_mirrored(tinycss2.parse_stylesheet(material_css, skip_comments=True, skip_whitespace=True)))


def _mirrored(rules) -> list[str]:
    out: list[str] = []
    for rule in rules:
        if rule.type == "qualified-rule":
            selectors = tinycss2.serialize(rule.prelude)
            if MATERIAL_SELECTOR in selectors:
                kept = [s.strip().replace(MATERIAL_SELECTOR, f"table.{TABLE_CLASS}")
                        for s in selectors.split(",") if MATERIAL_SELECTOR in s]
                out.append(f"{','.join(kept)}{{{tinycss2.serialize(rule.content).strip()}}}")
        elif rule.type == "at-rule" and rule.lower_at_keyword == "media" and rule.content is not None:
            inner = _mirrored(tinycss2.parse_rule_list(rule.content, skip_comments=True, skip_whitespace=True))
            if inner:
                out.append(f"@media {tinycss2.serialize(rule.prelude).strip()}{{{''.join(inner)}}}")
    return out


@functools.cache
def table_stylesheet() -> str:
    """The mirrored rules of the installed Material, as a stylesheet."""
    sheets = sorted((Path(material.__file__).parent / "templates" / "assets" / "stylesheets").glob("main.*.min.css"))
    if len(sheets) != 1:
        raise RuntimeError(f"expected one Material main stylesheet, found {[s.name for s in sheets]}")
    rules = mirrored_table_rules(sheets[0].read_text(encoding="utf-8"))
    if not rules:
        raise RuntimeError(f"Material's stylesheet no longer styles {MATERIAL_SELECTOR}: update scripts/table_html.py")
    return ("/* Material's rules for Markdown tables, for the tables the build wraps itself "
            "(scripts/table_html.py). Generated at build time from the installed theme. */\n" + rules + "\n")
