"""Builds that repeat: two builds of the same commit give byte-identical site/ trees, sitemap and
its gzip included, and executing a notebook twice gives the same file.

The second build reuses the session's build as its twin (its notebooks come from the cache, as
they would in any rebuild); executing a notebook is checked on its own, twice from scratch."""
from __future__ import annotations

import gzip
import shutil
from datetime import datetime, timezone
from pathlib import Path

from scripts.notebooks import execute
from scripts.reproducible import commit_time
from tests.conftest import ROOT, build_failure, build_site

# A page that runs a module, shows its source and draws a heatmap: torch output, Markdown and a PNG.
NOTEBOOK = ROOT / "docs" / "mechanisms" / "diagonal-alignment.py"


def differences(left: Path, right: Path) -> list[str]:
    """Every file that is in one tree only or whose bytes differ."""
    def files(root: Path) -> set[str]:
        return {path.relative_to(root).as_posix() for path in root.rglob("*") if path.is_file()}

    ours, theirs = files(left), files(right)
    return ([f"only in the first build: {name}" for name in sorted(ours - theirs)]
            + [f"only in the second build: {name}" for name in sorted(theirs - ours)]
            + [f"differs: {name}" for name in sorted(ours & theirs)
               if (left / name).read_bytes() != (right / name).read_bytes()])


def test_two_builds_give_byte_identical_sites(site_data, tmp_path, request):
    # The same data from another folder, and another hash seed, so neither a path nor the order of
    # a set can leak into the output unnoticed.
    data = tmp_path / "data"
    shutil.copytree(site_data, data)
    second = tmp_path / "site"
    result = build_site(data / "timeline", data / "bib", second, env={"PYTHONHASHSEED": "12345"})
    assert result.returncode == 0, build_failure(result)
    built_site = request.getfixturevalue("built_site")  # only now: the two builds may run side by side
    different = differences(built_site, second)
    gzip_headers = [(site / "sitemap.xml.gz").read_bytes()[:24] for site in (built_site, second)]
    assert not different, "\n".join(different[:40]) + f"\nsitemap.xml.gz headers: {gzip_headers}"


def test_sitemap_is_dated_by_the_commit_not_the_build(built_site):
    """A build made tomorrow must write today's sitemap: the pages' dates and the gzip header's
    mtime (MkDocs uses the latest page date, at midnight) come from the commit (SOURCE_DATE_EPOCH,
    set by the build), not from the clock."""
    stamp = commit_time(ROOT)
    assert stamp, "the tests run in a git checkout"
    day = datetime.fromtimestamp(int(stamp), timezone.utc).replace(hour=0, minute=0, second=0)
    sitemap = (built_site / "sitemap.xml").read_text(encoding="utf-8")
    dates = {part.split("</lastmod>", 1)[0] for part in sitemap.split("<lastmod>")[1:]}
    assert dates <= {day.strftime("%Y-%m-%d")}  # (no dates at all while mkdocs.yml has no site_url)
    compressed = (built_site / "sitemap.xml.gz").read_bytes()
    assert int.from_bytes(compressed[4:8], "little") == int(day.timestamp())  # gzip header MTIME, RFC 1952
    assert gzip.decompress(compressed).decode("utf-8") == sitemap


def test_executing_a_notebook_twice_gives_identical_files(tmp_path):
    """Cell ids and execution metadata would differ between runs; the cache stores neither, so a
    cold build in a fresh clone writes the same notebook (and page) as the cached one. Pages that
    time themselves (linear-attention prints µs per token) are the exception by nature: their
    build repeats through the cache, keyed by everything the notebook depends on."""
    first = execute(NOTEBOOK, tmp_path / "first")
    second = execute(NOTEBOOK, tmp_path / "second")
    assert first.read_bytes() == second.read_bytes()
