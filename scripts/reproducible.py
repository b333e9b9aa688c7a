"""Builds that repeat: two builds of the same commit give byte-identical site/ trees.

MkDocs dates every page in the sitemap (`<lastmod>`) and stamps the gzip header of sitemap.xml.gz
with the build's date, unless SOURCE_DATE_EPOCH (https://reproducible-builds.org/specs/source-date-epoch/)
says otherwise. We set it to the time of the commit being built, so a build made tomorrow writes
what today's did. A caller's own SOURCE_DATE_EPOCH wins; outside a git checkout it stays unset
and the sitemap says the build's date, as MkDocs does by default."""
from __future__ import annotations

import os
import subprocess
from pathlib import Path


def commit_time(root: Path) -> str | None:
    """Seconds since the epoch of HEAD's commit, or None when root is not a git checkout."""
    try:
        run = subprocess.run(["git", "log", "-1", "--format=%ct", "HEAD"], cwd=root,
                             capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return None
    stamp = run.stdout.strip()
    return stamp if run.returncode == 0 and stamp.isdigit() else None


def pin_build_date(root: Path) -> None:
    if "SOURCE_DATE_EPOCH" not in os.environ and (stamp := commit_time(root)):
        os.environ["SOURCE_DATE_EPOCH"] = stamp
