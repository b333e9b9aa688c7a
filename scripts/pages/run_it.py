"""The "Run it" box under a mechanism page's title: the reader's three ways to run the example
(Colab, the self-contained notebook, the terminal), every address from `repo_url`."""
from __future__ import annotations

from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape

from scripts.mechanisms import module_name
from scripts.repository import Repository, notebook_uri

_TEMPLATES = Environment(loader=FileSystemLoader(Path(__file__).resolve().parent.parent / "templates"),
                         autoescape=select_autoescape(["html"]), keep_trailing_newline=False)


def run_it_html(slug: str, repository: Repository, has_module: bool) -> str:
    """The box for docs/mechanisms/<slug>.py, whose page is at mechanisms/<slug>/."""
    return _TEMPLATES.get_template("run_it.html").render(
        slug=slug, colab_url=repository.colab(slug), download_url=f"../../{notebook_uri(slug)}",
        module=module_name(slug) if has_module else None,
        # The install command on two lines, so that it fits the box on most screens.
        pip_install_lines=repository.pip_install.replace(" install ", " install \\\n  ", 1),
        guide_url="../../run-it-yourself/")
