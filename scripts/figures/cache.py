"""Figures drawn by running modules, cached by their inputs: the figure code, every module in
runnable/ (a figure may import any of them), the results files and the torch version. A build
that changed none of them reads the stored drawing and never imports torch."""
from __future__ import annotations

import functools
import hashlib
import importlib
import json
from dataclasses import asdict
from importlib.metadata import version
from pathlib import Path

from scripts.cache_files import remove_stale, write_atomically
from scripts.figures.diagram import Diagram, Shape

ROOT = Path(__file__).resolve().parents[2]
CACHE = ROOT / ".cache" / "figures"


def inputs(root: Path = ROOT) -> list[Path]:
    return sorted([*(root / "scripts" / "figures").glob("*.py"), *(root / "runnable").glob("*.py"),
                   *(root / "docs" / "mechanisms" / "results").glob("*"),
                   root / "scripts" / "templates" / "diagram.html"])


def cache_key(root: Path = ROOT) -> str:
    paths = inputs(root)
    # Hashing is redone only when a file's size or time changed: a build asks once per figure.
    return _hash(root, tuple((path, path.stat().st_mtime_ns, path.stat().st_size) for path in paths))


@functools.lru_cache(maxsize=8)
def _hash(root: Path, stamped: tuple[tuple[Path, int, int], ...]) -> str:
    digest = hashlib.sha256(f"torch={version('torch')}".encode())
    for path, _, _ in stamped:
        digest.update(path.relative_to(root).as_posix().encode() + b"\0" + hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()[:20]


def _load(path: Path) -> Diagram:
    return _diagram(json.loads(path.read_text(encoding="utf-8")))


def _diagram(stored: dict) -> Diagram:
    shapes = [Shape(s["tag"], tuple(tuple(pair) for pair in s["attributes"]), s["text"], s["title"], s["href"])
              for s in stored.pop("shapes")]
    narrow = stored.pop("narrow", None)
    return Diagram(**stored, shapes=shapes, narrow=_diagram(narrow) if narrow else None)


def cached_diagram(name: str, module: str, function: str, cache_dir: Path = CACHE) -> Diagram:
    """scripts.figures.<module>.<function>() from the cache, drawn and stored on a miss."""
    path = cache_dir / cache_key() / f"{name}.json"
    if path.exists():
        return _load(path)
    remove_stale(cache_dir.glob(f"*/{name}.json"), keep=path)  # drawn from inputs that have since changed
    drawn = getattr(importlib.import_module(f"scripts.figures.{module}"), function)()
    write_atomically(path, lambda partial: partial.write_text(json.dumps(asdict(drawn), ensure_ascii=False),
                                                              encoding="utf-8"))
    return drawn
