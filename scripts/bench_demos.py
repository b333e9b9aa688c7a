"""Demo benchmark: `python -m runnable.<name> --device cpu`, each run several times, against the
10-second budget a learner's terminal demo keeps (interpreter and torch start-up included).

The budget is a benchmark, not a test: on a busy machine a demo can take longer without anything
being wrong, so the tests only check that each demo runs and prints (tests/test_mechanism_coverage.py).

    python -m scripts.bench_demos [--repeat 3] [--device cpu] [name ...]      # make bench-demos
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BUDGET_S = 10.0


def demo_modules() -> list[str]:
    """Every runnable/ module with a terminal demo (the private helpers `_*.py` have none)."""
    return sorted(p.stem for p in (ROOT / "runnable").glob("*.py") if not p.stem.startswith("_"))


def time_demo(name: str, device: str) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", f"runnable.{name}", "--device", device], cwd=ROOT,
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs per demo; the median is reported")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("names", nargs="*", help="modules to time (default: every demo)")
    args = parser.parse_args(argv)
    names = args.names or demo_modules()
    print(f"terminal demos on {args.device}, median of {args.repeat} runs, budget {BUDGET_S:.0f} s "
          f"({os.cpu_count()} cores; a busy machine reads slower)")
    medians = {}
    for name in names:
        medians[name] = statistics.median(time_demo(name, args.device) for _ in range(args.repeat))
        verdict = "ok" if medians[name] < BUDGET_S else "OVER BUDGET"
        print(f"  {name:<34} {medians[name]:6.2f} s  {verdict}", flush=True)
    over = [name for name, seconds in medians.items() if seconds >= BUDGET_S]
    slowest = max(medians, key=medians.get)
    print(f"{len(names)} demos: slowest {slowest} {medians[slowest]:.2f} s, "
          f"median {statistics.median(medians.values()):.2f} s; {len(over)} over the {BUDGET_S:.0f} s budget"
          + (f": {', '.join(over)}" if over else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
