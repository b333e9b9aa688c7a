"""Which files under timeline/ and bib/ are data, and reading them safely.

Pull requests come from strangers, so a name matching `*.yaml` proves nothing: it may be a
directory, a FIFO, a symlink to /dev/zero or to a file outside the repository. Every path is
resolved and must stay inside its data folder, be a regular file and be under a size cap before
a byte is read. Every other file in the folders is accounted for: an error when a contributor may
have meant it as data (`.yml`, `.YAML`, `.json`, no extension, a subfolder), a note when it is
clutter an editor or the OS leaves behind (backups, swap files, dotfiles), never silently dropped.
"""
from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from scripts.problems import Problem

ENTRY_LIMIT = 1 << 20        # 1 MiB: a long entry is a few KB
BIB_LIMIT = 32 << 20         # 32 MiB: the whole bibliography of a large field fits in a few MB
SCHEMA = "schema.json"
LEDGERS = "claims"
_BACKUP_SUFFIXES = ("~", ".bak", ".orig", ".rej", ".swp", ".swo", ".swx", ".tmp")
_OS_CLUTTER = {".DS_Store", "Thumbs.db", "desktop.ini"}


def display_path(path: Path) -> str:
    """Paths in messages are relative to where the command runs, when they can be."""
    folder = _display_folder(path.parent)
    return path.name if folder == "." else os.path.join(folder, path.name)


@lru_cache(maxsize=64)
def _display_folder(folder: Path) -> str:
    """relpath is slow (it makes both paths absolute); a run sees a handful of folders."""
    try:
        return os.path.relpath(folder)
    except ValueError:
        return str(folder)


@lru_cache(maxsize=64)
def _resolved(folder: Path) -> Path:
    return folder.resolve(strict=True)


@dataclass
class Inventory:
    """The files to read, the files refused (problems) and the files ignored (notes)."""
    data: list[Path] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    notes: list[Problem] = field(default_factory=list)


def _clutter(name: str) -> str | None:
    """Why a file is an editor's or the OS's leftover (ignored with a note), or None."""
    if name in _OS_CLUTTER:
        return "a file the operating system leaves behind"
    if name.endswith(_BACKUP_SUFFIXES) or name.startswith(".#") or (name.startswith("#") and name.endswith("#")):
        return "an editor's backup or swap file"
    if name.startswith("."):
        return "a hidden file"
    return None


def inventory(folder: Path, suffix: str, what: str, allowed: frozenset[str] = frozenset(),
              subfolders: frozenset[str] = frozenset()) -> Inventory:
    """Sort the entries of `folder`: files named `*<suffix>` are data; `allowed` names are known
    files read elsewhere (the schema); `subfolders` are read elsewhere (the claims ledgers)."""
    found = Inventory()
    try:
        names = sorted(os.listdir(folder))
    except FileNotFoundError:
        return found
    except OSError as error:
        found.problems.append(Problem(display_path(folder), 1, f"cannot list the folder ({error.strerror})",
                                      "make it a readable folder"))
        return found
    for name in names:
        path = folder / name
        shown = display_path(path)
        clutter = _clutter(name)
        stem, dot, extension = name.rpartition(".")
        if name in allowed or (name in subfolders and path.is_dir() and not path.is_symlink()):
            continue
        if clutter:
            found.notes.append(Problem(shown, 1, f"ignored: {clutter}", "delete it, or leave it out of your commit"))
        elif name.endswith(suffix):
            found.data.append(path)
        elif dot and extension.lower() in {suffix[1:], "yml"} | ({"yaml"} if suffix == ".yaml" else set()):
            found.problems.append(Problem(shown, 1, f"{what} files end in '{suffix}', so this file is not read",
                                          f"rename it to {stem}{suffix}"))
        elif os.path.isdir(path):
            found.problems.append(Problem(shown, 1, f"a folder inside {display_path(folder)}/ is not read",
                                          f"put {what} files directly in {display_path(folder)}/ as <name>{suffix}"))
        else:
            found.problems.append(Problem(shown, 1, f"only *{suffix} files are read in {display_path(folder)}/, and this one is not",
                                          f"rename it to <name>{suffix} if it is meant as one, or move it out of {display_path(folder)}/"))
    return found


def read_data_file(path: Path, folder: Path, limit: int) -> tuple[str | None, Problem | None]:
    """The text of a regular UTF-8 file inside `folder` (after resolving links), or the problem."""
    shown = display_path(path)

    def refuse(message: str, fix: str) -> tuple[None, Problem]:
        return None, Problem(shown, 1, message, fix)

    try:
        info = os.lstat(path)
        target, inside = path, True  # a name listed in `folder` is inside it, unless it is a link
        if stat.S_ISLNK(info.st_mode):
            target = path.resolve(strict=True)
            inside = target.is_relative_to(_resolved(folder))
            info = os.stat(target)
    except FileNotFoundError:
        return refuse("a symbolic link to nothing", "replace the link with the file itself")
    except (OSError, RuntimeError):  # a link loop, a permission problem
        return refuse("cannot be read (a symbolic link loop or no permission)", "replace it with a plain, readable file")
    if not inside:
        return refuse(f"a symbolic link to {target}, outside {display_path(folder)}/",
                      "put the file itself here; data is read only from inside the repository's data folders")
    if stat.S_ISDIR(info.st_mode):
        return refuse("is a folder, not a file", "move what it holds out and remove the folder")
    if not stat.S_ISREG(info.st_mode):
        return refuse("is not a regular file (a device, FIFO or socket)", "replace it with a plain text file")
    if info.st_size > limit:
        return refuse(f"is {info.st_size:,} bytes, over the {limit:,}-byte limit",
                      "a data file is a few kilobytes; cut what does not belong in it")
    with open(target, "rb") as handle:
        raw = handle.read(limit + 1)
    return decode_text(raw, shown)


def decode_text(raw: bytes, shown: str) -> tuple[str | None, Problem | None]:
    """UTF-8 text without NUL bytes, or the problem at its real line."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        line = raw[: error.start].count(b"\n") + 1
        return None, Problem(
            shown, line, f"file is not valid UTF-8 (byte 0x{raw[error.start]:02x} at offset {error.start})",
            "save the file as UTF-8 (most editors have an 'encoding' option when saving)")
    nul = text.find("\x00")
    if nul >= 0:
        return None, Problem(shown, text.count("\n", 0, nul) + 1, "file contains a NUL byte (\\0)",
                             "remove it: data files are plain text")
    return text, None
