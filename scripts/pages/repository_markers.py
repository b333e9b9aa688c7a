"""Markers in hand-written pages whose text comes from `repo_url` and CITATION.cff, so no address
or citation is written by hand: `<!-- atlas:clone -->`, `<!-- atlas:pip-install -->`,
`<!-- atlas:repo-url -->`, `<!-- atlas:run-table -->` and `<!-- atlas:cite -->`."""
from __future__ import annotations

from pathlib import Path

from scripts.citation import bibtex, load_citation
from scripts.mechanisms import module_exists, module_name
from scripts.repository import Repository


def run_table(docs_dir: Path, titles: dict[str, str]) -> str:
    """The rows (under a header written in the page) of one line per mechanism page: its terminal command (where it has a module) and its notebook."""
    rows = []
    for slug, title in sorted(titles.items(), key=lambda item: item[1].lower()):
        command = f"`python -m runnable.{module_name(slug)}`" if module_exists(docs_dir, slug) else "(draws saved results)"
        rows.append(f"| [{title}](mechanisms/{slug}.ipynb) | {command} | [{slug}.ipynb](notebooks/{slug}.ipynb) |")
    return "\n".join(rows)


def fill_repository_markers(markdown: str, repository: Repository, docs_dir: Path, titles: dict[str, str]) -> str:
    replacements = {
        "<!-- atlas:repo-url -->": lambda: repository.url,
        "<!-- atlas:clone -->": lambda: f"{repository.clone}\ncd {repository.slug.rsplit('/', 1)[-1]}",
        "<!-- atlas:pip-install -->": lambda: repository.pip_install,
        "<!-- atlas:run-table -->": lambda: run_table(docs_dir, titles),
        "<!-- atlas:cite -->": lambda: "```bibtex\n" + bibtex(load_citation()) + "\n```",
    }
    for marker, render in replacements.items():
        if marker in markdown:
            markdown = markdown.replace(marker, render())
    return markdown
