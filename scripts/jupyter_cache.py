"""mkdocs-jupyter's cache of rendered notebook pages, made safe for builds that run at once.

The plugin (0.26) keeps each notebook's HTML in a folder relative to the working directory,
writes it in place, and at the end of every build deletes each file that build did not use.
Two builds at once (the test suite builds several sites beside each other; `make serve` beside
`make build`) then delete each other's files between the plugin's `exists()` and its read, or
unlink a file the other already removed, and the build dies with FileNotFoundError.

So each build gets a private folder of hard links to the shared cache, and the plugin reads and
writes only there. At the end the build publishes the files it wrote into the shared cache
(a link and a rename: a reader never sees half a file), marks each entry it used as used now (the
entry's modification time), and evicts what no build has used for a week (a file another build
already removed is fine). A hard link outlives the shared name, so a build never loses a file it
is reading.

Not "what this build did not use", the plugin's rule: builds of different pages take turns on one
cache (the test suite's serve test builds a site without notebooks, the real build has 63), and
each would empty the cache for the next; every `make test` then rendered all 63 notebooks again
(15 s of its build)."""
from __future__ import annotations

import os
import shutil
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT / ".cache" / "mkdocs-jupyter"
_PRIVATE_PREFIX = "mkdocs-jupyter-build-"
_ABANDONED_AFTER_S = 24 * 3600   # a private folder left by a killed build
UNUSED_FOR_S = 7 * 24 * 3600      # an entry no build has used for this long is evicted


def open_private(plugin, shared: Path = SHARED) -> Path:
    """Point the plugin at a new private folder holding links to every shared entry."""
    shared.mkdir(parents=True, exist_ok=True)
    _remove_abandoned(shared.parent)
    private = Path(tempfile.mkdtemp(prefix=_PRIVATE_PREFIX, dir=shared.parent))
    for entry in shared.glob("*.json"):
        try:
            os.link(entry, private / entry.name)
        except FileNotFoundError:   # evicted by another build since the listing
            pass
    plugin.config["cache_dir"] = str(private)
    return private


def close_private(plugin, private: Path, shared: Path = SHARED, now: float | None = None) -> None:
    """Publish what this build wrote, mark what it used, evict what no build has used for
    UNUSED_FOR_S, and remove the private folder. Runs before the plugin's own eviction, which then
    finds no folder and does nothing."""
    now = time.time() if now is None else now
    used = {Path(path).name for path in getattr(plugin, "_used_cache_paths", ())}
    for name in sorted(used):
        written = private / name
        published = shared / name
        if not written.exists():
            continue
        if not (published.exists() and os.path.samefile(written, published)):
            staging = shared / f".{name}.{os.getpid()}.partial"
            os.link(written, staging)
            os.replace(staging, published)
        try:
            os.utime(published, (now, now))
        except FileNotFoundError:   # evicted by another build since
            pass
    for entry in shared.glob("*.json"):
        try:
            if entry.name not in used and entry.stat().st_mtime < now - UNUSED_FOR_S:
                entry.unlink(missing_ok=True)
        except FileNotFoundError:
            pass
    discard_private(private)


def discard_private(private: Path) -> None:
    shutil.rmtree(private, ignore_errors=True)


def _remove_abandoned(folder: Path) -> None:
    cutoff = time.time() - _ABANDONED_AFTER_S
    for private in folder.glob(f"{_PRIVATE_PREFIX}*"):
        try:
            if private.stat().st_mtime < cutoff:
                discard_private(private)
        except FileNotFoundError:
            pass
