"""The contributor's preview loop: with `mkdocs serve` running, how long from saving an entry
file to the updated page being served (its own page, the timeline and a neighbour's page).

    python -m scripts.bench_preview [--sizes 110 1000] [--edits 3]      # part of make bench

For each size it serves a copy of the data (the project's own entries, plus clones of them up
to the size) exactly as `make serve` does, edits one entry's title, and polls the served pages
until the new title is on all three; it prints the median over the edits. Targets: under 3 s
for the project's own entries (a size below their number means them alone) and under 10 s at 1,000."""
from __future__ import annotations

import argparse
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

from scripts.bench_build import cloned_site_data

ROOT = Path(__file__).resolve().parent.parent
SERVE = [sys.executable, "-m", "mkdocs", "serve", "--dirty"]
HANG_GUARD_S = 300


def _served_path() -> str:
    """The path `mkdocs serve` serves the site under: site_url's (/attention-atlas/ for a project
    site on GitHub Pages), as on the published site."""
    match = re.search(r"^site_url:\s*['\"]?([^'\"\s]+)", (ROOT / "mkdocs.yml").read_text(encoding="utf-8"), re.M)
    path = urllib.parse.urlsplit(match.group(1)).path if match else "/"
    return path if path.endswith("/") else path + "/"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _fetch(url: str) -> str:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.read().decode("utf-8", "replace")
    except OSError:
        return ""


def _wait_for(urls: list[str], text: str) -> float:
    start = time.perf_counter()
    while time.perf_counter() - start < HANG_GUARD_S:
        if all(text in _fetch(url) for url in urls):
            return time.perf_counter() - start
        time.sleep(0.05)
    raise TimeoutError(f"'{text}' did not appear on {urls} within {HANG_GUARD_S} s")


def measure(data: Path, edits: int, entry_id: str, neighbour_id: str) -> tuple[float, list[float]]:
    """(seconds until the first build is served, seconds from each save to its change being served)"""
    port = _free_port()
    base = f"http://127.0.0.1:{port}{_served_path()}"
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1",
           "ATLAS_TIMELINE_DIR": str(data / "timeline"), "ATLAS_BIB_DIR": str(data / "bib")}
    server = subprocess.Popen(SERVE + ["--dev-addr", f"127.0.0.1:{port}"], cwd=ROOT, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        entry = data / "timeline" / f"{entry_id}.yaml"
        urls = [f"{base}entries/{entry_id}/", f"{base}timeline/", f"{base}entries/{neighbour_id}/"]
        first = _wait_for(urls, "</html>")  # the first, full build (what a new contributor waits for)
        times = []
        for edit in range(edits):
            marker = f"Edited title {edit} {time.time_ns()}"
            text = entry.read_text(encoding="utf-8")
            entry.write_text(re.sub(r"^title: .*$", f"title: {marker}", text, count=1, flags=re.M), encoding="utf-8")
            times.append(_wait_for(urls, marker))
            time.sleep(1.0)  # let the watcher settle before the next save
        return first, times
    finally:
        server.terminate()
        server.wait(timeout=30)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[110, 1000])
    parser.add_argument("--edits", type=int, default=3)
    args = parser.parse_args(argv)
    real = len(list((ROOT / "timeline").glob("[12]*.yaml")))
    # Bahdanau et al.'s entry: it cites works already on the timeline, whose pages list it.
    entry_id, neighbour_id = "2014-bahdanau-align-and-translate", "2014-sutskever-sequence-to-sequence"
    print(f"preview loop: save {entry_id}.yaml, wait until its page, the timeline and "
          f"{neighbour_id}'s page show the change (`mkdocs serve --dirty`, as make serve); median of {args.edits}")
    print(f"{'entries':>8} {'median s':>9} {'target s':>9} {'first build s':>14}")
    with tempfile.TemporaryDirectory() as tmp:
        for size in args.sizes:
            data = cloned_site_data(max(size - real, 0), Path(tmp) / f"data-{size}")
            first, times = measure(data, args.edits, entry_id, neighbour_id)
            target = 3 if size < 1000 else 10
            print(f"{real + max(size - real, 0):>8} {statistics.median(times):>9.1f} {target:>9} {first:>14.1f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
