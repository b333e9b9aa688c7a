"""Builds as `mkdocs serve --dirty` (make serve) makes them, in one process: the first build, then
after each step (files written or deleted) a dirty rebuild with a freshly loaded config, the
site served from its own address. Reports what each build left in the site, for
tests/test_serve_rebuild.py, which runs this in a subprocess (the hooks keep state between builds).

    python -m tests.serve_session CONFIG SITE_DIR STEPS_JSON    # prints one JSON report per build

STEPS_JSON: a list of {"write": {path: text}, "delete": [path]}. A report: every HTML file of
the site as [mtime_ns, text] and the search index's documents."""
from __future__ import annotations

import json
import logging
import sys
from pathlib import Path

from mkdocs.commands.build import build
from mkdocs.config import load_config

DEV_ADDR = "127.0.0.1:8765"


def _config(config_file: str, site_dir: str):
    config = load_config(config_file=config_file, site_dir=site_dir, dev_addr=DEV_ADDR)
    config.site_url = f"http://{DEV_ADDR}/"  # as mkdocs serve does, before the build
    return config


def _report(site: Path) -> dict:
    pages = {path.relative_to(site).as_posix(): [path.stat().st_mtime_ns, path.read_text(encoding="utf-8")]
             for path in sorted(site.rglob("*.html"))}
    index = json.loads((site / "search" / "search_index.json").read_text(encoding="utf-8"))
    return {"pages": pages, "search": index["docs"]}


def main(config_file: str, site_dir: str, steps: list[dict]) -> None:
    logging.basicConfig(level=logging.WARNING)
    config = _config(config_file, site_dir)
    config.plugins.on_startup(command="serve", dirty=True)
    build(config, serve_url=config.site_url, dirty=True)
    reports = [_report(Path(site_dir))]
    for step in steps:
        for path, text in step.get("write", {}).items():
            Path(path).write_text(text, encoding="utf-8")
        for path in step.get("delete", []):
            Path(path).unlink()
        config = _config(config_file, site_dir)
        build(config, serve_url=config.site_url, dirty=True)
        reports.append(_report(Path(site_dir)))
    json.dump(reports, sys.stdout)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], json.loads(sys.argv[3]))
