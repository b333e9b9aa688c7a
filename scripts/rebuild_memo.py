"""Results kept from one build to the next under `mkdocs serve`, which rebuilds the whole site in
one process on every save: a rebuild recomputes only what the save changed (an entry file's
parse, a record's formatted citation, an annotation's HTML) and takes the rest from the build
before.

Off unless the hooks turn it on (`mkdocs serve`): a one-off build or `make check` stores nothing.
Only the previous build's results are looked up, never those of the build in progress, so memory
holds one build's worth and a build does all its own work for values it did not have before
(the build benchmark's clones, which repeat texts, cost what new entries would)."""
from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from typing import Any

_memos: list[Memo] = []
_enabled = False


class Memo:
    def __init__(self) -> None:
        self._previous: dict[Hashable, Any] = {}
        self._current: dict[Hashable, Any] = {}
        _memos.append(self)

    def get(self, key: Hashable, compute: Callable[[], Any]) -> Any:
        """compute(), or the value the previous build had for `key`."""
        if not _enabled:
            return compute()
        value = self._previous[key] if key in self._previous else compute()
        self._current[key] = value
        return value

    def map(self, keys: Sequence[Hashable], compute: Callable[[list[int]], list]) -> list:
        """The value for each key: the previous build's, or for the keys it lacked, what
        `compute(indices)` returns for them in one call (which may run them in parallel; it is
        called even when no key is missing)."""
        if not _enabled:
            return compute(list(range(len(keys))))
        missing = [i for i, key in enumerate(keys) if key not in self._previous]
        computed = dict(zip(missing, compute(missing)))
        values = [computed[i] if i in computed else self._previous[key] for i, key in enumerate(keys)]
        self._current.update(zip(keys, values))
        return values


def enabled() -> bool:
    return _enabled


def enable() -> None:
    global _enabled
    _enabled = True


def next_build() -> None:
    """A build starts: what the last one computed is what this one may reuse."""
    for memo in _memos:
        memo._previous, memo._current = memo._current, {}
