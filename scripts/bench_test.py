"""`make test`'s wall time, for `make bench` (issue 15's target: under 2½ minutes on the 2-core
build machine). A benchmark, not a test: it prints the time and the target, and fails only if
the suite fails.

    python -m scripts.bench_test [--cold]     # --cold: forget the executed notebooks first
"""
from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET_S = 150


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cold", action="store_true", help="empty .cache/notebooks first, as in a fresh clone")
    args = parser.parse_args()
    if args.cold:
        shutil.rmtree(ROOT / ".cache" / "notebooks", ignore_errors=True)
    start = time.perf_counter()
    result = subprocess.run([sys.executable, "-m", "pytest", "-n", "auto"], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    wall = time.perf_counter() - start
    summary = next((line for line in reversed(result.stdout.splitlines()) if " in " in line and "passed" in line), "")
    state = "cold notebook cache" if args.cold else "notebook cache as found"
    print(f"make test ({state}): {wall:.0f} s wall, target {TARGET_S} s ({wall / TARGET_S:.2f}×) — {summary.strip('= ')}")
    return result.returncode


if __name__ == "__main__":
    sys.exit(main())
