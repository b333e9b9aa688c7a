"""Execute the self-contained notebooks (scripts/standalone_notebook.py) the way a reader would:
in an empty directory, with a kernel that cannot import `runnable` or `_setup`.

The sandbox: the kernel starts in a fresh temporary directory, with PYTHONPATH set to a folder
holding only a `sitecustomize.py` that puts a finder at the head of `sys.meta_path` refusing those
names (the editable install of this project would otherwise find `runnable` from anywhere) and
drops the checkout's folders from `sys.path` (its .venv stays: that is the reader's Python). The executed notebook is cached under
.cache/notebooks/standalone/, keyed by the generated notebook itself, the torch version and the
device, so the build and the tests share one execution and an unchanged notebook never reruns."""
from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

from scripts import warm_kernels
from scripts.cache_files import remove_stale, write_atomically
from scripts.notebooks import CACHE, CELL_TIMEOUT_S, KERNEL_STARTUP_TIMEOUT_S, NotebookFailed, device_name

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


def standalone_key(text: str) -> str:
    import torch

    digest = hashlib.sha256(text.encode())
    digest.update(f"torch={torch.__version__};device={device_name()}".encode())
    return digest.hexdigest()[:20]


def executed_standalone(notebook, slug: str, cache_dir: Path = STANDALONE_CACHE) -> Path:
    """The executed self-contained notebook <cache>/<key>/<slug>.ipynb, run only when not cached."""
    import nbformat
    from filelock import FileLock

    text = nbformat.writes(notebook)
    target = cache_dir / standalone_key(text) / f"{slug}.ipynb"
    if target.exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    # Two builds (or a build and the tests) that need this notebook: the second waits for the
    # first's result instead of running it again beside it.
    with FileLock(target.with_suffix(".lock")):
        if target.exists():
            return target
        execute_isolated(notebook, f"the self-contained notebook for {slug}")
        write_atomically(target, lambda path: nbformat.write(notebook, path))
    remove_stale(cache_dir.glob(f"*/{slug}.ipynb"), keep=target)
    return target


def standalone_notebooks(docs_dir: Path, site_url: str, repository) -> list[tuple[str, Path]]:
    """(notebooks/<slug>.ipynb, executed self-contained notebook) for every mechanism page; those
    not cached run side by side, one kernel per core."""
    from scripts.mechanisms import notebook_sources
    from scripts.parallel import parallel_map
    from scripts.repository import notebook_uri
    from scripts.standalone_notebook import standalone_notebook

    def build(source: Path) -> Path:
        page_url = f"{site_url.rstrip('/')}/mechanisms/{source.stem}/"
        return executed_standalone(standalone_notebook(source, page_url, repository.url), source.stem)

    sources = notebook_sources(docs_dir)
    warm_kernels.start()  # before the workers fork: they share its kernels
    return [(notebook_uri(s.stem), executed) for s, executed in zip(sources, parallel_map(build, sources, min_items=2))]
