"""Rebuild benchmark: what one edited mechanism costs the next build.

On a temporary copy of the project (its own, empty notebook cache) it times a cold strict build
(every mechanism notebook executed), an unchanged rebuild, and a rebuild after a one-line edit
to one module (default runnable/rotary_embeddings.py). The executed-notebook cache is keyed per
notebook (scripts/notebooks.py: cache_key), so that rebuild should execute only the notebooks that
import the module and take under a quarter of the cold build.

    python -m scripts.bench_rebuild [--module rotary_embeddings]      # part of make bench
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET_RATIO = 0.25


def project_copy(destination: Path) -> Path:
    """The project's files as git sees them (tracked and new, not ignored), and its node_modules."""
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                            capture_output=True, check=True).stdout.decode().split("\0")
    for name in filter(None, listed):
        source = ROOT / name
        if source.is_file():
            (destination / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, destination / name)
    (destination / "node_modules").symlink_to(ROOT / "node_modules")
    return destination


def executed_notebooks(project: Path) -> set[Path]:
    return set((project / ".cache" / "notebooks").glob("*/mechanisms/*.ipynb"))


def timed_build(project: Path) -> tuple[float, int]:
    """Seconds for one strict build of the copy, and how many notebooks it executed."""
    before = executed_notebooks(project)
    # The copy's runnable/ comes first on the path, in the build and in the notebook kernels it
    # starts, rather than the package installed (editable) from the original checkout.
    env = {**os.environ, "PYTHONPATH": str(project), "NO_MKDOCS_2_WARNING": "1"}
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(project / "site")],
                   cwd=project, env=env, check=True, capture_output=True)
    return time.perf_counter() - start, len(executed_notebooks(project) - before)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--module", default="rotary_embeddings", help="the runnable/ module to edit")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="atlas-rebuild-") as temporary:
        project = project_copy(Path(temporary))
        cold, cold_runs = timed_build(project)
        print(f"cold build (empty notebook cache):      {cold:6.1f} s, {cold_runs} notebooks executed", flush=True)
        warm, warm_runs = timed_build(project)
        print(f"unchanged rebuild:                      {warm:6.1f} s, {warm_runs} notebooks executed", flush=True)
        module = project / "runnable" / f"{args.module}.py"
        module.write_text(module.read_text(encoding="utf-8") + "# edited by scripts.bench_rebuild\n", encoding="utf-8")
        edited, edited_runs = timed_build(project)
        ratio = edited / cold
        verdict = "ok" if ratio < TARGET_RATIO else "OVER TARGET"
        print(f"rebuild after editing runnable/{args.module}.py: {edited:6.1f} s, {edited_runs} notebooks executed; "
              f"{ratio:.2f} of the cold build (target < {TARGET_RATIO}) {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
