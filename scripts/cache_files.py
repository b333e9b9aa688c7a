"""Writing into the build caches, which several builds and test workers use at the same moment."""
from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path


def write_atomically(path: Path, write: Callable[[Path], None]) -> None:
    """`write(temporary)` fills a file of this call's own beside `path`, which then replaces
    `path` in one step: a reader finds the old file or the whole new one, never half of one, and
    two processes writing the same entry never write into one temporary file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".partial")
    os.close(handle)
    try:
        write(Path(temporary))
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def remove_stale(paths: Iterable[Path], keep: Path) -> None:
    """Delete the entries in `paths` other than `keep`; one another process removed first is fine."""
    for stale in paths:
        if stale != keep:
            stale.unlink(missing_ok=True)
