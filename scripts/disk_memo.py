"""Results of pure, slow per-item work kept between runs: {digest of the input: JSON result}.

Formatting a BibTeX record with pybtex's style costs about a millisecond, most of `make check` at
5,000 records, and a record rarely changes between two runs. The file is one JSON object, newest
items last, cut to `limit` items; it is replaced atomically, so parallel runs never see half of
one. A change of `version` (the code or library that computes the results) empties it."""
from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any


def digest(value: Any) -> str:
    return hashlib.blake2b(repr(value).encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()


class DiskMemo:
    def __init__(self, path: Path, version: str, limit: int = 100_000):
        self.path, self.version, self.limit = path, version, limit

    def load(self) -> dict[str, Any]:
        try:
            stored = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return stored.get("items", {}) if isinstance(stored, dict) and stored.get("version") == self.version else {}

    def save(self, known: dict[str, Any], used: dict[str, Any]) -> None:
        """Keep `used` (this run's items, newest) and as many of `known` as fit under the limit."""
        items = {k: v for k, v in known.items() if k not in used}
        items.update(used)
        items = dict(list(items.items())[-self.limit:])
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile("w", encoding="utf-8", dir=self.path.parent, delete=False,
                                             prefix=self.path.name, suffix=".tmp") as handle:
                json.dump({"version": self.version, "items": items}, handle, separators=(",", ":"))
            os.replace(handle.name, self.path)
        except OSError:
            pass  # a read-only checkout still validates, only more slowly
