"""Execute the mechanism notebooks (jupytext scripts in docs/mechanisms/) with nbclient.

Execution is cached per notebook: the key covers the notebook, the runnable/ modules it imports
(transitively), the shared helpers beside it (docs/mechanisms/_*.py), the data files it names, the
torch version and the device. An unchanged site rebuilds in seconds, editing one module reruns only
the notebooks that depend on it, and any change that could alter an output runs the notebook
again. A failing cell fails the build (allow_errors off), and every cell has a timeout."""
from __future__ import annotations

import ast
import fnmatch
import functools
import hashlib
import os
import shutil
from pathlib import Path

from scripts.cache_files import write_atomically

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / ".cache" / "notebooks"
CELL_TIMEOUT_S = 120
# A hang guard, not a budget: on a busy 2-core machine (two builds, the tests beside them) a kernel
# took longer than nbclient's default 60 s to start, and the build failed for no fault of its own.
KERNEL_STARTUP_TIMEOUT_S = 600


class NotebookFailed(Exception):
    pass


def device_name() -> str:
    if not _gpu_device_files():
        return "cpu"  # what torch would say, without the second it takes to import it
    import torch

    return torch.cuda.get_device_name(0) if torch.cuda.is_available() else "cpu"


def _gpu_device_files() -> bool:
    """Whether the machine has a device node torch's CUDA (NVIDIA) or ROCm (AMD) build could open;
    without one, torch.cuda.is_available() is False."""
    return any(Path(node).exists() for node in ("/dev/nvidiactl", "/dev/nvidia0", "/dev/kfd"))


def torch_version() -> str:
    """torch.__version__, read from the installed package's metadata: a warm build, which executes
    nothing, then never imports torch."""
    import importlib.metadata

    return importlib.metadata.version("torch")


def _is_main_guard(node: ast.stmt) -> bool:
    return (isinstance(node, ast.If) and isinstance(node.test, ast.Compare)
            and isinstance(node.test.left, ast.Name) and node.test.left.id == "__name__"
            and any(isinstance(c, ast.Constant) and c.value == "__main__" for c in node.test.comparators))


def _runnable_imports(path: Path) -> frozenset[str] | None:
    """The runnable/ modules one Python file imports, anywhere in it (function bodies included):
    `import runnable.x [as m]`, `from runnable.x import y`, `from runnable import x`, and inside
    runnable/ itself `from .x import y` / `from . import x`. None when the file does not parse."""
    return _imports_in(path.read_bytes(), path.parent.name == "runnable")


# Parsed once per content: a build computes two keys per notebook (page and download), each
# following the imports of the same few modules, and `mkdocs serve` recomputes them on each save.
@functools.lru_cache(maxsize=1024)
def _imports_in(source: bytes, inside_package: bool) -> frozenset[str] | None:
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return None
    names: set[str] = set()
    # A module's `if __name__ == "__main__":` block (its terminal demo) never runs in a notebook.
    tree.body = [node for node in tree.body if not _is_main_guard(node)]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[1] for alias in node.names if alias.name.startswith("runnable."))
        elif isinstance(node, ast.ImportFrom):
            package = node.module if node.level == 0 else (".".join(filter(None, ["runnable", node.module]))
                                                         if inside_package and node.level == 1 else None)
            if package == "runnable":
                names.update(alias.name for alias in node.names)  # a module or a name from __init__
            elif package and package.startswith("runnable."):
                names.add(package.split(".")[1])
    return frozenset(names)


def _string_constants(path: Path) -> frozenset[str]:
    return _strings_in(path.read_bytes())


@functools.lru_cache(maxsize=1024)
def _strings_in(source: bytes) -> frozenset[str]:
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return frozenset()
    return frozenset(node.value for node in ast.walk(tree) if isinstance(node, ast.Constant) and isinstance(node.value, str))


_WILDCARDS = frozenset("*?[")


def _named_in(strings: set[str], patterns: list[str], name: str, relative: str) -> bool:
    """Whether one of the notebook's strings names this file, as it is or as a glob (`patterns`:
    those strings with wildcard characters). A notebook holds hundreds of strings and only those
    few need fnmatch: a build asks this for every data file of every notebook, twice."""
    return (name in strings or relative in strings
            or any(fnmatch.fnmatch(name, p) or fnmatch.fnmatch(relative, p) for p in patterns))


def notebook_inputs(source: Path, root: Path = ROOT) -> list[Path]:
    """Every file a notebook's outputs can depend on, sorted: the notebook; the shared helpers
    beside it (`_*.py`); the runnable/ modules it imports, followed transitively (and the
    package's __init__, which every such import runs); and the data files beside it whose name
    or path (relative to the notebook, as pages open them: `results/x.csv`, or a glob such as
    `attention-cost-*.csv`) appears as a string in the notebook. A file that does not parse
    depends on every module, to be safe."""
    package = root / "runnable"
    helpers = sorted(source.parent.glob("_*.py"))
    modules: set[Path] = set()
    pending = [source, *helpers]
    seen: set[Path] = set()
    while pending:
        path = pending.pop()
        if path in seen:
            continue
        seen.add(path)
        names = _runnable_imports(path)
        found = set(package.glob("*.py")) if names is None else {package / f"{n}.py" for n in names}
        found = {module for module in found if module.is_file()}
        if names is not None and names:
            found.add(package / "__init__.py")
        modules |= found
        pending.extend(found - seen)
    strings = set().union(*(_string_constants(path) for path in [source, *helpers]))
    patterns = [string for string in strings if not _WILDCARDS.isdisjoint(string)]
    data = {path for path in source.parent.rglob("*")
            if path.is_file() and path.suffix not in (".py", ".pyc", ".ipynb")
            and _named_in(strings, patterns, path.name, path.relative_to(source.parent).as_posix())}
    return [source, *helpers, *sorted(module for module in modules if module.is_file()), *sorted(data)]


def cache_key(source: Path, root: Path = ROOT, device: str | None = None, more_inputs: tuple[Path, ...] = (),
              salt: str = "") -> str:
    """A digest of the notebook's inputs (notebook_inputs), any `more_inputs`, `salt`, torch's
    version and the device."""
    digest = hashlib.sha256(salt.encode() + b"\0")
    for path in [*notebook_inputs(source, root), *more_inputs]:
        name = path.relative_to(root).as_posix() if path.is_relative_to(root) else path.name
        digest.update(name.encode() + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    digest.update(f"torch={torch_version()};device={device or device_name()}".encode())
    return digest.hexdigest()[:20]


def cached(source: Path, cache_dir: Path = CACHE) -> Path | None:
    """The executed notebook from the cache, or None when it has to run."""
    target = _cache_path(source, cache_dir)
    return target if target.exists() else None


def _cache_path(source: Path, cache_dir: Path) -> Path:
    # <cache>/<key>/mechanisms/<slug>.ipynb: the path ends like the page's, so mkdocs-jupyter's
    # include pattern matches it and the download keeps the mechanism's name.
    return cache_dir / cache_key(source) / "mechanisms" / f"{source.stem}.ipynb"


def execute(source: Path, cache_dir: Path = CACHE) -> Path:
    """The executed .ipynb for a jupytext source, from the cache when nothing it depends on changed."""
    import jupytext
    import nbformat
    from filelock import FileLock
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    from scripts.warm_kernels import kernel_manager_class

    target = _cache_path(source, cache_dir)
    if target.exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    # One execution per notebook at a time: a build and the tests (or two builds) that want the
    # same notebook wait for the first to finish and then read its result.
    with FileLock(target.with_suffix(".lock")):
        if target.exists():
            return target
        notebook = jupytext.read(source)
        client = NotebookClient(notebook, timeout=CELL_TIMEOUT_S, startup_timeout=KERNEL_STARTUP_TIMEOUT_S,
                                kernel_name="python3", kernel_manager_class=kernel_manager_class(), allow_errors=False,
                                record_timing=False, resources={"metadata": {"path": str(source.parent)}})
        try:
            client.execute()
        except CellExecutionError as error:
            raise NotebookFailed(f"{os.path.relpath(source, ROOT)}: a cell failed\n{error}") from None
        except RuntimeError as error:  # the kernel did not start or died
            raise NotebookFailed(f"{os.path.relpath(source, ROOT)}: the kernel failed: {error}") from None
        _stable(notebook)
        write_atomically(target, lambda path: nbformat.write(notebook, path))
    for stale in cache_dir.glob(f"*/mechanisms/{source.stem}.ipynb"):
        if stale != target:  # a key names one notebook's inputs, so its folder holds only that notebook
            shutil.rmtree(stale.parents[1], ignore_errors=True)
    return target


def _stable(notebook) -> None:
    """Make an executed notebook depend only on its inputs: jupytext gives cells random ids, and
    nbclient would record each cell's execution times. Cells are numbered instead."""
    for index, cell in enumerate(notebook.cells):
        cell["id"] = f"cell-{index}"
        cell.get("metadata", {}).pop("execution", None)
