"""Lighthouse mobile performance of the built site, served with gzip as a static host would.

    python -m scripts.bench_lighthouse [--site site] [--repeat 3] [--pages "" timeline/ ...]

Runs npm's `lighthouse` (pinned in package.json) against `site/` (run `make build` first), in
Debian's Chromium (CHROME_PATH, default /usr/bin/chromium), with Lighthouse's default mobile
emulation and simulated throttling. Prints the median performance score of each page and the
median of its largest contentful paint and total blocking time, and, from a Chromium trace taken
with Playwright, how many style recalculations during load touched nearly the whole document (one is
the page's first style; Material's palette component used to add four). That count depends on how
the parser's work is cut into tasks, so on the machine's load: a benchmark's figure, not a test's."""
from __future__ import annotations

import argparse
import functools
import gzip
import http.server
import json
import mimetypes
import os
import shutil
import statistics
import subprocess
import sys
import threading
from pathlib import Path

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parent.parent
LIGHTHOUSE = ROOT / "node_modules" / ".bin" / "lighthouse"
# Mechanism pages: a typical one, and the two heaviest (tables of typeset math, forty code blocks).
PAGES = ["", "timeline/", "entries/2014-bahdanau-align-and-translate/", "mechanisms/bahdanau-attention/",
         "mechanisms/flash-attention/", "mechanisms/flash-attention-triton/"]
COMPRESSED = {".html", ".css", ".js", ".json", ".svg", ".xml", ".txt", ".ipynb", ".map"}
CHROME_FLAGS = "--headless=new --no-sandbox --disable-gpu --no-first-run --disable-background-networking"


class GzipHandler(http.server.SimpleHTTPRequestHandler):
    """Static files; text gzipped when the client accepts it (each file compressed once)."""
    cache: dict[Path, bytes] = {}

    def log_message(self, *args):
        pass

    def do_GET(self):
        path = Path(self.translate_path(self.path))
        if path.is_dir():
            path = path / "index.html"
        if (path.suffix not in COMPRESSED or not path.is_file()
                or "gzip" not in self.headers.get("Accept-Encoding", "")):
            return super().do_GET()
        body = self.cache.get(path)
        if body is None:
            body = self.cache[path] = gzip.compress(path.read_bytes(), compresslevel=6)
        self.send_response(200)
        self.send_header("Content-Type", mimetypes.guess_type(path.name)[0] or "application/octet-stream")
        self.send_header("Content-Encoding", "gzip")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def serve(site: Path) -> tuple[http.server.ThreadingHTTPServer, str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(GzipHandler, directory=str(site)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/"


def lighthouse(url: str, chrome: str) -> dict[str, float]:
    result = subprocess.run(
        [str(LIGHTHOUSE), url, "--only-categories=performance", "--output=json", "--output-path=stdout",
         "--quiet", f"--chrome-flags={CHROME_FLAGS}"],
        env={**os.environ, "CHROME_PATH": chrome}, capture_output=True, text=True, timeout=300)
    if result.returncode != 0:
        raise SystemExit(f"lighthouse failed on {url}:\n{result.stderr[-2000:]}")
    report = json.loads(result.stdout)
    audits = report["audits"]
    return {"score": report["categories"]["performance"]["score"] * 100,
            "lcp_ms": audits["largest-contentful-paint"]["numericValue"],
            "tbt_ms": audits["total-blocking-time"]["numericValue"],
            "bytes": audits["total-byte-weight"]["numericValue"]}


def whole_document_restyles(page, url: str) -> int:
    """Style recalculations during load (through Material's next two frames) that touched at least
    90% of the page's elements; the first style of a long page comes in chunks as it is parsed, and
    those touch less."""
    cdp = page.context.new_cdp_session(page)
    events, done = [], []
    cdp.on("Tracing.dataCollected", lambda e: events.extend(e["value"]))
    cdp.on("Tracing.tracingComplete", lambda e: done.append(True))
    cdp.send("Tracing.start", {"traceConfig": {"includedCategories": ["devtools.timeline"]}, "transferMode": "ReportEvents"})
    page.goto(url, wait_until="load")
    page.wait_for_function("window.document$ !== undefined")
    elements = page.evaluate("document.getElementsByTagName('*').length")
    page.evaluate("new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
    cdp.send("Tracing.end")
    while not done:
        page.wait_for_timeout(50)
    cdp.detach()
    return sum(1 for e in events if e.get("name") == "UpdateLayoutTree"
               and e.get("args", {}).get("elementCount", 0) >= 0.9 * elements)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--site", type=Path, default=ROOT / "site")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--pages", nargs="+", default=PAGES)
    args = parser.parse_args(argv)
    chrome = os.environ.get("CHROME_PATH") or os.environ.get("CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(chrome).exists():
        sys.exit("Chromium not found: apt-get install chromium, or set CHROME_PATH")
    if not LIGHTHOUSE.exists():
        sys.exit("lighthouse is not installed (node_modules/.bin/lighthouse) — run `npm ci`")
    if not (args.site / "index.html").exists():
        sys.exit(f"{args.site}/index.html not found — run `make build` first")
    server, base = serve(args.site)
    print(f"Lighthouse mobile performance, median of {args.repeat} runs, site served with gzip")
    print(f"{'page':<48} {'score':>5} {'LCP ms':>8} {'TBT ms':>7} {'KiB':>6} {'restyles':>8}")
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=chrome, args=["--no-sandbox", "--disable-gpu"])
            for page in args.pages:
                runs = [lighthouse(base + page, chrome) for _ in range(args.repeat)]
                median = {key: statistics.median(run[key] for run in runs) for key in runs[0]}
                tab = browser.new_page(viewport={"width": 390, "height": 844})
                restyles = statistics.median(whole_document_restyles(tab, base + page) for _ in range(args.repeat))
                tab.close()
                print(f"{'/' + page:<48} {median['score']:>5.0f} {median['lcp_ms']:>8.0f} {median['tbt_ms']:>7.0f} "
                      f"{median['bytes'] / 1024:>6.0f} {restyles:>8.0f}", flush=True)
            browser.close()
    finally:
        server.shutdown()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
