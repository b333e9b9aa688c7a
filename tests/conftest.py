"""Shared fixtures: project paths, a copy of the good fixture data, and devices for mechanisms."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"
GOOD = FIXTURES / "good"
os.environ.setdefault("NO_MKDOCS_2_WARNING", "1")


def copy_data(source: Path, destination: Path) -> Path:
    """A writable copy of a data set ({timeline,bib}/) with the schema beside the entries."""
    for part in ("timeline", "bib"):
        shutil.copytree(source / part, destination / part, dirs_exist_ok=True)
    shutil.copy(ROOT / "timeline" / "schema.json", destination / "timeline" / "schema.json")
    return destination


@pytest.fixture
def good_data(tmp_path: Path) -> Path:
    return copy_data(GOOD, tmp_path)
