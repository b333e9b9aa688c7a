"""Nothing silently did not run: every runnable/ module has a test, a page and a page whose
demo produced output, unless tests/exemptions.yaml says why not."""
from __future__ import annotations

import nbformat
import pytest
import yaml

from scripts.mechanisms import notebook_sources
from scripts.notebooks import execute
from tests.conftest import ROOT
from tests.terminal_demos import run_demo

EXEMPT = yaml.safe_load((ROOT / "tests" / "exemptions.yaml").read_text()) or {}
MODULES = sorted(p for p in (ROOT / "runnable").glob("*.py") if p.name not in EXEMPT)
PAGES = notebook_sources(ROOT / "docs")


def test_exemptions_have_reasons_and_exist():
    for name, reason in EXEMPT.items():
        assert (ROOT / "runnable" / name).exists(), f"exempt module {name} does not exist"
        assert isinstance(reason, str) and len(reason) > 10, f"{name}: give a reason"


@pytest.mark.parametrize("module", MODULES, ids=lambda p: p.stem)
def test_module_has_a_test_and_a_page(module):
    assert (ROOT / "tests" / "runnable" / f"test_{module.stem}.py").exists(), f"no tests/runnable/test_{module.stem}.py"
    page = ROOT / "docs" / "mechanisms" / f"{module.stem.replace('_', '-')}.py"
    assert page.exists(), f"no page {page.relative_to(ROOT)}"
    assert f"runnable.{module.stem}" in page.read_text(encoding="utf-8"), "the page must import the module it shows"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.stem)
def test_page_executes_and_every_code_cell_has_output(page):
    notebook = nbformat.read(execute(page), as_version=4)
    code_cells = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert code_cells, "a mechanism page needs code"
    silent = [i for i, cell in enumerate(code_cells) if not cell.get("outputs")]
    assert not silent, f"code cells {silent} produced no output"
    text = "".join(o.get("text", "") for c in code_cells for o in c.outputs)
    assert "Traceback" not in text
    source = page.read_text(encoding="utf-8")
    if "show_figure(" in source or "heatmap(" in source:  # a page that plots must show a figure
        images = [o for c in code_cells for o in c.outputs
                  if 'class="atlas-figure"' in "".join(o.get("data", {}).get("text/html", ""))]
        assert images, "the page plots, but no figure reached the output"
    bare = [o for c in code_cells for o in c.outputs if "image/png" in o.get("data", {})]
    assert not bare, "a figure was shown without alt text: end the plot with show_figure(alt) from _setup"


# A hang guard, not a budget: ten times the 10 s a demo is meant to take. The budget itself is a
# benchmark (make bench-demos), since a busy machine slows an honest demo past any tight limit.
DEMO_HANG_GUARD_S = 100


@pytest.mark.parametrize("module", MODULES, ids=lambda p: p.stem)
def test_module_demo_runs_from_the_terminal(module, tmp_path):
    """`python -m runnable.<module> --device cpu`, the learner's path, runs and prints its demo
    (run as __main__ in a process forked from one that has torch imported: tests/terminal_demos.py)."""
    run = run_demo(f"runnable.{module.stem}", ["--device", "cpu"], tmp_path, DEMO_HANG_GUARD_S)
    assert run.returncode is not None, f"the demo still ran after {DEMO_HANG_GUARD_S} s (a hang?)"
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip(), "the demo printed nothing"


def test_the_terminal_runner_reports_failure(tmp_path):
    """The runner reports what `python -m` would: an unknown argument exits 2 with argparse's message."""
    run = run_demo("runnable.rotary_embeddings", ["--no-such-option"], tmp_path, DEMO_HANG_GUARD_S)
    assert run.returncode == 2
    assert "unrecognized arguments: --no-such-option" in run.stderr
