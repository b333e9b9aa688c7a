"""Build benchmark: synthetic knowledge bases of 100, 1,000 and 5,000 entries.

For each size it prints the median time to validate (load + check, in-process), the median
time of a full strict build, and the time of a bare mkdocs-material build of the same number
of plain pages (also outside the nav), with our build as a ratio to it.

    python -m scripts.bench_build [--sizes 100 1000 5000] [--repeat 3]      # make bench
"""
from __future__ import annotations

import argparse
import csv
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from scripts.schema_messages import load_schema
from scripts.validate import Paths, check

ROOT = Path(__file__).resolve().parent.parent
WORDS = ("attention alignment memory kernel window glimpse query key value softmax recurrent network "
         "sequence translation saliency filter spotlight fast weight linear sparse hashing low rank "
         "transformer head position rotary flash tiled online normaliser hopfield energy graph set").split()
SURNAMES = [f"Author{i:03d}" for i in range(400)]
TYPES = ["cites"] * 6 + ["extends", "influenced", "independent", "equivalent", "disputes"]


def synthetic_data(n: int, destination: Path, seed: int = 0) -> Path:
    """n entries with their records and ~3 relations each to earlier entries."""
    rng = random.Random(seed)
    threads = load_schema()["properties"]["thread"]["enum"]
    (destination / "timeline").mkdir(parents=True)
    (destination / "bib").mkdir()
    shutil.copy(ROOT / "timeline" / "schema.json", destination / "timeline")
    years = sorted(rng.randint(1950, 2025) for _ in range(n))
    ids, bib = [], []
    for i, year in enumerate(years):
        key = f"author{i:05d}{year}synthetic"
        title = " ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 8))).capitalize()
        authors = " and ".join(f"{rng.choice(SURNAMES)}, {chr(65 + rng.randrange(26))}." for _ in range(rng.randint(1, 4)))
        bib.append(f"@article{{{key},\n  author = {{{authors}}},\n  title = {{{title}}},\n"
                   f"  journal = {{Journal of Synthetic Results}},\n  year = {{{year}}},\n  volume = {{{i % 40 + 1}}}\n}}\n")
        entry_id = f"{year}-synthetic-{i:05d}"
        relations = []
        earlier = [j for j in range(max(0, i - 400), i) if years[j] < year]
        for j in rng.sample(earlier, min(3, len(earlier))):
            kind = rng.choice(TYPES)
            source = "" if kind == "cites" else "\n    source: {note: synthetic evidence}"
            relations.append(f"  - type: {kind}\n    target: {ids[j]}{source}")
        text = (f"# yaml-language-server: $schema=./schema.json\nid: {entry_id}\ndate: {year}\nbib: [{key}]\n"
                f"title: {title}\nthread: {rng.choice(threads)}\nkind: paper\n"
                f"summary: A synthetic work about {' '.join(rng.choice(WORDS) for _ in range(6))}.\n"
                f"annotation: |\n  " + " ".join(rng.choice(WORDS) for _ in range(90)) + " with $\\alpha_{ij}$.\n")
        if relations:
            text += "relations:\n" + "\n".join(relations) + "\n"
        (destination / "timeline" / f"{entry_id}.yaml").write_text(text, encoding="utf-8")
        ids.append(entry_id)
    (destination / "bib" / "synthetic.bib").write_text("\n".join(bib), encoding="utf-8")
    return destination


def bare_site(n: int, destination: Path) -> Path:
    """The same site configuration (theme, features, Markdown extensions, search) without our
    hooks, rendering n plain Markdown pages of an entry page's size (five sections, ~300 words),
    outside the nav as entry pages are. Our build's excess over it is the cost of the pipeline."""
    docs = destination / "docs"
    (docs / "pages").mkdir(parents=True)
    (docs / "index.md").write_text("# Home\n\nA bare site.\n")
    for i in range(n):
        sections = "".join(f"## Section {k}\n\n" + " ".join(WORDS[(i + k + j) % len(WORDS)] for j in range(60)) + "\n\n"
                           for k in range(5))
        (docs / "pages" / f"page-{i:05d}.md").write_text(f"# Page {i}\n\n{sections}")
    config = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    config = config.split("\nhooks:")[0] + "\nmarkdown_extensions:" + config.split("\nmarkdown_extensions:")[1].split("\nextra_css:")[0]
    (destination / "mkdocs.yml").write_text(config + "\nnav:\n  - Home: index.md\nnot_in_nav: |\n  /pages/\n")
    return destination


def timed(command: list[str], env: dict | None = None, cwd: Path = ROOT) -> float:
    start = time.perf_counter()
    result = subprocess.run(command, cwd=cwd, env={**os.environ, "NO_MKDOCS_2_WARNING": "1", **(env or {})},
                            capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        sys.exit(f"command failed: {' '.join(command)}\n{result.stdout[-2000:]}{result.stderr[-2000:]}")
    return elapsed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 1000, 5000])
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement; the median is reported")
    parser.add_argument("--csv", type=Path, default=ROOT / "bench-results" / "build.csv")
    args = parser.parse_args(argv)
    mkdocs = [sys.executable, "-m", "mkdocs", "build", "--strict", "--quiet"]
    rows = []
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; "
          f"median of {args.repeat} runs")
    print("validate: load + check in-process; build: mkdocs build --strict of the synthetic data;\n"
          "bare: the same mkdocs.yml without our hooks, as many plain pages of an entry page's size")
    print(f"{'entries':>8} {'validate s':>11} {'build s':>9} {'bare s':>8} {'build/bare':>11}")
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.sizes:
            data = synthetic_data(n, Path(tmp) / f"data-{n}")
            paths = Paths(data / "timeline", data / "bib", ROOT / "docs")
            validate_times = []
            for _ in range(args.repeat):
                start = time.perf_counter()
                kb, problems = check(paths)
                validate_times.append(time.perf_counter() - start)
                assert not problems, problems[:3]
            env = {"ATLAS_TIMELINE_DIR": str(paths.timeline), "ATLAS_BIB_DIR": str(paths.bib)}
            build_times = [timed(mkdocs + ["--site-dir", f"{tmp}/site-{n}"], env) for _ in range(args.repeat)]
            bare = bare_site(n, Path(tmp) / f"bare-{n}")
            bare_times = [timed(mkdocs + ["--site-dir", f"{tmp}/bare-site-{n}"], cwd=bare) for _ in range(args.repeat)]
            row = {"entries": n, "validate_s": statistics.median(validate_times),
                   "build_s": statistics.median(build_times), "bare_s": statistics.median(bare_times)}
            row["ratio"] = row["build_s"] / row["bare_s"]
            rows.append(row)
            print(f"{n:>8} {row['validate_s']:>11.2f} {row['build_s']:>9.1f} {row['bare_s']:>8.1f} {row['ratio']:>11.2f}",
                  flush=True)
    args.csv.parent.mkdir(parents=True, exist_ok=True)
    with args.csv.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    print(f"wrote {args.csv}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
