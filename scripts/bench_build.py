"""Build benchmark: validation time by size, and the marginal build cost of an entry page.

Validation: the median time to load and check synthetic knowledge bases of each size.

The cost of an entry page: the real site is built as it is and with N clones of its real entries
added (records, relations, quotes and annotations copied); the difference over N is the marginal
cost of one entry page. It is compared with the cost of one plain page of the same size in a bare
mkdocs-material site with no plugin and no hook (the same theme and Markdown extensions).

    python -m scripts.bench_build [--sizes 100 1000 5000] [--clones 1000] [--repeat 3]   # make bench
"""
from __future__ import annotations

import argparse
import csv
import os
import platform
import random
import re
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


def cloned_site_data(n: int, destination: Path) -> Path:
    """The project's own data plus n clones of its real entries (each with its own copy of its
    record, the same relations, quotes and annotation), so the added pages cost what real ones do."""
    for part in ("timeline", "bib"):
        shutil.copytree(ROOT / part, destination / part)
    bib_text = "\n".join(path.read_text(encoding="utf-8") for path in sorted((ROOT / "bib").glob("*.bib")))
    records = {match.group(2): _record_at(bib_text, match.start())
               for match in re.finditer(r"@(\w+)\s*\{\s*([^,\s]+)\s*,", bib_text)}
    originals = sorted((ROOT / "timeline").glob("[12]*.yaml"))
    clones = []
    for i in range(n):
        original = originals[i % len(originals)]
        text = original.read_text(encoding="utf-8")
        old_id = original.stem
        new_id = f"{old_id.split('-', 1)[0]}-clone{i:05d}-{old_id.split('-', 1)[1]}"
        key = re.search(r"^bib: \[([^,\]]+)", text, re.M).group(1).strip()
        new_key = f"{key}clone{i:05d}"
        text = text.replace(f"id: {old_id}", f"id: {new_id}", 1).replace(f"bib: [{key}", f"bib: [{new_key}", 1)
        clones.append(records[key].replace(key, new_key, 1))
        (destination / "timeline" / f"{new_id}.yaml").write_text(text, encoding="utf-8")
    (destination / "bib" / "clones.bib").write_text("\n".join(clones), encoding="utf-8")
    return destination


def _record_at(text: str, start: int) -> str:
    """The BibTeX record that starts at `start`: up to its matching closing brace."""
    depth = 0
    for index in range(text.index("{", start), len(text)):
        depth += {"{": 1, "}": -1}.get(text[index], 0)
        if depth == 0:
            return text[start:index + 1]
    raise ValueError("unbalanced record")


def bare_site(n: int, destination: Path) -> Path:
    """A bare Material site: the same theme and Markdown extensions, no plugin and no hook,
    rendering n plain Markdown pages of an entry page's size (five sections, ~300 words) outside
    the nav as entry pages are. Its cost per page is what an entry page is measured against."""
    docs = destination / "docs"
    (docs / "pages").mkdir(parents=True)
    (docs / "index.md").write_text("# Home\n\nA bare site.\n")
    for i in range(n):
        sections = "".join(f"## Section {k}\n\n" + " ".join(WORDS[(i + k + j) % len(WORDS)] for j in range(60)) + "\n\n"
                           for k in range(5))
        (docs / "pages" / f"page-{i:05d}.md").write_text(f"# Page {i}\n\n{sections}")
    config = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    theme = config.split("\ntheme:")[1].split("\nplugins:")[0]
    # The site's own template overrides (scripts/theme/) are ours, not Material's: a bare site has none.
    theme = "\n".join(line for line in theme.splitlines() if not line.strip().startswith("custom_dir:"))
    extensions = config.split("\nmarkdown_extensions:")[1].split("\nextra_css:")[0]
    (destination / "mkdocs.yml").write_text(
        f"site_name: Bare\ndocs_dir: docs\ntheme:{theme}\nplugins: []\nmarkdown_extensions:{extensions}\n"
        "nav:\n  - Home: index.md\nnot_in_nav: |\n  /pages/\n")
    return destination


def timed(command: list[str], env: dict | None = None, cwd: Path = ROOT) -> float:
    start = time.perf_counter()
    result = subprocess.run(command, cwd=cwd, env={**os.environ, "NO_MKDOCS_2_WARNING": "1", **(env or {})},
                            capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        sys.exit(f"command failed: {' '.join(command)}\n{result.stdout[-2000:]}{result.stderr[-2000:]}")
    return elapsed


def median_time(command: list[str], repeat: int, env: dict | None = None, cwd: Path = ROOT) -> float:
    return statistics.median(timed(command, env, cwd) for _ in range(repeat))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 1000, 5000],
                        help="synthetic knowledge-base sizes to validate")
    parser.add_argument("--clones", type=int, nargs="+", default=[1000],
                        help="real entries cloned and added to the real site to measure the cost per entry page")
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement; the median is reported")
    parser.add_argument("--csv", type=Path, default=ROOT / "bench-results" / "build.csv")
    args = parser.parse_args(argv)
    mkdocs = [sys.executable, "-m", "mkdocs", "build", "--strict", "--quiet"]
    rows = []
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; "
          f"median of {args.repeat} runs")
    print("\nvalidate: load + check in-process, synthetic entries with ~3 relations each")
    print(f"{'entries':>8} {'validate s':>11}")
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
            rows.append({"measure": "validate_s", "entries": n, "value": statistics.median(validate_times)})
            print(f"{n:>8} {rows[-1]['value']:>11.2f}", flush=True)

        print("\ncost of an entry page: the real site (notebooks from the cache) with N clones of its entries\n"
              "added, against a bare Material site (no plugin, no hook) with N plain pages of the same size")
        timed(mkdocs + ["--site-dir", f"{tmp}/warm"])  # executes any notebook not yet in the cache
        real = median_time(mkdocs + ["--site-dir", f"{tmp}/site-real"], args.repeat)
        bare_empty = median_time(mkdocs + ["--site-dir", f"{tmp}/bare-site-0"], args.repeat, cwd=bare_site(0, Path(tmp) / "bare-0"))
        print(f"{'added':>8} {'build s':>9} {'ms/entry':>9} {'bare s':>8} {'ms/page':>8} {'ratio':>6}")
        print(f"{0:>8} {real:>9.1f} {'':>9} {bare_empty:>8.1f}", flush=True)
        for n in args.clones:
            data = cloned_site_data(n, Path(tmp) / f"clones-{n}")
            env = {"ATLAS_TIMELINE_DIR": str(data / "timeline"), "ATLAS_BIB_DIR": str(data / "bib")}
            built = median_time(mkdocs + ["--site-dir", f"{tmp}/site-{n}"], args.repeat, env)
            bare = median_time(mkdocs + ["--site-dir", f"{tmp}/bare-site-{n}"], args.repeat, cwd=bare_site(n, Path(tmp) / f"bare-{n}"))
            per_entry, per_page = 1000 * (built - real) / n, 1000 * (bare - bare_empty) / n
            rows += [{"measure": "build_s", "entries": n, "value": built},
                     {"measure": "ms_per_entry", "entries": n, "value": per_entry},
                     {"measure": "bare_ms_per_page", "entries": n, "value": per_page},
                     {"measure": "ratio", "entries": n, "value": per_entry / per_page}]
            print(f"{n:>8} {built:>9.1f} {per_entry:>9.1f} {bare:>8.1f} {per_page:>8.1f} {per_entry / per_page:>6.2f}"
                  "   (target: ratio <= 2)", flush=True)
    args.csv.parent.mkdir(parents=True, exist_ok=True)
    with args.csv.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    print(f"wrote {args.csv}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
