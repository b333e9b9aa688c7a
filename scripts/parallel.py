"""Map a function over many items on every core, for the validator's per-file and per-record work.

At 5,000 entries, parsing YAML and formatting BibTeX records dominate validation and each item
is independent. Workers are forked, so the function and the items are inherited rather than
pickled; only results travel back. Serial when the input is small, when fork is unavailable,
or when other threads are running (forking a threaded process can deadlock: `mkdocs serve`)."""
from __future__ import annotations

import math
import multiprocessing
import os
import threading
from typing import Callable, Sequence, TypeVar

T = TypeVar("T")
R = TypeVar("R")
S = TypeVar("S")
_WORK: tuple[Callable, Sequence] | None = None


def _run_chunk(bounds: tuple[int, int]) -> list:
    func, items = _WORK
    return [func(item) for item in items[bounds[0]:bounds[1]]]


def parallel_map(func: Callable[[T], R], items: Sequence[T], min_items: int = 400) -> list[R]:
    return parallel_map_beside(func, items, lambda: None, min_items)[0]


def parallel_map_beside(func: Callable[[T], R], items: Sequence[T], beside: Callable[[], S],
                        min_items: int = 400) -> tuple[list[R], S]:
    """parallel_map, running `beside()` in this process meanwhile (serial work that would
    otherwise leave a core idle). While the pool runs, this process has threads, so any
    parallel_map inside `beside` runs serially."""
    global _WORK
    workers = min(os.cpu_count() or 1, 8)
    if (len(items) < min_items or workers < 2 or threading.active_count() > 1
            or "fork" not in multiprocessing.get_all_start_methods()):
        return [func(item) for item in items], beside()
    size = math.ceil(len(items) / workers)
    _WORK = (func, items)
    try:
        with multiprocessing.get_context("fork").Pool(workers) as pool:
            pending = pool.map_async(_run_chunk, [(i, min(i + size, len(items))) for i in range(0, len(items), size)])
            other = beside()
            chunks = pending.get()
    finally:
        _WORK = None
    return [result for chunk in chunks for result in chunk], other
