"""The home page's generated part: the eras at a glance, each with its best-connected works."""
from __future__ import annotations

from scripts.eras import ERAS
from scripts.graph import importance
from scripts.model import KnowledgeBase
from scripts.text import escape_html


def render_eras(kb: KnowledgeBase) -> str:
    degree = importance(kb.graph)
    cards = []
    for era in ERAS:
        members = [e for e in kb.entries.values() if era.start <= e.date.year <= era.end]
        if not members:
            continue
        first, last = members[0].date.year, members[-1].date.year
        # The four best-connected works of the era, shown in date order.
        top = sorted(sorted(members, key=lambda e: (-degree[e.id], e.date.sort_key))[:4], key=lambda e: (e.date.sort_key, e.id))
        links = "".join(f'<li><a href="entries/{e.id}/">{escape_html(e.title)}</a> ({e.date.year})</li>' for e in top)
        cards.append(f'<li class="atlas-era"><p class="atlas-era-years">{first}–{last} · {len(members)} work{"s" if len(members) != 1 else ""}</p>'
                     f'<p class="atlas-era-name"><strong>{escape_html(era.name)}</strong></p>'
                     f'<p>{escape_html(era.blurb)}</p><ul>{links}</ul></li>')
    return f'<ul class="atlas-eras">{"".join(cards)}</ul>'
