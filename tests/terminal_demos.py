"""Run `python -m runnable.<name> --device cpu` without paying for a new interpreter and a fresh
`import torch` each time (about 2 s of CPU per demo, 46 demos).

A fork server (multiprocessing's "forkserver") imports torch once, before any tensor work, so
forking it is safe; each demo runs in a child forked from it, as `python -m` would run it:
`runpy` runs the module as __main__ with the same argv, and nothing of the project is imported
before (the module, its imports and its `if __name__ == "__main__":` block all run fresh). The
child's exit code, output and errors come back; a demo that hangs is killed at the hang guard."""
from __future__ import annotations

import contextlib
import multiprocessing
import runpy
import sys
import traceback
from dataclasses import dataclass
from pathlib import Path

_CONTEXT = multiprocessing.get_context("forkserver")
_CONTEXT.set_forkserver_preload(["torch"])


@dataclass
class DemoRun:
    returncode: int | None  # None: killed at the hang guard
    stdout: str
    stderr: str


def _run_as_main(module: str, argv: list[str], stdout: str, stderr: str) -> None:
    with open(stdout, "w", encoding="utf-8") as out, open(stderr, "w", encoding="utf-8") as err:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            sys.argv = [module, *argv]
            try:
                runpy.run_module(module, run_name="__main__", alter_sys=True)
            except SystemExit as stop:
                if stop.code not in (None, 0):
                    raise
            except BaseException:
                traceback.print_exc()
                raise SystemExit(1)


def run_demo(module: str, argv: list[str], workdir: Path, hang_guard_s: float) -> DemoRun:
    stdout, stderr = workdir / "stdout.txt", workdir / "stderr.txt"
    child = _CONTEXT.Process(target=_run_as_main, args=(module, argv, str(stdout), str(stderr)))
    child.start()
    child.join(hang_guard_s)
    if child.is_alive():
        child.kill()
        child.join()
        returncode = None
    else:
        returncode = child.exitcode
    read = lambda path: path.read_text(encoding="utf-8") if path.exists() else ""  # noqa: E731
    return DemoRun(returncode, read(stdout), read(stderr))
