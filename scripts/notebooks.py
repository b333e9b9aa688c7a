"""Execute the mechanism notebooks (jupytext scripts in docs/mechanisms/) with nbclient.

Execution is cached: the key covers the notebook, every runnable/ module, the setup helper,
the torch version and the device, so an unchanged site rebuilds in seconds and any change
that could alter an output runs the notebook again. A failing cell fails the build
(allow_errors off), and every cell has a timeout."""
from __future__ import annotations

import hashlib
import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / ".cache" / "notebooks"
CELL_TIMEOUT_S = 120


class NotebookFailed(Exception):
    pass


def device_name() -> str:
    import torch

    return torch.cuda.get_device_name(0) if torch.cuda.is_available() else "cpu"


def cache_key(source: Path) -> str:
    import torch

    digest = hashlib.sha256()
    for path in [source, *sorted((ROOT / "runnable").glob("*.py")), *sorted(source.parent.glob("_*.py"))]:
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    digest.update(f"torch={torch.__version__};device={device_name()}".encode())
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
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    target = _cache_path(source, cache_dir)
    if target.exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    notebook = jupytext.read(source)
    client = NotebookClient(notebook, timeout=CELL_TIMEOUT_S, kernel_name="python3", allow_errors=False,
                            resources={"metadata": {"path": str(source.parent)}})
    try:
        client.execute()
    except CellExecutionError as error:
        raise NotebookFailed(f"{os.path.relpath(source, ROOT)}: a cell failed\n{error}") from None
    partial = target.with_suffix(".tmp")
    nbformat.write(notebook, partial)
    partial.replace(target)  # never leave a half-written notebook in the cache
    for stale in cache_dir.glob(f"*/mechanisms/{source.stem}.ipynb"):
        if stale != target:
            stale.unlink()
    return target
