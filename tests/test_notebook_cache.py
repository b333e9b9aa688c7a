"""The notebook cache key: per notebook, it covers exactly what the notebook's outputs depend on
(the notebook, the runnable/ modules it imports transitively, the shared helpers, the data files
it names, torch's version and the device), so editing one module reruns only its dependants."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from scripts.mechanisms import notebook_sources
from scripts.notebooks import cache_key, notebook_inputs
from tests.conftest import ROOT

NOTEBOOK_HEADER = "# %% [markdown]\n# # A page\n\n# %%\nfrom _setup import show_source\n"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A small project: a → b → c chain of imports in every spelling, one unrelated module,
    notebooks importing them, a helper and a results file."""
    package = tmp_path / "runnable"
    package.mkdir()
    modules = {
        "__init__": '"""The package."""\n',
        "_cli": "import argparse\n",
        "base": "import torch\n\n\ndef f(x):\n    return x\n",
        "middle": "def g(x):\n    from runnable.base import f  # imported inside a function\n    return f(x)\n",
        "top": "import runnable.middle as m\n\n\nif __name__ == '__main__':\n    from runnable._cli import parse\n",
        "alone": "from runnable import _cli\n",
        "relative": "from .base import f\nfrom . import alone\n",
    }
    for name, text in modules.items():
        (package / f"{name}.py").write_text(text)
    pages = tmp_path / "docs" / "mechanisms"
    (pages / "results").mkdir(parents=True)
    (pages / "_setup.py").write_text("import matplotlib\n")
    (pages / "results" / "cost-cpu.csv").write_text("a,b\n1,2\n")
    (pages / "results" / "other.json").write_text("{}\n")
    notebooks = {
        "uses-top": "from runnable import top\n",
        "uses-base": "import runnable.base\n",
        "uses-alone": "from runnable.alone import _cli\n",
        "uses-relative": "import runnable.relative as mechanism\n",
        "reads-results": "import pathlib\nrows = sorted(pathlib.Path('results').glob('cost-*.csv'))\n",
        "broken": "from runnable import (\n",  # does not parse: depends on everything
    }
    for name, text in notebooks.items():
        (pages / f"{name}.py").write_text(NOTEBOOK_HEADER + text)
    return tmp_path


def keys(project: Path, device: str = "cpu") -> dict[str, str]:
    return {page.stem: cache_key(page, project, device) for page in sorted((project / "docs" / "mechanisms").glob("[!_]*.py"))}


def changed_after(project: Path, edit) -> set[str]:
    before = keys(project)
    edit()
    after = keys(project)
    return {name for name in before if before[name] != after[name]}


def append(path: Path, text: str = "# edited\n"):
    return lambda: path.write_text(path.read_text() + text)


def test_inputs_follow_imports_transitively(project):
    def inputs(name):
        return {p.relative_to(project).as_posix() for p in notebook_inputs(project / "docs" / "mechanisms" / f"{name}.py", project)}

    common = {"docs/mechanisms/_setup.py", "runnable/__init__.py"}
    assert inputs("uses-top") == common | {"docs/mechanisms/uses-top.py", "runnable/top.py", "runnable/middle.py",
                                           "runnable/base.py"}  # not _cli: only the __main__ block imports it
    assert inputs("uses-base") == common | {"docs/mechanisms/uses-base.py", "runnable/base.py"}
    assert inputs("uses-alone") == common | {"docs/mechanisms/uses-alone.py", "runnable/alone.py", "runnable/_cli.py"}
    assert inputs("uses-relative") == common | {"docs/mechanisms/uses-relative.py", "runnable/relative.py",
                                                "runnable/base.py", "runnable/alone.py", "runnable/_cli.py"}
    assert inputs("reads-results") == {"docs/mechanisms/reads-results.py", "docs/mechanisms/_setup.py",
                                       "docs/mechanisms/results/cost-cpu.csv"}
    assert inputs("broken") >= {f"runnable/{name}.py" for name in ("base", "middle", "top", "alone", "relative", "_cli")}


def test_editing_a_module_changes_only_its_dependants(project):
    package = project / "runnable"
    assert changed_after(project, append(package / "base.py")) == {"uses-top", "uses-base", "uses-relative", "broken"}
    assert changed_after(project, append(package / "middle.py")) == {"uses-top", "broken"}
    assert changed_after(project, append(package / "_cli.py")) == {"uses-alone", "uses-relative", "broken"}
    assert changed_after(project, append(package / "__init__.py")) == {"uses-top", "uses-base", "uses-alone",
                                                                        "uses-relative", "broken"}


def test_helpers_data_files_and_the_device_are_in_the_key(project):
    pages = project / "docs" / "mechanisms"
    assert changed_after(project, append(pages / "_setup.py")) == set(keys(project))
    assert changed_after(project, append(pages / "results" / "cost-cpu.csv", "3,4\n")) == {"reads-results"}
    assert changed_after(project, append(pages / "results" / "other.json", " ")) == set()
    assert changed_after(project, append(pages / "uses-base.py")) == {"uses-base"}
    assert changed_after(project, lambda: (project / "README.md").write_text("not an input\n")) == set()
    assert keys(project, "cpu") != keys(project, "NVIDIA H200")


def test_the_key_does_not_depend_on_where_the_project_lives(project, tmp_path_factory):
    elsewhere = tmp_path_factory.mktemp("clone") / "atlas"
    shutil.copytree(project, elsewhere)
    assert keys(project) == keys(elsewhere)


def test_project_notebooks_depend_on_their_own_module_and_no_unrelated_one(tmp_path):
    """On the real project: editing runnable/rotary_embeddings.py changes the key of the RoPE page
    and of no page that never imports it."""
    for part in ("runnable", "docs/mechanisms"):
        shutil.copytree(ROOT / part, tmp_path / part, ignore=shutil.ignore_patterns("__pycache__"))
    pages = notebook_sources(tmp_path / "docs")
    before = {page.stem: cache_key(page, tmp_path, "cpu") for page in pages}
    append(tmp_path / "runnable" / "rotary_embeddings.py")()
    after = {page.stem: cache_key(page, tmp_path, "cpu") for page in pages}
    changed = {name for name in before if before[name] != after[name]}
    # The modules that use it, directly or through another module (a plain text search, independent
    # of the import-following code under test), then the pages that name any of them.
    users = {"rotary_embeddings"}
    modules = {path.stem: path.read_text(encoding="utf-8") for path in (tmp_path / "runnable").glob("*.py")}
    while grown := {name for name, text in modules.items() if any(f"runnable.{u}" in text or f"from .{u}" in text
                                                                  for u in users)} - users:
        users |= grown
    importers = {page.stem for page in pages
                 if any(f"runnable.{u}" in page.read_text(encoding="utf-8") for u in users)}
    assert "rotary-embeddings" in changed and len(users) > 1, "pages now use it through other modules too"
    assert changed == importers
    for page in pages:
        module = tmp_path / "runnable" / f"{page.stem.replace('-', '_')}.py"
        if module.exists():
            assert module in notebook_inputs(page, tmp_path), page.stem


def test_static_imports_cover_what_importing_a_module_loads():
    """An independent check of the import walk: import each runnable/ module in a fresh package
    state and record which runnable modules Python actually loaded; the key must cover them all."""
    script = textwrap.dedent("""
        import importlib, json, pathlib, sys
        import torch  # loaded once, outside the measurement
        loaded = {}
        for path in sorted(pathlib.Path("runnable").glob("*.py")):
            for name in [m for m in sys.modules if m == "runnable" or m.startswith("runnable.")]:
                del sys.modules[name]
            importlib.import_module(f"runnable.{path.stem}" if path.stem != "__init__" else "runnable")
            loaded[path.stem] = sorted(m.split(".")[1] for m in sys.modules if m.startswith("runnable."))
        print(json.dumps(loaded))
    """)
    run = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True)
    loaded = json.loads(run.stdout)
    for page in notebook_sources(ROOT / "docs"):
        covered = {p.stem for p in notebook_inputs(page) if p.parent == ROOT / "runnable"}
        for module in covered - {"__init__"}:
            assert set(loaded[module]) <= covered, f"{page.stem}: {module} loads {set(loaded[module]) - covered}"


def test_the_key_names_the_torch_and_device_that_torch_itself_reports():
    """The key reads torch's version from the package metadata and skips importing torch on a
    machine with no GPU device node; both must say what torch would say."""
    import torch

    from scripts.notebooks import device_name, torch_version

    assert torch_version() == torch.__version__
    expected = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "cpu"
    assert device_name() == expected
