"""The thin layer between MkDocs and scripts/: everything here only calls plain functions.

- on_config: load and validate the data; on any problem, abort before site/ is touched.
- on_files: add the generated pages (entry pages outside the nav) and the vendored assets
  (KaTeX from npm, vis-network from pyvis) so the site needs no CDN.
- on_page_content: put the generated pages' HTML fragments in place; on a mechanism page, add
  "The implementation" and "Differences from the paper" (from its module) and the Family section,
  and list them in the page's table of contents.
- on_page_markdown: fill the markers of hand-written pages (figures among them, scripts/figures/);
  point "edit" at the entry file.
- on_page_context (before the search plugin indexes the page): description, KaTeX flag, and
  notebook code and outputs kept out of the index; on_post_build: the index as plain text.
- on_post_page: math typeset into the page's HTML (scripts/math_html.py), after the search
  plugin has indexed the LaTeX source as text; highlighted code with fewer spans (scripts/code_html.py);
  embedded figures set aside as lazily loaded files (scripts/image_files.py).
- on_env: Material's navigation and tabs shared by the pages outside the nav (partials/nav.html).
- Under `mkdocs serve` (on_startup), one process builds on every save: what the save did not
  change is reused (scripts/rebuild_memo.py), and only the pages it changed are rendered again.
"""
from __future__ import annotations

import functools
import logging
import os
import posixpath
import re
import sys
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import jinja2  # noqa: E402
import material  # noqa: E402
from mkdocs.exceptions import Abort  # noqa: E402
from mkdocs.plugins import event_priority  # noqa: E402
from mkdocs.structure.files import File, InclusionLevel  # noqa: E402
from mkdocs.structure.toc import AnchorLink, get_toc  # noqa: E402
from mkdocs.utils.yaml import yaml_load  # noqa: E402

from scripts.figures import PageContext, UnknownFigure, fill_figure_markers  # noqa: E402
from scripts.pages.claims_page import nav_with_every_ledger  # noqa: E402
from scripts.pages.graph_page import VIS_NETWORK_DIR  # noqa: E402
from scripts.pages.home import render_eras  # noqa: E402
from scripts.pages.implementation import (  # noqa: E402
    SECTIONS, cached_implementation_html, docstring_markdown, insert_implementation)
from scripts.pages.mechanisms_page import family_html, mechanism_sources, notebook_header_html  # noqa: E402
from scripts.literate import LiterateModule, MissingDifferences, read_module  # noqa: E402
from scripts.mechanisms import module_exists, notebook_sources, page_module  # noqa: E402
from scripts.pages.licence import licence_notice  # noqa: E402
from scripts.pages.repository_markers import fill_repository_markers  # noqa: E402
from scripts.pages.run_it import run_it_html  # noqa: E402
from scripts.repository import Repository  # noqa: E402
from scripts.standalone_run import standalone_notebooks  # noqa: E402
from scripts.notebook_html import RemoteResource, offline_notebook_html  # noqa: E402
from scripts.notebooks import NotebookFailed, cached, execute  # noqa: E402
from scripts.parallel import parallel_map  # noqa: E402
from scripts import jupyter_cache, rebuild_memo, warm_kernels  # noqa: E402
from scripts.table_html import STYLESHEET_URI as TABLE_STYLESHEET, table_stylesheet, wrapped_tables  # noqa: E402
from scripts.rebuild_memo import Memo  # noqa: E402
from scripts.problems import InvalidData  # noqa: E402
from scripts.reproducible import pin_build_date  # noqa: E402
from scripts.site_pages import generate_pages  # noqa: E402
from scripts.code_html import lighter_highlighting  # noqa: E402
from scripts.image_files import set_aside_images  # noqa: E402
from scripts.math_html import Typesetter, TypesetterMissing, typeset_page  # noqa: E402
from scripts.page_text import clean_search_index, first_sentence, has_math, html_to_text, math_to_text  # noqa: E402
from scripts.pages.mechanisms_page import implementing  # noqa: E402
from scripts.site_pages import thread_essay  # noqa: E402
from scripts.text import escape_html  # noqa: E402
from scripts.validate import Paths, load_knowledge_base  # noqa: E402

KATEX_DIR = ROOT / "node_modules" / "katex" / "dist"
MARKERS = {"<!-- atlas:eras -->": render_eras}
_state: dict = {}
# A mechanism page's "The implementation" section, made again under `mkdocs serve` only when its
# module changed: an edit to an entry re-renders the pages whose Family section names it.
_IMPLEMENTATIONS = Memo()
_LITERATE = Memo()  # each page's module read as a literate program, again only when it changed
_typesetter = Typesetter()
log = logging.getLogger("mkdocs.hooks.atlas")


def data_paths(config) -> Paths:
    """The project's data, unless ATLAS_TIMELINE_DIR / ATLAS_BIB_DIR point elsewhere (tests, benchmarks)."""
    project = Paths.of_project(ROOT)
    return Paths(Path(os.environ.get("ATLAS_TIMELINE_DIR", project.timeline)),
                 Path(os.environ.get("ATLAS_BIB_DIR", project.bib)),
                 Path(config["docs_dir"]))


def on_startup(command, dirty):
    if command == "serve":  # one process rebuilds on every save: keep what an edit cannot change
        rebuild_memo.enable()


def on_config(config):
    rebuild_memo.next_build()
    pin_build_date(ROOT)  # the sitemap's dates come from the commit, so builds repeat
    try:
        _state["kb"] = load_knowledge_base(data_paths(config))
    except InvalidData as error:
        raise Abort(f"\n{error}")
    if config["nav"] is not None:  # every ledger is a page in the nav (a second one too)
        config["nav"] = nav_with_every_ledger(config["nav"], _state["kb"].claims)
    config["copyright"] = licence_notice(Repository.of_config(config))
    if not (KATEX_DIR / "katex.min.css").exists():
        raise Abort("KaTeX is not installed (node_modules/katex) — run `make setup` (it runs `npm ci`).")
    renderer = config.plugins.get("mkdocs-jupyter")
    if renderer is not None and renderer.config.get("cache"):  # safe beside other builds (scripts/jupyter_cache.py)
        _state["jupyter_cache"] = (renderer, jupyter_cache.open_private(renderer))
    return config


def on_build_error(error):
    renderer_cache = _state.pop("jupyter_cache", None)
    if renderer_cache is not None:
        jupyter_cache.discard_private(renderer_cache[1])


def _literate_modules(docs_dir: Path) -> dict[str, tuple[str, LiterateModule]]:
    """slug → the page's module read as a literate program; every module lacking its
    "Differences from the paper" section aborts the build, all named at once."""
    modules, problems = {}, []
    for source in notebook_sources(docs_dir):
        path = page_module(docs_dir, source.stem)
        if path is not None:
            try:
                module = _LITERATE.get((path, path.read_bytes()), functools.partial(read_module, path))
                modules[source.stem] = (path.relative_to(docs_dir.parent).as_posix(), module)
            except MissingDifferences as error:
                problems.append(str(error))
    if problems:
        raise Abort("\n" + "\n".join(problems))
    return modules


def _vendored_files() -> list[tuple[str, Path]]:
    files = [(f"assets/vendor/vis-network/{name}", VIS_NETWORK_DIR / name) for name in ("vis-network.min.js",)]
    # KaTeX's stylesheet and fonts only: the math is typeset at build time (on_post_page).
    for path in [KATEX_DIR / "katex.min.css", *sorted((KATEX_DIR / "fonts").glob("*"))]:
        files.append((f"assets/vendor/katex/{path.relative_to(KATEX_DIR).as_posix()}", path))
    return files


def _mechanism_notebooks(config) -> list[tuple[str, Path]]:
    """docs/mechanisms/<slug>.py (jupytext) → (mechanisms/<slug>.ipynb, executed notebook)."""
    sources = notebook_sources(Path(config["docs_dir"]))
    # Cache hits are looked up here, not in workers: a worker would import torch (for the key)
    # on every build, seconds of a rebuild under `make serve` that runs nothing.
    executed = {source: cached(source) for source in sources}
    missing = [source for source, path in executed.items() if path is None]
    try:
        # Each notebook runs in its own kernel, so those not yet cached run side by side, one per
        # core; the kernels are forked from one warm process started here, before the workers.
        if missing:
            warm_kernels.start()
        executed.update(zip(missing, parallel_map(execute, missing, min_items=2)))
    except NotebookFailed as error:
        raise Abort(f"\n{error}")
    return [(f"mechanisms/{source.stem}.ipynb", executed[source]) for source in sources]


@event_priority(50)  # before mkdocs-jupyter's on_files, which turns the .ipynb files into pages
def on_files(files, config):
    kb = _state["kb"]
    _state["mechanism_titles"] = mechanism_sources(Path(config["docs_dir"]))
    for uri, executed in _mechanism_notebooks(config):
        _mark_changed_if_generated_parts_changed(kb, uri, executed, config)
        # A plain File rooted in the cache entry (<key>/mechanisms/<slug>.ipynb): mkdocs-jupyter
        # wraps it into a page, which it cannot do for MkDocs' "generated" files.
        files.append(File(uri, src_dir=str(executed.parents[1]), dest_dir=config["site_dir"],
                          use_directory_urls=config["use_directory_urls"], inclusion=InclusionLevel.NOT_IN_NAV))
    _state["literate"] = _literate_modules(Path(config["docs_dir"]))
    _state["docstring_markdown"] = docstring_markdown(config["markdown_extensions"], config["mdx_configs"])
    try:  # the downloads and the Colab branch: self-contained notebooks, executed in a sandbox
        for uri, executed in standalone_notebooks(Path(config["docs_dir"]), _published_site_url(config),
                                                  Repository.of_config(config)):
            files.append(File.generated(config, uri, abs_src_path=str(executed)))
    except NotebookFailed as error:
        raise Abort(f"\n{error}")
    _state["pages"] = generate_pages(kb, Path(config["docs_dir"]), _state["mechanism_titles"], _typeset_fragment)
    # What the last complete build rendered; forgotten now, so that after a build that fails
    # half-way (its pages partly written) the next one renders every page again. A change to the
    # configuration or the theme renders every page again too.
    last = _state.pop("last_built", None)
    _state["building"] = {"pages": _state["pages"], "filled": {}, "context": _rendering_context(config)}
    if last is not None and last["context"] != _state["building"]["context"]:
        last = None
    _state["rendered_urls"] = set()
    for uri, page in _state["pages"].items():
        if files.get_file_from_path(uri) is not None:
            raise Abort(f"docs/{uri} is generated from the data — remove the hand-written file.")
        inclusion = InclusionLevel.NOT_IN_NAV if uri.startswith("entries/") else InclusionLevel.UNDEFINED
        file = File.generated(config, uri, content=page.markdown, inclusion=inclusion)
        if last is not None and last["pages"].get(uri) == page:
            # `mkdocs serve --dirty` renders every generated file again (it has no date to compare):
            # a page the edit did not change keeps the HTML written last time.
            file.is_modified = functools.partial(_missing, file.abs_dest_path)
        files.append(file)
    for uri, path in _vendored_files():
        files.append(File.generated(config, uri, abs_src_path=str(path)))
    files.append(File.generated(config, TABLE_STYLESHEET, content=table_stylesheet()))
    for file in files.documentation_pages():
        if file.abs_src_path and file.src_uri.endswith(".md") and "<!-- atlas:" in file.content_string:
            # Filled from the data (on_page_markdown): `mkdocs serve --dirty` must render it again
            # when what fills it changed, not only when the file itself did.
            file.is_modified = functools.partial(bool, _filled_page_modified(file, last, config))
    return files


def _filled_page_modified(file, last: dict | None, config) -> bool:
    """Whether a hand-written page with markers must be rendered again: its file changed, or what
    fills its markers did. Only `mkdocs serve` compares; a one-off build renders every page."""
    if not rebuild_memo.enabled():
        return True
    url = "" if file.url in (".", "./") else file.url  # as Page.url
    filled = _state["building"]["filled"][file.src_uri] = _filled(file.content_string, file.src_uri, url, config)
    return last is None or last["filled"].get(file.src_uri) != filled or File.is_modified(file)


def _missing(path: str) -> bool:
    return not os.path.isfile(path)


def _rendering_context(config) -> tuple:
    """What a generated page's HTML depends on beyond the page itself: the configuration (nav,
    theme, extensions) and the template overrides. A change to either renders every page again."""
    config_file = Path(config.config_file_path) if config.config_file_path else None
    overrides = sorted(path for path in (ROOT / "scripts" / "theme").rglob("*") if path.is_file())
    return (config_file.read_text(encoding="utf-8") if config_file else None,
            tuple((path.as_posix(), path.stat().st_mtime_ns) for path in overrides))


def _published_site_url(config) -> str:
    """The site's address as published. `mkdocs serve` replaces site_url with its own address
    before any hook runs, but a self-contained notebook links to its page on the published site,
    and its cache key covers that link: read from the config file, a preview's first build finds
    the notebooks `make build` executed instead of running all of them again (and evicting those)."""
    host, port = config["dev_addr"]
    if urlsplit(config["site_url"] or "").netloc != f"{host}:{port}" or not config.config_file_path:
        return config["site_url"]
    with open(config.config_file_path, encoding="utf-8") as handle:
        return yaml_load(handle).get("site_url") or config["site_url"]


def _mechanism_parts(kb, slug: str, config) -> str:
    """The parts of a mechanism page made from the data: the header and the Family section
    (kept for on_page_content)."""
    family = _state.setdefault("families", {})[slug] = family_html(kb, slug, _state["mechanism_titles"])
    return notebook_header_html(kb, slug, module_exists(Path(config["docs_dir"]), slug)) + family


def _mark_changed_if_generated_parts_changed(kb, uri: str, executed: Path, config) -> None:
    """`mkdocs serve --dirty` (make serve) re-renders a page only when its source is newer than
    the output. A mechanism page's source is its executed notebook, but its header and Family
    section come from the entries: when an edit changes them, touch the notebook so the page
    is rendered again. (A plain build renders every page; this only costs a comparison.)"""
    parts = _mechanism_parts(kb, Path(uri).stem, config)
    previous = _state.setdefault("mechanism_parts", {}).get(uri)
    if previous is not None and previous != parts:
        os.utime(executed)
    _state["mechanism_parts"][uri] = parts


def on_nav(nav, config, files):
    # As the search index locates them (the home page's is "", its file's "./")
    _state["page_urls"] = {file.page.url for file in files.documentation_pages() if file.page is not None}
    return nav


MATERIAL_TEMPLATES = Path(material.__file__).parent / "templates"


class CompiledTemplates(jinja2.BytecodeCache):
    """The theme's templates compiled once per process: MkDocs makes a new Jinja environment
    for every build, and `mkdocs serve` builds on every save (about fifty templates, half a
    second). Jinja checks each entry against its template's source, so an edited one is compiled
    again."""
    def __init__(self) -> None:
        self._code: dict[str, bytes] = {}

    def load_bytecode(self, bucket) -> None:
        if bucket.key in self._code:
            bucket.bytecode_from_string(self._code[bucket.key])

    def dump_bytecode(self, bucket) -> None:
        self._code[bucket.key] = bucket.bytecode_to_string()


_COMPILED_TEMPLATES = CompiledTemplates()


def on_env(env, config, files):
    """Our partials wrap Material's own, which they reach as material/partials/...; templates
    are compiled once per process; the fragments shared between pages start empty in every
    build (the nav may have changed)."""
    env.loader = jinja2.ChoiceLoader([env.loader, jinja2.PrefixLoader({"material": jinja2.FileSystemLoader(MATERIAL_TEMPLATES)})])
    env.bytecode_cache = _COMPILED_TEMPLATES
    shared: dict[tuple, str] = {}
    env.globals["atlas_shared_fragment"] = jinja2.pass_context(
        lambda context, name, caller: shared_fragment(shared, context, name, caller))
    return env


def shared_fragment(shared: dict, context, name: str, caller) -> str:
    """A fragment of Material's page (its navigation, its tabs) that is the same HTML on every
    page outside the nav in one folder: made for the first such page and reused for the rest,
    instead of walking the whole nav again for each of thousands of entry pages. The links are
    relative, so pages in different folders differ; a page in the nav has its own (its item is
    active), and so does one with nav pages beneath it (its links to them are shorter)."""
    page, nav = context.get("page"), context.get("nav")
    if page is None or nav is None or any(other is page or other.url.startswith(page.url) for other in nav.pages):
        return caller()
    key = (name, posixpath.dirname(page.url.rstrip("/")), page.url.endswith("/"))
    if key not in shared:
        shared[key] = caller()
    return shared[key]


def on_serve(server, config, builder):
    """Watch the data the site is built from (it may live outside the project: tests, benchmarks)."""
    paths = data_paths(config)
    for folder in (paths.timeline, paths.bib):
        server.watch(str(folder))
    return server


@event_priority(100)  # before the search plugin merges the previous index and writes the file
def on_post_build(config):
    """Every title and preview in the search index as plain text. And under `mkdocs serve --dirty`
    the index of the pages rendered now, with the previous documents of those that were not."""
    _typesetter.close()  # the next build (under `mkdocs serve`) starts its own KaTeX process
    renderer_cache = _state.pop("jupyter_cache", None)
    if renderer_cache is not None:  # before mkdocs-jupyter's own on_post_build (priority 0)
        jupyter_cache.close_private(*renderer_cache)
    # What this build rendered, for the next one (mkdocs serve) to compare with.
    _state["last_built"] = _state.pop("building")
    plugin = config.plugins.get("material/search") or config.plugins.get("search")
    index = getattr(plugin, "search_index", None)
    if index is None:
        return
    clean_search_index({"docs": index.entries})  # titles and previews as plain text
    previous = getattr(plugin, "search_index_prev", None)
    if previous is not None:
        # Merged here, not by the plugin, which assumes that one page was rendered and drops the
        # previous documents of every location starting with that page's (all of them, when it
        # is the home page, whose location is ""). Kept: the documents of the pages not rendered
        # this time that are still in the site.
        kept = [doc for doc in previous.entries
                if (url := doc["location"].split("#")[0]) not in _state["rendered_urls"] and url in _state["page_urls"]]
        index.entries[:0] = kept
        plugin.search_index_prev = None


def _render_directly(page, generated, config, files) -> None:
    """Page.render for a generated page that is already HTML (entry pages): Markdown would only
    copy it, at a few milliseconds a page. Sets what Page.render sets (MkDocs 1.6)."""
    page.content = generated.html
    page.toc = get_toc(generated.toc_tokens)
    page._title_from_render = generated.toc_tokens[0]["name"] if generated.toc_tokens else None
    page.present_anchor_ids = {anchor.id for item in page.toc for anchor in _anchors(item)}
    page.links_to_anchors = {}


def _anchors(item):
    yield item
    for child in item.children:
        yield from _anchors(child)


def on_pre_page(page, config, files):
    generated = _state["pages"].get(page.file.src_uri)
    if generated is not None and generated.html is not None:
        page.render = functools.partial(_render_directly, page, generated)
    return page


def on_page_content(html, page, config, files):
    uri = page.file.src_uri
    if uri.startswith("mechanisms/") and uri.endswith(".ipynb"):
        try:
            html = offline_notebook_html(html)
        except RemoteResource as error:
            raise Abort(str(error))
        slug = Path(uri).stem
        earliest = implementing(_state["kb"], slug)
        essay = thread_essay(Path(config["docs_dir"]), earliest[0].thread) if earliest else None
        header = notebook_header_html(_state["kb"], slug, module_exists(Path(config["docs_dir"]), slug), essay)
        family = _state["families"][slug]
        sections = []
        if slug in _state["literate"]:
            path, module = _state["literate"][slug]
            markdown_config = repr((config["markdown_extensions"], config["mdx_configs"]))
            html = insert_implementation(html, _IMPLEMENTATIONS.get(
                (path, repr(module), markdown_config),
                lambda: cached_implementation_html(module, path, _state["docstring_markdown"], markdown_config)))
            sections = SECTIONS
        _add_to_toc(page, sections, family)
        run_it = run_it_html(slug, Repository.of_config(config), module_exists(Path(config["docs_dir"]), slug))
        return html.replace("</h1>", "</h1>" + header + run_it, 1) + family
    generated = _state["pages"].get(uri)
    return generated.render(html) if generated else html


# Notebook code (the module's source) and printed output are not what a reader searches for.
# Material's search parser ends an exclusion at the first closing tag of the same name, so the
# mark goes on elements that never nest in themselves: <pre> blocks and the prompt <div>s.
# (The copy button's hidden text and "Copied!" notice are code too.)
_NOTEBOOK_UNSEARCHED = re.compile(
    r'<(pre|div class="jp-(?:Input|Output)Prompt[^"]*"|div class="clipboard-copy-txt"|span class="notice")(?=[\s>])')
MECHANISM_SEARCH_BOOST = 4
_FIRST_NOTEBOOK_PARAGRAPH = re.compile(r'jp-MarkdownCell.*?<p>(.*?)</p>', re.S)


def _describe_for_search(page) -> None:
    """page.meta for the template and the search plugin, which reads page.content next."""
    if page.file.src_uri.endswith(".ipynb"):
        # A mechanism's name should find its page before the works that mention it.
        page.meta.setdefault("search", {}).setdefault("boost", MECHANISM_SEARCH_BOOST)
        page.content = _NOTEBOOK_UNSEARCHED.sub(r"<\1 data-search-exclude", page.content)
        first = _FIRST_NOTEBOOK_PARAGRAPH.search(page.content)
        if first and not page.meta.get("description"):
            page.meta["description"] = escape_html(first_sentence(math_to_text(html_to_text(first.group(1)))))
    page.meta["atlas_math"] = has_math(page.content)
    if page.file.src_uri.endswith(".ipynb"):
        page.content = _set_aside_unsearched(page)


# The search plugin parses a page tag by tag, and steps through every tag of a block it excludes
# too: a notebook page's code and outputs, tens of thousands of highlighting spans, were most of
# its cost. They are taken out of page.content before the plugin reads it, a comment in the place
# of each (the plugin ignores comments, and excluded blocks add nothing to the index), and put
# back into the finished page (on_post_page).
_UNSEARCHED_BLOCK = re.compile(r"<pre data-search-exclude[\s>].*?</pre>", re.S)
_SET_ASIDE = re.compile(r"<!--atlas-unsearched-(\d+)-->")


def _set_aside_unsearched(page) -> str:
    blocks = _state.setdefault("unsearched", {})[page.file.src_uri] = []

    def set_aside(block: re.Match) -> str:
        blocks.append(block.group(0))
        return f"<!--atlas-unsearched-{len(blocks) - 1}-->"
    return _UNSEARCHED_BLOCK.sub(set_aside, page.content)


def _put_back_unsearched(output: str, page) -> str:
    blocks = _state.get("unsearched", {}).pop(page.file.src_uri, None)
    return _SET_ASIDE.sub(lambda marker: blocks[int(marker.group(1))], output) if blocks else output


def _search_index(config):
    """Material's search index (None when the search plugin is off)."""
    plugin = config.plugins.get("material/search") or config.plugins.get("search")
    return getattr(plugin, "search_index", None)


def _add_to_toc(page, sections: list[tuple[str, str]], family: str) -> None:
    """The generated headings in the page's table of contents: the implementation's before the
    notebook's "Running it" section (where the page puts them), the Family section last."""
    title = page.toc.items[0] if page.toc.items and page.toc.items[0].level == 1 else None
    children = title.children if title is not None else page.toc.items
    at = next((i for i, link in enumerate(children) if link.title.startswith("Running it")), len(children))
    children[at:at] = [AnchorLink(name, anchor, 2) for anchor, name in sections]
    if family:
        children.append(AnchorLink("Family", "family", 2))


@event_priority(100)  # before the search plugin (priority 0) indexes page.content
def on_page_context(context, page, config, nav):
    """"Edit this page" opens the file a contributor should change; generated pages that carry
    their own search documents add them to the index (the plugin does not parse those pages)."""
    _describe_for_search(page)
    _state["rendered_urls"].add(page.url)
    generated = _state["pages"].get(page.file.src_uri)
    index = _search_index(config)
    if generated is not None and generated.search_docs and index is not None:
        index.entries.extend(generated.search_docs)
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


def _typeset_fragment(html: str, where: str) -> str:
    """HTML (a page or part of one) with its math typeset by KaTeX; a formula KaTeX cannot read
    is a warning naming `where`, which fails the strict build."""
    known = len(_typesetter.problems)
    try:
        html = typeset_page(html, _typesetter)
    except TypesetterMissing as error:
        raise Abort(str(error))
    for problem in _typesetter.problems[known:]:
        log.warning(f"{where}: KaTeX cannot typeset {problem.latex!r}: {problem.message}")
    return html


def on_post_page(output, page, config):
    """The page's math typeset by KaTeX now, so the reader's browser does not have to (an entry
    page's was typeset when it was made), and its highlighted code without the spans that change
    no colour (scripts/code_html.py), its tables already in their scroll containers (scripts/table_html.py),
    and its embedded figures as files loaded when needed (scripts/image_files.py)."""
    output = wrapped_tables(_put_back_unsearched(output, page))  # before Material's script would move them
    output = set_aside_images(lighter_highlighting(output), Path(config["site_dir"]) / Path(page.file.dest_uri).parent)
    if not page.meta.get("atlas_math") or page.meta.get("atlas_math_typeset"):
        return output
    return _typeset_fragment(output, page.file.src_uri)


def on_page_markdown(markdown, page, config, files):
    return _filled(markdown, page.file.src_uri, page.url, config)


def _filled(markdown: str, uri: str, url: str, config) -> str:
    """A hand-written page's Markdown with its markers filled from the data and the modules."""
    markdown = fill_repository_markers(markdown, Repository.of_config(config), Path(config["docs_dir"]),
                                       _state["mechanism_titles"])
    try:  # <!-- atlas:figure NAME -->: figures drawn from the data and the modules (scripts/figures/)
        markdown = fill_figure_markers(markdown, PageContext(_state["kb"], f"docs/{uri}", url))
    except UnknownFigure as error:
        raise Abort(f"\n{error}")
    for marker, render in MARKERS.items():
        if marker in markdown:
            markdown = markdown.replace(marker, render(_state["kb"]))
    if "<!-- atlas:" in markdown:
        unknown = markdown.split("<!-- atlas:", 1)[1].split("-->", 1)[0].strip()
        raise Abort(f"docs/{uri}: unknown marker 'atlas:{unknown}' — known markers: {', '.join(MARKERS)}, "
                    "<!-- atlas:figure NAME -->")
    return markdown
