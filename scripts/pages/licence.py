"""The site footer's licence line: code under MIT, the knowledge base and prose under CC BY 4.0,
each linked to its file in the repository (addresses from `repo_url`)."""
from __future__ import annotations

from jinja2 import Environment

from scripts.repository import Repository

_NOTICE = Environment(autoescape=True).from_string(
    'Code (runnable/, scripts/, tests/): <a href="{{ mit }}">MIT licence</a>. '
    'Timeline, annotations and prose: <a href="{{ cc_by }}">CC BY 4.0</a>. '
    '<a href="{{ citation }}">How to cite</a>.')


def licence_notice(repository: Repository) -> str:
    return _NOTICE.render(mit=repository.blob("LICENSE"), cc_by=repository.blob("LICENSE-content"),
                          citation=repository.blob("CITATION.cff"))
