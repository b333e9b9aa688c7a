"""`make check`: validate bib/ and timeline/, print every problem as path:line: what — fix."""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from scripts.problems import format_problems
from scripts.validate import Paths, check, ignored_files


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--root", type=Path, default=Path("."), help="project root (default: .)")
    parser.add_argument("--timeline", type=Path, help="entries folder (default: ROOT/timeline)")
    parser.add_argument("--bib", type=Path, help="BibTeX folder (default: ROOT/bib)")
    args = parser.parse_args(argv)
    defaults = Paths.of_project(args.root)
    paths = Paths(args.timeline or defaults.timeline, args.bib or defaults.bib, defaults.docs)
    start = time.perf_counter()
    kb, problems = check(paths)
    for note in ignored_files(paths):
        print(f"note: {note}", file=sys.stderr)
    if problems:
        print(format_problems(problems), file=sys.stderr)
        return 1
    elapsed = time.perf_counter() - start
    print(f"ok: {len(kb.entries)} entries, {len(kb.records)} BibTeX records, "
          f"{sum(len(e.relations) for e in kb.entries.values())} relations, "
          f"{sum(len(ledger['claims']) for ledger in kb.claims)} claims ({elapsed:.2f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
