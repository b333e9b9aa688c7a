"""Browser benchmark: is the site usable at scale? Builds synthetic sites (default 1,000 and
5,000 entries) and, in headless Chromium, times loading the timeline, one thread-filter click,
a text filter, and the citation graph from navigation until vis-network has drawn it.

    python -m scripts.bench_pages [--sizes 1000 5000] [--repeat 3]

Needs Chromium (CHROMIUM=/path, or `chromium` on PATH)."""
from __future__ import annotations

import argparse
import functools
import http.server
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

from playwright.sync_api import sync_playwright

from scripts.bench_build import ROOT, synthetic_data

ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def measure(page, base: str) -> dict[str, float]:
    page.goto(base + "timeline/", wait_until="load")
    load = page.evaluate("performance.getEntriesByType('navigation')[0].loadEventEnd")
    filter_ms = page.evaluate("""() => {
        const box = document.querySelector('.atlas-filter input[type=checkbox]');
        const start = performance.now(); box.click(); document.body.offsetHeight; return performance.now() - start; }""")
    text_ms = page.evaluate("""() => {
        const input = document.querySelector('[data-atlas-query]'); input.value = 'attention softmax';
        const start = performance.now(); input.dispatchEvent(new Event('input')); document.body.offsetHeight;
        return performance.now() - start; }""")
    page.goto(base + "graph/", wait_until="load")
    page.wait_for_function("window.atlasGraph !== undefined")
    page.evaluate("new Promise(r => { atlasGraph.once('afterDrawing', r); atlasGraph.redraw(); })")
    graph = page.evaluate("performance.now()")
    return {"timeline_load_ms": load, "filter_click_ms": filter_ms, "text_filter_ms": text_ms, "graph_ready_ms": graph}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 5000])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    chromium = os.environ.get("CHROMIUM") or shutil.which("chromium")
    if not chromium:
        sys.exit("Chromium not found: apt-get install chromium, or set CHROMIUM")
    print(f"median of {args.repeat} page loads; times in ms, measured in the page (Performance API)")
    print(f"{'entries':>8} {'timeline load':>14} {'thread filter':>14} {'text filter':>12} {'graph drawn':>12}")
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=ARGS)
        for n in args.sizes:
            data = synthetic_data(n, Path(tmp) / f"data-{n}")
            site = Path(tmp) / f"site-{n}"
            env = {**os.environ, "NO_MKDOCS_2_WARNING": "1", "ATLAS_TIMELINE_DIR": str(data / "timeline"),
                   "ATLAS_BIB_DIR": str(data / "bib")}
            subprocess.run([sys.executable, "-m", "mkdocs", "build", "--quiet", "--site-dir", str(site)],
                           cwd=ROOT, env=env, check=True, capture_output=True)
            server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(site)))
            threading.Thread(target=server.serve_forever, daemon=True).start()
            base = f"http://127.0.0.1:{server.server_address[1]}/"
            runs = []
            for _ in range(args.repeat):
                context = browser.new_context()
                runs.append(measure(context.new_page(), base))
                context.close()
            server.shutdown()
            median = {key: statistics.median(run[key] for run in runs) for key in runs[0]}
            print(f"{n:>8} {median['timeline_load_ms']:>14.0f} {median['filter_click_ms']:>14.1f} "
                  f"{median['text_filter_ms']:>12.1f} {median['graph_ready_ms']:>12.0f}", flush=True)
        browser.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
