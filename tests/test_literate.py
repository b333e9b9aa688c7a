"""Mechanism modules read as literate programs (scripts/literate.py): one block per definition,
prose from docstrings and comments, the shown code never losing a line, and every module
stating its differences from the paper."""
from __future__ import annotations

import ast
import textwrap
from pathlib import Path

import pytest

from scripts.literate import MissingDifferences, read_module, split_differences
from tests.conftest import ROOT

MODULES = sorted((ROOT / "runnable").glob("[a-z]*.py"))

SAMPLE = textwrap.dedent('''\
    """A sample mechanism.

    Differences from the paper:
    - The first difference, which goes on
      over two lines.
    - The second.

    Shapes: B batch.
    """
    from __future__ import annotations

    import torch

    SCALE = 2


    # The score, written out.
    def score(q, k):
        """Dot product of q and k."""
        return q @ k


    class Short:
        """Kept whole: one method."""

        def run(self):
            return 1
    ''')


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "sample.py"
    path.write_text(text, encoding="utf-8")
    return path


def test_blocks_follow_the_source_with_prose_beside_code(tmp_path):
    module = read_module(_write(tmp_path, SAMPLE))
    assert module.differences == ["The first difference, which goes on over two lines.", "The second."]
    assert "Differences" not in module.summary and module.summary.endswith("Shapes: B batch.")
    names = [block.name for block in module.blocks]
    assert names == ["", "score", "Short"]
    imports, score, short = module.blocks
    assert "import torch" in imports.code and "SCALE = 2" in imports.code and imports.prose == ""
    assert score.prose == "The score, written out.\n\nDot product of q and k."
    assert score.code == "def score(q, k):\n    return q @ k"
    assert short.prose == "Kept whole: one method." and "def run" in short.code and '"""' not in short.code


def test_a_class_with_methods_is_cut_at_each(tmp_path):
    methods = "\n".join(f"    def m{i}(self):\n        \"\"\"Method {i}.\"\"\"\n        x = {i}\n        return x\n"
                        for i in range(8))
    source = '"""Doc.\n\nDifferences from the paper:\n- None.\n"""\n\n\nclass Long:\n    """A long class."""\n' \
             "    size = 3\n\n" + methods
    module = read_module(_write(tmp_path, source))
    assert [b.name for b in module.blocks] == ["Long", *(f"Long.m{i}" for i in range(8))]
    assert module.blocks[0].code == "class Long:\n    size = 3"
    assert module.blocks[3].prose == "Method 2." and module.blocks[3].code == "    def m2(self):\n        x = 2\n        return x"


@pytest.mark.parametrize("docstring, message", [
    ('"""No section here."""', "has no 'Differences from the paper:' section"),
    ('"""Doc.\n\nDifferences from the paper:\n\nShapes."""', "has no bullets"),
    ('"""Doc.\n\nDifferences from the paper:\n- one\nnot a bullet\n"""', "neither a '- ' bullet"),
])
def test_a_missing_or_malformed_section_is_named_with_how_to_fix(tmp_path, docstring, message):
    with pytest.raises(MissingDifferences, match=message) as error:
        read_module(_write(tmp_path, docstring + "\n"))
    assert str(error.value).startswith(f"{tmp_path / 'sample.py'}:1")


def test_split_differences_keeps_the_rest_of_the_docstring():
    summary, bullets = split_differences("Intro.\n\nDifferences from the paper:\n- a\n\nOutro.", "x.py:1")
    assert bullets == ["a"] and summary == "Intro.\n\nOutro."


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.stem)
def test_every_module_states_its_differences_and_loses_no_line(path):
    """The build fails without the section; the page shows every line of code once, in order
    (a docstring is either the prose beside its block or, inside a class shown whole, code)."""
    module = read_module(path)
    assert module.differences and all(len(d) > 20 for d in module.differences)
    source = path.read_text(encoding="utf-8")
    docstring_lines = set()
    for node in ast.walk(ast.parse(source)):
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr) \
                and isinstance(body[0].value, ast.Constant) and isinstance(body[0].value.value, str):
            docstring_lines |= set(range(body[0].lineno, body[0].end_lineno + 1))
    expected = [line for number, line in enumerate(source.splitlines(), 1)
                if line.strip() and number not in docstring_lines and not line.strip().startswith("#")]
    lines = source.splitlines()
    docstring_text = {lines[number - 1] for number in docstring_lines}
    shown = [line for block in module.blocks for line in block.code.splitlines()
             if line.strip() and not line.strip().startswith("#") and line not in docstring_text]
    assert shown == expected


def test_the_implementation_goes_before_the_demo(tmp_path):
    from scripts.pages.implementation import implementation_html, insert_implementation

    module = read_module(_write(tmp_path, SAMPLE))
    section = implementation_html(module, "runnable/sample.py", lambda text: f"<p>{text}</p>")
    assert section.index('id="the-implementation"') < section.index('id="code-score"') \
        < section.index('id="differences-from-the-paper"')
    assert "<li>The second.</li>" in section and "runnable/sample.py" in section
    notebook = ('<div class="jp-Cell jp-MarkdownCell"><h1>T</h1></div>'
                '<div class="jp-Cell jp-MarkdownCell"><h2 id="running-it">Running it</h2></div>')
    placed = insert_implementation(notebook, "<section>X</section>")
    assert placed.index("<h1>") < placed.index("<section>X</section>") < placed.index("Running it")
    assert insert_implementation("<div>no demo</div>", "<section>X</section>").endswith("<section>X</section>")


def test_docstrings_are_not_read_as_links():
    from scripts.pages.implementation import docstring_markdown

    render = docstring_markdown(["pymdownx.highlight", "pymdownx.superfences"], {})
    assert render("NL[v](i) = Σ_j w(i, j) v(j)") == "<p>NL[v](i) = Σ_j w(i, j) v(j)</p>"
    assert "<code>" in render("`naive` is the loop")


def test_the_implementation_is_kept_between_builds_until_its_module_changes(tmp_path):
    """scripts/pages/implementation.py keeps each module's rendered section on disk: a second build
    reads it instead of rendering again, and an edit to the module renders anew and replaces it."""
    from scripts.pages.implementation import cached_implementation_html, implementation_html

    calls = []

    def markdown(text: str) -> str:
        calls.append(text)
        return f"<p>{text}</p>"

    cache = tmp_path / "cache"
    path = _write(tmp_path, SAMPLE)
    module = read_module(path)
    first = cached_implementation_html(module, "runnable/sample.py", markdown, "config", cache)
    rendered = len(calls)
    assert first == implementation_html(module, "runnable/sample.py", markdown) and rendered
    calls.clear()
    assert cached_implementation_html(read_module(path), "runnable/sample.py", markdown, "config", cache) == first
    assert not calls, "an unchanged module was rendered again"
    # Another Markdown configuration is another entry; an edit renders anew; one entry per module stays.
    assert cached_implementation_html(module, "runnable/sample.py", markdown, "other config", cache) == first
    assert calls
    edited = read_module(_write(tmp_path, SAMPLE.replace("Dot product of q and k.", "The edited docstring.")))
    assert "The edited docstring." in cached_implementation_html(edited, "runnable/sample.py", markdown, "config", cache)
    assert len(list(cache.glob("*/sample.html"))) == 1
