"""Execute the self-contained notebooks (scripts/standalone_notebook.py) the way a reader would:
in an empty directory, with a kernel that cannot import `runnable` or `_setup`.

The sandbox: the kernel starts in a fresh temporary directory, with PYTHONPATH set to a folder
holding only a `sitecustomize.py` that puts a finder at the head of `sys.meta_path` refusing those
names (the editable install of this project would otherwise find `runnable` from anywhere) and
drops the checkout's folders from `sys.path` (its .venv stays: that is the reader's Python). The executed notebook is cached under
.cache/notebooks/standalone/, keyed by what it is generated from (standalone_key), the torch
version and the device, so the build and the tests share one execution, an unchanged notebook
never reruns, and a rebuild finds it without generating it."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

from scripts import warm_kernels
from scripts.cache_files import remove_stale, write_atomically
from scripts.notebooks import CACHE, CELL_TIMEOUT_S, KERNEL_STARTUP_TIMEOUT_S, NotebookFailed, cache_key

ROOT = Path(__file__).resolve().parent.parent
STANDALONE_CACHE = CACHE / "standalone"
BLOCKED = ("runnable", "_setup", "scripts")

_SITECUSTOMIZE = '''\
"""Installed by scripts/standalone_run.py: this kernel must not see the Attention Atlas checkout."""
import sys

_BLOCKED = {blocked!r}
_CHECKOUT = {checkout!r}


class _Refuse:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in _BLOCKED:
            raise ModuleNotFoundError(f"No module named {{name!r}} (blocked: a self-contained notebook "
                                      "must not need the repository)", name=name)
        return None


sys.meta_path.insert(0, _Refuse())
sys.path[:] = [p for p in sys.path if p.rstrip("/") not in _CHECKOUT]
'''


def sandbox_env(blocker_dir: Path) -> dict[str, str]:
    """The kernel's environment: this one, with PYTHONPATH holding only the blocking sitecustomize."""
    blocker_dir.mkdir(parents=True, exist_ok=True)
    (blocker_dir / "sitecustomize.py").write_text(
        _SITECUSTOMIZE.format(blocked=BLOCKED, checkout=(str(ROOT), str(ROOT / "docs" / "mechanisms"))), encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONSTARTUP", "PYTHONHOME")}
    env["PYTHONPATH"] = str(blocker_dir)
    return env


def execute_isolated(notebook, name: str = "notebook") -> None:
    """Run every cell of `notebook` (in place) in a sandboxed kernel inside an empty directory;
    NotebookFailed names the first failing cell."""
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    from scripts.warm_kernels import kernel_manager_class

    with tempfile.TemporaryDirectory(prefix="atlas-sandbox-") as scratch:
        work = Path(scratch) / "work"
        work.mkdir()
        client = NotebookClient(notebook, timeout=CELL_TIMEOUT_S, startup_timeout=KERNEL_STARTUP_TIMEOUT_S,
                                kernel_name="python3", kernel_manager_class=kernel_manager_class(), allow_errors=False, resources={"metadata": {"path": str(work)}})
        try:
            client.execute(env=sandbox_env(Path(scratch) / "blocker"), cwd=str(work))
        except CellExecutionError as error:
            raise NotebookFailed(f"{name}: a cell failed in the sandbox\n{error}") from None
        except RuntimeError as error:  # the kernel did not start or died
            raise NotebookFailed(f"{name}: the kernel failed in the sandbox: {error}") from None


# The code that turns a page into its self-contained notebook and runs it: a change to either
# changes every notebook.
GENERATOR = (ROOT / "scripts" / "standalone_notebook.py", Path(__file__).resolve())


def standalone_inputs(source: Path) -> tuple[Path, ...]:
    """What a page's self-contained notebook is made of beyond what the page's own notebook
    depends on (notebook_inputs: its source, the helpers, the runnable/ modules it imports,
    transitively): the generator, and the whole results/ folder, which it may inline."""
    results = source.parent / "results"
    data = (tuple(sorted(p for p in results.iterdir() if p.is_file()))
            if results.is_dir() and "results" in source.read_text(encoding="utf-8") else ())
    return (*GENERATOR, *data)


def standalone_key(source: Path, page_url: str, repo_url: str, root: Path = ROOT) -> str:
    """The cache key of a page's executed self-contained notebook, from what it is made of (so a
    cached one is found without generating it), the addresses written into it, torch's version
    and the device."""
    return cache_key(source, root, more_inputs=standalone_inputs(source), salt=f"{page_url}\0{repo_url}")


def _standalone_path(source: Path, page_url: str, repo_url: str, cache_dir: Path) -> Path:
    return cache_dir / standalone_key(source, page_url, repo_url) / f"{source.stem}.ipynb"


def executed_standalone(source: Path, page_url: str, repo_url: str, cache_dir: Path = STANDALONE_CACHE) -> Path:
    """The executed self-contained notebook <cache>/<key>/<slug>.ipynb for a page's jupytext
    source, generated and run only when not cached."""
    import nbformat
    from filelock import FileLock

    from scripts.standalone_notebook import standalone_notebook

    target = _standalone_path(source, page_url, repo_url, cache_dir)
    if target.exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    # Two builds (or a build and the tests) that need this notebook: the second waits for the
    # first's result instead of running it again beside it.
    with FileLock(target.with_suffix(".lock")):
        if target.exists():
            return target
        notebook = standalone_notebook(source, page_url, repo_url)
        execute_isolated(notebook, f"the self-contained notebook for {source.stem}")
        write_atomically(target, lambda path: nbformat.write(notebook, path))
    remove_stale(cache_dir.glob(f"*/{source.stem}.ipynb"), keep=target)
    return target


def standalone_notebooks(docs_dir: Path, site_url: str, repository) -> list[tuple[str, Path]]:
    """(notebooks/<slug>.ipynb, executed self-contained notebook) for every mechanism page; those
    not cached run side by side, one kernel per core."""
    from scripts.mechanisms import notebook_sources
    from scripts.parallel import parallel_map
    from scripts.repository import notebook_uri

    def page_url(source: Path) -> str:
        return f"{site_url.rstrip('/')}/mechanisms/{source.stem}/"

    def build(source: Path) -> Path:
        return executed_standalone(source, page_url(source), repository.url)

    sources = notebook_sources(docs_dir)
    # Cache hits are looked up here, from the inputs' digest, so an unchanged rebuild neither
    # generates a notebook nor starts the warm kernel process.
    executed = {s: _standalone_path(s, page_url(s), repository.url, STANDALONE_CACHE) for s in sources}
    missing = [s for s, path in executed.items() if not path.exists()]
    if missing:
        warm_kernels.start()  # before the workers fork: they share its kernels
        executed.update(zip(missing, parallel_map(build, missing, min_items=2)))
    return [(notebook_uri(s.stem), executed[s]) for s in sources]
