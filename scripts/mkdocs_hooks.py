"""The thin layer between MkDocs and scripts/: everything here only calls plain functions.

- on_config: load and validate the data; on any problem, abort before site/ is touched.
- on_files: add the generated pages (entry pages outside the nav) and the vendored assets
  (KaTeX from npm, vis-network from pyvis) so the site needs no CDN.
- on_page_content: put the generated pages' HTML fragments in place.
- on_page_markdown: fill the markers of hand-written pages; point "edit" at the entry file.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from mkdocs.exceptions import Abort  # noqa: E402
from mkdocs.plugins import event_priority  # noqa: E402
from mkdocs.structure.files import File, InclusionLevel  # noqa: E402

from scripts.pages.graph_page import VIS_NETWORK_DIR  # noqa: E402
from scripts.pages.home import render_eras  # noqa: E402
from scripts.pages.licence import licence_notice  # noqa: E402
from scripts.pages.mechanisms_page import family_html, mechanism_sources, notebook_header_html  # noqa: E402
from scripts.pages.repository_markers import fill_repository_markers  # noqa: E402
from scripts.pages.run_it import run_it_html  # noqa: E402
from scripts.repository import Repository  # noqa: E402
from scripts.standalone_run import standalone_notebooks  # noqa: E402
from scripts.mechanisms import module_exists, notebook_sources  # noqa: E402
from scripts.notebook_html import RemoteResource, offline_notebook_html  # noqa: E402
from scripts.notebooks import NotebookFailed, execute  # noqa: E402
from scripts.parallel import parallel_map  # noqa: E402
from scripts.problems import InvalidData  # noqa: E402
from scripts.site_pages import generate_pages  # noqa: E402
from scripts.validate import Paths, load_knowledge_base  # noqa: E402

KATEX_DIR = ROOT / "node_modules" / "katex" / "dist"
MARKERS = {"<!-- atlas:eras -->": render_eras}
_state: dict = {}


def data_paths(config) -> Paths:
    """The project's data, unless ATLAS_TIMELINE_DIR / ATLAS_BIB_DIR point elsewhere (tests, benchmarks)."""
    project = Paths.of_project(ROOT)
    return Paths(Path(os.environ.get("ATLAS_TIMELINE_DIR", project.timeline)),
                 Path(os.environ.get("ATLAS_BIB_DIR", project.bib)),
                 Path(config["docs_dir"]))


def on_config(config):
    try:
        _state["kb"] = load_knowledge_base(data_paths(config))
    except InvalidData as error:
        raise Abort(f"\n{error}")
    config["copyright"] = licence_notice(Repository.of_config(config))
    if not (KATEX_DIR / "katex.min.js").exists():
        raise Abort("KaTeX is not installed (node_modules/katex) — run `make setup` (it runs `npm ci`).")
    return config


def _vendored_files() -> list[tuple[str, Path]]:
    files = [(f"assets/vendor/vis-network/{name}", VIS_NETWORK_DIR / name) for name in ("vis-network.min.js",)]
    for path in [KATEX_DIR / "katex.min.js", KATEX_DIR / "katex.min.css",
                 KATEX_DIR / "contrib" / "auto-render.min.js", *sorted((KATEX_DIR / "fonts").glob("*"))]:
        files.append((f"assets/vendor/katex/{path.relative_to(KATEX_DIR).as_posix()}", path))
    return files


def _mechanism_notebooks(config) -> list[tuple[str, Path]]:
    """docs/mechanisms/<slug>.py (jupytext) → (mechanisms/<slug>.ipynb, executed notebook)."""
    sources = notebook_sources(Path(config["docs_dir"]))
    try:
        # Each notebook runs in its own kernel, so those not yet cached run side by side, one per core.
        return [(f"mechanisms/{s.stem}.ipynb", executed) for s, executed in zip(sources, parallel_map(execute, sources, min_items=2))]
    except NotebookFailed as error:
        raise Abort(f"\n{error}")


@event_priority(50)  # before mkdocs-jupyter's on_files, which turns the .ipynb files into pages
def on_files(files, config):
    kb = _state["kb"]
    for uri, executed in _mechanism_notebooks(config):
        # A plain File rooted in the cache entry (<key>/mechanisms/<slug>.ipynb): mkdocs-jupyter
        # wraps it into a page, which it cannot do for MkDocs' "generated" files.
        files.append(File(uri, src_dir=str(executed.parents[1]), dest_dir=config["site_dir"],
                          use_directory_urls=config["use_directory_urls"], inclusion=InclusionLevel.NOT_IN_NAV))
    _state["mechanism_titles"] = mechanism_sources(Path(config["docs_dir"]))
    try:  # the downloads and the Colab branch: self-contained notebooks, executed in a sandbox
        for uri, executed in standalone_notebooks(Path(config["docs_dir"]), config["site_url"], Repository.of_config(config)):
            files.append(File.generated(config, uri, abs_src_path=str(executed)))
    except NotebookFailed as error:
        raise Abort(f"\n{error}")
    _state["pages"] = generate_pages(kb, Path(config["docs_dir"]), _state["mechanism_titles"])
    for uri, page in _state["pages"].items():
        if files.get_file_from_path(uri) is not None:
            raise Abort(f"docs/{uri} is generated from the data — remove the hand-written file.")
        inclusion = InclusionLevel.NOT_IN_NAV if uri.startswith("entries/") else InclusionLevel.UNDEFINED
        files.append(File.generated(config, uri, content=page.markdown, inclusion=inclusion))
    for uri, path in _vendored_files():
        files.append(File.generated(config, uri, abs_src_path=str(path)))
    return files


def on_page_content(html, page, config, files):
    uri = page.file.src_uri
    if uri.startswith("mechanisms/") and uri.endswith(".ipynb"):
        try:
            html = offline_notebook_html(html)
        except RemoteResource as error:
            raise Abort(str(error))
        slug = Path(uri).stem
        header = notebook_header_html(_state["kb"], slug, module_exists(Path(config["docs_dir"]), slug))
        family = family_html(_state["kb"], slug, _state["mechanism_titles"])
        run_it = run_it_html(slug, Repository.of_config(config), module_exists(Path(config["docs_dir"]), slug))
        return html.replace("</h1>", "</h1>" + header + run_it, 1) + family
    generated = _state["pages"].get(uri)
    return generated.render(html) if generated else html


def on_page_context(context, page, config, nav):
    """"Edit this page" opens the file a contributor should change."""
    repository = Repository.of_config(config)
    uri = page.file.src_uri
    if uri.startswith("entries/"):
        page.edit_url = repository.edit(f"timeline/{Path(uri).stem}.yaml")
    elif uri.startswith("mechanisms/") and uri.endswith(".ipynb"):
        page.edit_url = repository.edit(f"docs/mechanisms/{Path(uri).stem}.py")
    elif page.file.generated_by is None:
        page.edit_url = repository.edit(f"docs/{uri}")
    else:
        page.edit_url = None
    return context


def on_page_markdown(markdown, page, config, files):
    uri = page.file.src_uri
    markdown = fill_repository_markers(markdown, Repository.of_config(config), Path(config["docs_dir"]),
                                       _state["mechanism_titles"])
    for marker, render in MARKERS.items():
        if marker in markdown:
            markdown = markdown.replace(marker, render(_state["kb"]))
    if "<!-- atlas:" in markdown:
        unknown = markdown.split("<!-- atlas:", 1)[1].split("-->", 1)[0].strip()
        raise Abort(f"docs/{uri}: unknown marker 'atlas:{unknown}' — known markers: {', '.join(MARKERS)}")
    return markdown
