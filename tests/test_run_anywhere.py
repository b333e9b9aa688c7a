"""The examples run wherever the reader is: self-contained notebooks that execute in a sandbox
which cannot see this repository (proved by a negative control), one Colab link per page that
points at a notebook the deploy publishes, and addresses derived from `repo_url` alone."""
from __future__ import annotations

import ast
import os
import re
from html import unescape
import sys
import types
from html.parser import HTMLParser
from pathlib import Path

import nbformat
import pytest
import yaml

from scripts.mechanisms import module_name, notebook_sources
from scripts.notebooks import NotebookFailed, notebook_inputs
from scripts.repository import NOTEBOOKS_BRANCH, NOTEBOOKS_DIR, Repository
from scripts.standalone_notebook import (clash_renames, dependency_order, inlined_module_source,
                                         split_at_definitions, standalone_notebook)
from scripts.standalone_run import execute_isolated, executed_standalone, standalone_inputs, standalone_key
from tests.conftest import ROOT

DOCS = ROOT / "docs"
CONFIG = yaml.safe_load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"))
REPOSITORY = Repository(CONFIG["repo_url"])
SOURCES = notebook_sources(DOCS)


def _addresses(source: Path) -> tuple[str, str]:
    """The page's address and the repository's, as the build writes them into the notebook."""
    return f"{CONFIG['site_url']}mechanisms/{source.stem}/", REPOSITORY.url


def _notebook(source: Path):
    return standalone_notebook(source, *_addresses(source))


def test_there_are_mechanism_notebooks():
    assert len(SOURCES) >= 40


@pytest.mark.parametrize("source", SOURCES, ids=lambda p: p.stem)
def test_notebook_imports_nothing_from_the_repository(source):
    notebook = _notebook(source)
    code = [c.source for c in notebook.cells if c.cell_type == "code"]
    assert "%pip install" in code[0] and "find_spec" in code[0], "the first code cell installs what is missing"
    for text in code:
        assert not re.search(r"^\s*(from|import)\s+(runnable|_setup)\b", text, re.M), text[:200]
    if (ROOT / "runnable" / f"{module_name(source.stem)}.py").exists():
        # The module's own source is in the notebook, to be edited and rerun.
        assert any("def demo(" in text for text in code)


# Executed once per generated notebook and torch/device, shared with the build through the
# cache (.cache/notebooks/standalone/): an unchanged notebook is not run again.
@pytest.mark.parametrize("source", SOURCES, ids=lambda p: p.stem)
def test_notebook_runs_in_an_empty_directory_without_the_repository(source):
    executed = nbformat.read(executed_standalone(source, *_addresses(source)), as_version=4)
    code = [c for c in executed.cells if c.cell_type == "code"]
    assert all(c.execution_count for c in code), "every code cell ran"
    assert not [o for c in code for o in c.outputs if o.output_type == "error"]


def test_the_sandbox_refuses_the_repository_negative_control():
    """Today's kind of notebook (`import runnable.x`, `from _setup import …`) must fail in the same
    sandbox, or the test above would prove nothing."""
    page = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("import runnable.scaled_dot_product_attention as mechanism")])
    with pytest.raises(NotebookFailed, match="ModuleNotFoundError"):
        execute_isolated(page, "negative control")
    helpers = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("from _setup import heatmap")])
    with pytest.raises(NotebookFailed, match="ModuleNotFoundError"):
        execute_isolated(helpers, "negative control")
    # ...while the reader's own packages are there: the failure is the repository's absence.
    fine = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        "import os, torch, matplotlib\nassert os.listdir('.') == [], os.listdir('.')")])
    execute_isolated(fine, "positive control")


def test_clashing_definitions_are_renamed_in_dependencies_only():
    order = dependency_order(["transformer_block"])
    assert order == ["scaled_dot_product_attention", "multi_head_attention", "transformer_block"]
    renames = clash_renames(order)
    assert renames[("multi_head_attention", "load_from_torch")] == "load_from_torch_multi_head_attention"
    assert ("transformer_block", "load_from_torch") not in renames  # the page's module keeps its names
    # One namespace, like a notebook's (a registered module: dataclasses look themselves up there).
    notebook = types.ModuleType("atlas_notebook_probe")
    sys.modules[notebook.__name__] = notebook
    namespace = notebook.__dict__
    try:
        for module in order:
            for cell in split_at_definitions(inlined_module_source(module, renames)):
                exec(compile(cell, module, "exec"), namespace)
    finally:
        del sys.modules[notebook.__name__]
    assert namespace["load_attention_from_torch"] is namespace["load_from_torch_multi_head_attention"]
    assert namespace["load_from_torch"] is not namespace["load_attention_from_torch"]
    assert namespace["demo"].__code__.co_filename == "transformer_block"


def test_inlined_source_drops_only_imports_and_the_terminal_entry_point():
    source = inlined_module_source("cross_attention", clash_renames(dependency_order(["cross_attention"])))
    tree = ast.parse(source)
    assert not [n for n in ast.walk(tree) if isinstance(n, (ast.Import, ast.ImportFrom))
                and "runnable" in ast.unparse(n)]
    assert "__main__" not in source
    original = (ROOT / "runnable" / "cross_attention.py").read_text(encoding="utf-8")
    assert "class DecoderLayer(nn.Module):" in source and source.splitlines()[0] == original.splitlines()[0]


class _Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.hrefs: list[str] = []
        self.run_it = 0

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "a" and attrs.get("href"):
            self.hrefs.append(attrs["href"])
        if "atlas-run-it" in (attrs.get("class") or "").split():
            self.run_it += 1


def _page(site: Path, uri: str) -> _Links:
    links = _Links()
    links.feed((site / uri).read_text(encoding="utf-8"))
    return links


def _published_paths() -> tuple[str, str]:
    """(folder of the built site, branch) that deploy.yml pushes for Colab."""
    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / "deploy.yml").read_text(encoding="utf-8"))
    steps = [s for job in workflow["jobs"].values() for s in job.get("steps", [])]
    publish = next(s for s in steps if "git push" in s.get("run", ""))
    folder = publish["working-directory"]
    branch = re.search(r"HEAD:refs/heads/(\S+)", publish["run"]).group(1)
    return folder, branch


def test_every_mechanism_page_has_one_run_it_box_with_three_ways(built_site):
    colab = "https://colab.research.google.com/github/"
    folder, branch = _published_paths()
    assert (folder, branch) == (f"site/{NOTEBOOKS_DIR}", NOTEBOOKS_BRANCH)
    for source in SOURCES:
        page = _page(built_site, f"mechanisms/{source.stem}/index.html")
        assert page.run_it == 1, source.stem
        links = [h for h in page.hrefs if h.startswith(colab)]
        assert links == [REPOSITORY.colab(source.stem)], source.stem
        owner_repo, published = links[0].removeprefix(colab).split(f"/blob/{branch}/")
        assert owner_repo == REPOSITORY.slug
        # The deploy pushes exactly site/notebooks/ to the branch: the target must be there.
        assert (built_site / NOTEBOOKS_DIR / published).is_file(), published
        download = f"../../{NOTEBOOKS_DIR}/{source.stem}.ipynb"
        assert download in page.hrefs
        html = (built_site / f"mechanisms/{source.stem}/index.html").read_text(encoding="utf-8")
        if (ROOT / "runnable" / f"{module_name(source.stem)}.py").exists():
            assert f"python -m runnable.{module_name(source.stem)} --device cpu" in html
        # Near the top: right under the title (and the line naming the works it implements).
        after_title = html.split("</h1>", 1)[1].lstrip()
        assert after_title.startswith(('<p class="atlas-implements"', '<section class="atlas-run-it"')), source.stem
        assert after_title.index('<section class="atlas-run-it"') < 1000, source.stem


def test_published_notebooks_are_the_self_contained_ones(built_site):
    published = sorted(p.stem for p in (built_site / NOTEBOOKS_DIR).glob("*.ipynb"))
    assert published == sorted(s.stem for s in SOURCES)
    for path in (built_site / NOTEBOOKS_DIR).glob("*.ipynb"):
        text = path.read_text(encoding="utf-8")
        assert "import runnable" not in text and "from _setup" not in text, path.name
    assert not list((built_site / "mechanisms").rglob("*.ipynb")), "no page publishes its non-self-contained source"


def test_addresses_derive_from_repo_url(built_site):
    entry = _page(built_site, "entries/2014-bahdanau-align-and-translate/index.html")
    assert REPOSITORY.edit("timeline/2014-bahdanau-align-and-translate.yaml") in entry.hrefs
    assert CONFIG["repo_url"] in entry.hrefs  # the header's repository link
    assert REPOSITORY.blob("LICENSE") in entry.hrefs and REPOSITORY.blob("LICENSE-content") in entry.hrefs
    guide_html = (built_site / "run-it-yourself" / "index.html").read_text(encoding="utf-8")
    assert "atlas:" not in guide_html
    guide = unescape(re.sub(r"<[^>]+>", "", guide_html))  # the code blocks are highlighted
    assert f"git+{REPOSITORY.url}.git" in guide and f"git clone {REPOSITORY.url}.git" in guide
    for source in SOURCES:
        assert f"{NOTEBOOKS_DIR}/{source.stem}.ipynb" in guide_html
    # pyproject's project URLs are static metadata: they must agree with mkdocs.yml.
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert f'Repository = "{CONFIG["repo_url"]}"' in pyproject
    assert f'Homepage = "{CONFIG["site_url"]}"' in pyproject


def test_only_the_source_display_calls_are_dropped():
    setup = (DOCS / "mechanisms" / "_setup.py").read_text(encoding="utf-8")
    from scripts.standalone_notebook import source_displays
    # Pages now show their module through the build's literate section, so _setup may have no
    # source-showing helper left; whatever it has is what the standalone notebook drops.
    assert source_displays(setup) <= {"show_source"}
    notebook = _notebook(DOCS / "mechanisms" / "bahdanau-attention.py")
    code = "\n".join(c.source for c in notebook.cells if c.cell_type == "code")
    assert "show_source(mechanism)" not in code
    assert code.count("heatmap(") >= 3  # the definition and the page's figures
    assert "mechanism = sys.modules[__name__]" in code


def test_the_standalone_cache_key_covers_every_file_the_generator_reads():
    """The build finds a cached self-contained notebook by a digest of its inputs, without
    generating it: every file generating one opens must be among those inputs, or an edit to it
    would leave a stale download. (Checked on every page, by watching the `open` audit event.)"""
    opened: list[str] = []
    recording = []
    sys.addaudithook(lambda event, args: opened.append(args[0]) if recording and event == "open" else None)
    venv = ROOT / ".venv"
    for source in SOURCES:
        opened.clear()
        recording.append(True)
        try:
            _notebook(source)
        finally:
            recording.clear()
        read = {Path(path).resolve() for path in opened if isinstance(path, (str, bytes, os.PathLike))}
        read = {path for path in read if path.is_file() and path.is_relative_to(ROOT) and not path.is_relative_to(venv)
                and path.suffix != ".pyc"}
        inputs = {path.resolve() for path in (*notebook_inputs(source), *standalone_inputs(source))}
        assert read <= inputs, f"{source.name}: read but not in the key: {sorted(map(str, read - inputs))}"


def test_the_standalone_cache_key_changes_with_the_addresses_written_into_the_notebook():
    source = SOURCES[0]
    page, repository = _addresses(source)
    key = standalone_key(source, page, repository)
    assert key == standalone_key(source, page, repository)
    assert key != standalone_key(source, page + "moved/", repository)
    assert key != standalone_key(source, page, repository + "-fork")
