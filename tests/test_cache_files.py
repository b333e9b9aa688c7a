"""The build caches are shared by concurrent builds and test workers: a write is all or nothing,
and two writers of one entry neither collide nor fail (scripts/cache_files.py)."""
from __future__ import annotations

import multiprocessing
from pathlib import Path

from scripts.cache_files import remove_stale, write_atomically

SIZE = 1 << 20  # large enough that a write takes many system calls


def _writer(path: str, mark: int, rounds: int) -> None:
    for _ in range(rounds):
        write_atomically(Path(path), lambda partial: partial.write_bytes(bytes([mark]) * SIZE))


def test_concurrent_writers_of_one_entry_leave_one_whole_file_and_no_temporaries(tmp_path):
    target = tmp_path / "key" / "entry.ipynb"
    context = multiprocessing.get_context("spawn")
    writers = [context.Process(target=_writer, args=(str(target), mark, 20)) for mark in (1, 2, 3)]
    for writer in writers:
        writer.start()
    while any(writer.is_alive() for writer in writers):
        if target.exists():
            data = target.read_bytes()
            assert len(data) == SIZE and len(set(data)) == 1, "a reader saw part of a write"
    for writer in writers:
        writer.join()
        assert writer.exitcode == 0
    assert len(set(target.read_bytes())) == 1
    assert [p.name for p in target.parent.iterdir()] == ["entry.ipynb"]


def test_a_failed_write_leaves_the_old_entry_and_no_temporary(tmp_path):
    target = tmp_path / "entry.json"
    target.write_text("old")

    def fail(partial: Path) -> None:
        partial.write_text("half")
        raise OSError("disk full")

    try:
        write_atomically(target, fail)
    except OSError:
        pass
    assert target.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["entry.json"]


def test_removing_stale_entries_another_process_removed_first_is_fine(tmp_path):
    keep, stale = tmp_path / "a", tmp_path / "b"
    keep.write_text("keep")
    remove_stale([keep, stale, tmp_path / "gone"], keep=keep)
    assert keep.exists()
