"""Self-contained notebooks: a mechanism page's notebook that runs anywhere, with nothing but its
own cells (a fresh Jupyter, Google Colab).

The page's notebook (docs/mechanisms/<slug>.py) imports `runnable.<module>` and the plot helpers
of docs/mechanisms/_setup.py, which exist only in a clone. The download instead gets, in order:

1. a cell that installs torch and matplotlib, only when they are missing;
2. the helpers of _setup.py, then the source of every runnable/ module the page uses, its
   dependencies first (transitively), as code cells cut at each top-level definition, so a
   reader can edit a definition and rerun;
3. the page's own cells, with `from _setup import …` and `from runnable.x import …` dropped (the
   names are already defined), `import runnable.x as mechanism` bound to the notebook's own
   namespace, and `show_source(…)` calls dropped (the source is in the cells above);
4. the data files a page reads from `results/`, written beside the notebook.

Everything here is a pure function of the files it reads; `scripts/standalone_run.py` executes.
"""
from __future__ import annotations

import ast
import base64
import re
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "runnable"
SETUP = "_setup"
# Only what the notebooks import beyond the standard library and IPython (which Jupyter has).
REQUIREMENTS = ("torch", "matplotlib")

INSTALL_CELL = '''\
# Installs what this notebook needs, and only what is missing (Colab has both already).
import importlib.util
import sys

missing = [name for name in {requirements!r} if importlib.util.find_spec(name) is None]
if missing:
    %pip install --quiet {{" ".join(missing)}}'''


@dataclass(frozen=True)
class Edit:
    """Replace lines [start, end] (1-based, inclusive) of a source with `text` (may be empty)."""
    start: int
    end: int
    text: str


def _apply(source: str, edits: list[Edit]) -> str:
    lines = source.splitlines()
    for edit in sorted(edits, key=lambda e: e.start, reverse=True):
        lines[edit.start - 1:edit.end] = edit.text.splitlines()
    return "\n".join(lines)


def _module_of(node: ast.AST) -> str | None:
    """`runnable.x` imported by a `from runnable.x import …` or `import runnable.x [as y]`, else None."""
    if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == PACKAGE and node.level == 0:
        return node.module.split(".", 1)[1] if "." in node.module else None
    if isinstance(node, ast.Import) and any(a.name.split(".")[0] == PACKAGE for a in node.names):
        return next(a.name.split(".", 1)[1] for a in node.names if a.name.split(".")[0] == PACKAGE)
    return None


def _is_main_guard(node: ast.AST) -> bool:
    return (isinstance(node, ast.If) and isinstance(node.test, ast.Compare)
            and isinstance(node.test.left, ast.Name) and node.test.left.id == "__name__")


def _imports(tree: ast.AST) -> list[str]:
    """The runnable modules a module imports anywhere (outside its `__main__` block) in order of appearance."""
    guards = {id(n) for top in ast.iter_child_nodes(tree) if _is_main_guard(top) for n in ast.walk(top)}
    found = []
    for node in ast.walk(tree):
        module = _module_of(node)
        if module and id(node) not in guards and module not in found:
            found.append(module)
    return found


def module_path(module: str, root: Path = ROOT) -> Path:
    return root / PACKAGE / f"{module}.py"


def dependency_order(modules: list[str], root: Path = ROOT) -> list[str]:
    """`modules` and every runnable module they import, transitively, each after what it imports."""
    ordered: list[str] = []

    def visit(module: str, stack: tuple[str, ...]) -> None:
        if module in ordered or module in stack:
            return
        tree = ast.parse(module_path(module, root).read_text(encoding="utf-8"))
        for dependency in _imports(tree):
            visit(dependency, stack + (module,))
        ordered.append(module)

    for module in modules:
        visit(module, ())
    return ordered


def _top_level_definitions(tree: ast.Module) -> set[str]:
    names = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            for target in node.targets if isinstance(node, ast.Assign) else [node.target]:
                names.update(n.id for n in ast.walk(target) if isinstance(n, ast.Name))
    return names


def clash_renames(order: list[str], root: Path = ROOT) -> dict[tuple[str, str], str]:
    """(module, name) → new name for a dependency's top-level definition that another inlined module
    also defines (e.g. every module's `demo`): in one namespace the later definition would replace it
    for the dependency's own code too. The last module (the page's) keeps its names."""
    definitions = {m: _top_level_definitions(ast.parse(module_path(m, root).read_text(encoding="utf-8"))) for m in order}
    renames = {}
    for module in order[:-1]:
        others = set().union(*(definitions[m] for m in order if m != module))
        for name in sorted(definitions[module] & others):
            renames[(module, name)] = f"{name}_{module.lstrip('_')}"
    return renames


def _local_names(function: ast.AST) -> set[str]:
    """Names bound inside a function (parameters, assignments, imports, nested definitions), which
    must not be renamed there even when a global of the same name is."""
    names = {a.arg for a in ast.walk(function.args) if isinstance(a, ast.arg)} if hasattr(function, "args") else set()
    for node in ast.walk(function):
        if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            names.add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node is not function:
            names.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
        elif isinstance(node, ast.Global):
            names.difference_update(node.names)
    return names


def _rename_edits(source: str, tree: ast.Module, renames: dict[str, str]) -> list[tuple[int, int, int, str]]:
    """(line, column, length, new text) for every global use or definition of a renamed name."""
    lines = source.splitlines()
    found = []

    def walk(node: ast.AST, shadowed: set[str]) -> None:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            if node.name in renames and not shadowed & {node.name}:
                line = lines[node.lineno - 1]
                match = re.compile(rf"\b(def|class)\s+({re.escape(node.name)})\b").search(line, node.col_offset)
                found.append((node.lineno, match.start(2), len(node.name), renames[node.name]))
            for child in node.decorator_list + getattr(node, "bases", []):
                walk(child, shadowed)
            inner = shadowed | (_local_names(node) if not isinstance(node, ast.ClassDef) else set())
            for child in node.body:
                walk(child, inner)
            if hasattr(node, "args"):
                for default in node.args.defaults + node.args.kw_defaults:
                    if default is not None:
                        walk(default, shadowed)
            return
        if isinstance(node, ast.Lambda):
            shadowed = shadowed | _local_names(node)
        if isinstance(node, ast.Name) and node.id in renames and node.id not in shadowed:
            found.append((node.lineno, node.col_offset, len(node.id), renames[node.id]))
        for child in ast.iter_child_nodes(node):
            walk(child, shadowed)

    walk(tree, set())
    return found


def _import_replacement(node: ast.ImportFrom | ast.Import, renames: dict[tuple[str, str], str], indent: str) -> str:
    """What a `from runnable.x import a as b` becomes once x's definitions share the namespace:
    `b = a` (under a's new name if it was renamed), nothing for an import without an alias (its uses
    were renamed instead)."""
    if isinstance(node, ast.Import):
        return ""
    module = node.module.split(".", 1)[1]
    return "\n".join(f"{indent}{alias.asname} = {renames.get((module, alias.name), alias.name)}"
                     for alias in node.names if alias.asname and alias.asname != alias.name)


def inlined_module_source(module: str, renames: dict[tuple[str, str], str], root: Path = ROOT) -> str:
    """A runnable module's source, ready to share one namespace with the others: its runnable
    imports replaced by the names they bind, clashing definitions renamed, and its
    `if __name__ == "__main__":` block (the terminal entry point) left out."""
    source = module_path(module, root).read_text(encoding="utf-8")
    tree = ast.parse(source)
    own = {name: new for (m, name), new in renames.items() if m == module}
    # A name imported from another module that was renamed there is used under its new name here.
    for node in ast.walk(tree):
        origin = _module_of(node)
        if origin and isinstance(node, ast.ImportFrom):
            for alias in node.names:
                if (origin, alias.name) in renames and alias.asname is None:
                    own.setdefault(alias.name, renames[(origin, alias.name)])
    lines = source.splitlines()
    for line, column, length, new in sorted(_rename_edits(source, tree, own), reverse=True):
        text = lines[line - 1]
        lines[line - 1] = text[:column] + new + text[column + length:]
    source = "\n".join(lines)
    tree = ast.parse(source)
    edits = []
    for node in ast.walk(tree):
        if _module_of(node):
            edits.append(Edit(node.lineno, node.end_lineno, _import_replacement(node, renames, " " * node.col_offset)))
    for node in tree.body:
        if _is_main_guard(node):
            edits.append(Edit(node.lineno, node.end_lineno, ""))
    return _apply(source, edits).rstrip() + "\n"


def split_at_definitions(source: str) -> list[str]:
    """The source cut before each top-level function or class (with its decorators and the comment
    lines right above it): one cell per definition, the module's head in the first."""
    tree = ast.parse(source)
    lines = source.splitlines()
    starts = []
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            start = min([node.lineno] + [d.lineno for d in node.decorator_list])
            while start > 1 and lines[start - 2].lstrip().startswith("#"):
                start -= 1
            starts.append(start)
    bounds = [1] + [s for s in starts if s > 1] + [len(lines) + 1]
    chunks = ["\n".join(lines[a - 1:b - 1]).strip("\n") for a, b in zip(bounds, bounds[1:])]
    return [c for c in chunks if c.strip()]


def _rewrite_page_cell(source: str, helpers: set[str]) -> str | None:
    """A code cell of the page notebook, made to run without `runnable` and `_setup`, without the
    calls (statements) to the source-showing `helpers`: None when nothing is left of it."""
    try:
        tree = ast.parse(source)
    except SyntaxError:  # IPython syntax (magics): left as it is
        return source
    edits = []
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.module == SETUP:
            edits.append(Edit(node.lineno, node.end_lineno, ""))
        elif isinstance(node, ast.Import) and _module_of(node):
            bound = [a.asname or a.name.split(".")[0] for a in node.names]
            edits.append(Edit(node.lineno, node.end_lineno, "\n".join(
                f"{name} = sys.modules[__name__]  # the definitions are the cells above" for name in bound)))
        elif isinstance(node, ast.ImportFrom) and _module_of(node):
            edits.append(Edit(node.lineno, node.end_lineno, ""))
        elif (isinstance(node, ast.Expr) and isinstance(node.value, ast.Call)
              and isinstance(node.value.func, ast.Name) and node.value.func.id in helpers):
            edits.append(Edit(node.lineno, node.end_lineno, ""))
    rewritten = _apply(source, edits).strip("\n")
    rewritten = re.sub(r"\n{3,}", "\n\n", rewritten)
    return rewritten if rewritten.strip() else None


def source_displays(setup_source: str) -> set[str]:
    """The helpers of _setup.py that show source code (they call inspect.getsource, directly or
    through another such helper): in the self-contained notebook the code is in cells already."""
    functions = {n.name: n for n in ast.parse(setup_source).body if isinstance(n, ast.FunctionDef)}
    calls = {name: {c.func.attr if isinstance(c.func, ast.Attribute) else getattr(c.func, "id", "")
                    for c in ast.walk(node) if isinstance(c, ast.Call)} for name, node in functions.items()}
    found = {name for name, called in calls.items() if called & {"getsource", "getsourcelines"}}
    while grown := {name for name, called in calls.items() if called & found} - found:
        found |= grown
    return found


def _defines(cell: str) -> str | None:
    """The name a cell defines when it is one function or class, else None."""
    body = ast.parse(cell).body
    return body[0].name if len(body) == 1 and isinstance(body[0], (ast.FunctionDef, ast.ClassDef)) else None


def _page_modules(notebook) -> list[str]:
    modules = []
    for cell in notebook.cells:
        if cell.cell_type == "code":
            try:
                tree = ast.parse(cell.source)
            except SyntaxError:
                continue
            modules += [m for m in _imports(tree) if m not in modules]
    return modules


def _uses_setup(notebook) -> bool:
    return any(cell.cell_type == "code" and re.search(rf"^\s*from {SETUP} import", cell.source, re.M)
               for cell in notebook.cells)


def _data_cell(results: Path) -> str:
    """A cell that writes the page's data files (docs/mechanisms/results/) beside the notebook."""
    files = {p.name: base64.b64encode(p.read_bytes()).decode() for p in sorted(results.iterdir()) if p.is_file()}
    body = ",\n".join(f"    {name!r}: {data!r}" for name, data in files.items())
    return ("# The data this page draws (docs/mechanisms/results/ in the repository), written beside the notebook.\n"
            "import base64, pathlib\n\n"
            f"RESULTS = {{\n{body},\n}}\n"
            'pathlib.Path("results").mkdir(exist_ok=True)\n'
            "for name, data in RESULTS.items():\n"
            '    pathlib.Path("results", name).write_bytes(base64.b64decode(data))')


def standalone_notebook(page_source: Path, page_url: str, repo_url: str, root: Path = ROOT):
    """The self-contained notebook (an nbformat v4 notebook, not executed) for a page's jupytext source."""
    import jupytext
    import nbformat
    from nbformat.v4 import new_code_cell, new_markdown_cell

    page = jupytext.read(page_source)
    modules = dependency_order(_page_modules(page), root)
    renames = clash_renames(modules, root) if modules else {}
    setup_path = page_source.parent / f"{SETUP}.py"
    helpers = source_displays(setup_path.read_text(encoding="utf-8")) if setup_path.exists() else set()

    introduction = new_markdown_cell(
        f"This notebook is self-contained: the cells below define everything it uses, taken at build time from "
        f"[the repository]({repo_url}). The page it comes from, with the figures: <{page_url}>.")
    definitions = []
    if _uses_setup(page):
        definitions.append(new_markdown_cell(f"### Plot helpers (`docs/mechanisms/{SETUP}.py`)"))
        definitions += [new_code_cell(c) for c in split_at_definitions(setup_path.read_text(encoding="utf-8"))
                        if _defines(c) not in helpers]  # no source display: the source is in the cells
    for module in modules:
        note = "" if module == modules[-1] else " (used by the modules below)"
        definitions.append(new_markdown_cell(
            f"### `{PACKAGE}/{module}.py`{note}\n\nThe module's source; its terminal entry point "
            f"(`python -m {PACKAGE}.{module}`) is left out."))
        definitions += [new_code_cell(c) for c in split_at_definitions(inlined_module_source(module, renames, root))]
    if "results" in "".join(c.source for c in page.cells if c.cell_type == "code") and (page_source.parent / "results").is_dir():
        definitions.append(new_code_cell(_data_cell(page_source.parent / "results")))

    # The title first, then what this notebook is; the definitions go before the page's first code.
    first_is_title = bool(page.cells) and page.cells[0].cell_type == "markdown"
    install = new_code_cell(INSTALL_CELL.format(requirements=REQUIREMENTS))
    cells = ([new_markdown_cell(page.cells[0].source)] if first_is_title else []) + [introduction, install]
    placed = False
    for cell in page.cells[1 if first_is_title else 0:]:
        if cell.cell_type == "code":
            if not placed:
                cells += definitions
                placed = True
            source = _rewrite_page_cell(cell.source, helpers)
            if source is not None:
                cells.append(new_code_cell(source))
        else:
            cells.append(new_markdown_cell(cell.source))
    if not placed:
        cells += definitions
    notebook = nbformat.v4.new_notebook(cells=cells, metadata={
        "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
        "language_info": {"name": "python"}})
    for index, cell in enumerate(notebook.cells):
        cell.id = f"cell-{index}"  # stable ids: the same inputs give the same file (and cache key)
    return notebook
