"""Run a command on a busy machine: CPU-burning processes, each pinned to a core, run beside it.

CI runs on shared 2-core machines, where other jobs take the cores our tests want. A test that
passes only on a quiet machine fails pull requests at random; this reproduces that machine.

    python -m scripts.busy_machine [--burners 2] -- make test      # make test-busy
"""
from __future__ import annotations

import argparse
import multiprocessing
import os
import subprocess
import sys


def _burn(core: int) -> None:
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {core})
    while True:
        pass


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--burners", type=int, default=2, help="CPU-burning processes, one per core in turn")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="the command to run, after --")
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("give the command to run after --, e.g. -- make test")
    cores = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else list(range(os.cpu_count() or 1))
    burners = [multiprocessing.Process(target=_burn, args=(cores[i % len(cores)],), daemon=True)
               for i in range(args.burners)]
    for burner in burners:
        burner.start()
    print(f"busy machine: {args.burners} burner(s) pinned to core(s) "
          f"{', '.join(str(cores[i % len(cores)]) for i in range(args.burners))}; running {' '.join(command)}", flush=True)
    try:
        return subprocess.run(command).returncode
    finally:
        for burner in burners:
            burner.terminate()
        for burner in burners:
            burner.join()


if __name__ == "__main__":
    sys.exit(main())
