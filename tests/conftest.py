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


def build_site(timeline: Path, bib: Path, site_dir: Path) -> "subprocess.CompletedProcess[str]":
    """Run the real build (mkdocs --strict with the project's hooks) on the given data."""
    import subprocess
    import sys

    env = {**os.environ, "ATLAS_TIMELINE_DIR": str(timeline), "ATLAS_BIB_DIR": str(bib)}
    return subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site_dir)],
                          cwd=ROOT, env=env, capture_output=True, text=True)


@pytest.fixture(scope="session")
def site_data(tmp_path_factory) -> Path:
    """The project's own data with the hostile fixture added."""
    root = tmp_path_factory.mktemp("data")
    copy_data(ROOT, root)
    copy_data(FIXTURES / "hostile", root)
    return root


@pytest.fixture(scope="session")
def built_site(site_data, tmp_path_factory) -> Path:
    site = tmp_path_factory.mktemp("site") / "site"
    result = build_site(site_data / "timeline", site_data / "bib", site)
    assert result.returncode == 0, result.stdout + result.stderr
    return site


def _devices() -> list:
    """cpu always; cuda as a `gpu`-marked parameter. Without CUDA the cuda cases skip, unless
    REQUIRE_GPU=1 (the GPU CI job), where they fail: a GPU runner that lost its GPU must not pass."""
    import torch

    require = os.environ.get("REQUIRE_GPU") == "1"
    cuda_missing = not torch.cuda.is_available()
    marks = [pytest.mark.gpu]
    if cuda_missing and not require:
        marks.append(pytest.mark.skip(reason="CUDA not available"))
    return ["cpu", pytest.param("cuda", marks=marks)]


@pytest.fixture(params=_devices())
def device(request):
    import torch

    if request.param == "cuda" and not torch.cuda.is_available():
        pytest.fail("REQUIRE_GPU=1 but torch finds no CUDA device")
    return torch.device(request.param)
