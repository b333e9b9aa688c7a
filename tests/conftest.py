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
# One torch thread per test worker. `pytest -n auto` starts a worker per core; torch's default of
# a thread per core in every worker (and in every build, kernel and demo a worker starts, which
# inherit this variable) puts cores² threads on the cores, and OpenMP's threads spin-wait on one
# another. (On 2 cores the mechanism tests took 106 s with it, 168 s without, in one session.)
if os.environ.get("PYTEST_XDIST_WORKER") and "OMP_NUM_THREADS" not in os.environ:
    os.environ["OMP_NUM_THREADS"] = "1"
    import torch

    torch.set_num_threads(1)  # in case a plugin imported torch before this file


def copy_data(source: Path, destination: Path) -> Path:
    """A writable copy of a data set ({timeline,bib}/) with the schema beside the entries."""
    for part in ("timeline", "bib"):
        shutil.copytree(source / part, destination / part, dirs_exist_ok=True)
    shutil.copy(ROOT / "timeline" / "schema.json", destination / "timeline" / "schema.json")
    return destination


@pytest.fixture
def good_data(tmp_path: Path) -> Path:
    return copy_data(GOOD, tmp_path)


def build_site(timeline: Path, bib: Path, site_dir: Path, env: dict | None = None) -> "subprocess.CompletedProcess[str]":
    """Run the real build (mkdocs --strict with the project's hooks) on the given data."""
    import subprocess
    import sys

    env = {**os.environ, "ATLAS_TIMELINE_DIR": str(timeline), "ATLAS_BIB_DIR": str(bib), **(env or {})}
    return subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site_dir)],
                          cwd=ROOT, env=env, capture_output=True, text=True)


def build_failure(result: "subprocess.CompletedProcess[str]", limit: int = 6000) -> str:
    """Why a build failed, for an assertion message: mkdocs's own warnings and errors and any
    traceback, not the INFO lines and the notebook kernels' chatter around them, which are long
    enough to push the reason out of a truncated report."""
    lines = (result.stdout + result.stderr).splitlines()
    kept, in_traceback = [], False
    for line in lines:
        in_traceback = in_traceback or line.startswith("Traceback")
        if in_traceback or (not line.startswith(("INFO", "[IPKernelApp]", "[I ", "[W ")) and line.strip()):
            kept.append(line)
    report = "\n".join(kept) or "\n".join(lines[-40:])
    return f"the build exited with {result.returncode}:\n" + (report if len(report) <= limit else "…" + report[-limit:])


def _session_dir(tmp_path_factory) -> Path:
    """A folder every pytest-xdist worker of this run shares (the parent of the workers' own)."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


def _once_per_run(tmp_path_factory, name: str, make) -> Path:
    """<shared>/<name>, made by whichever worker gets there first; the others wait and reuse it.
    A failure is recorded, so every worker that needs the result reports it, without redoing it."""
    from filelock import FileLock

    shared = _session_dir(tmp_path_factory)
    done, failed = shared / f"{name}.done", shared / f"{name}.failed"
    with FileLock(shared / f"{name}.lock"):
        if not done.exists() and not failed.exists():
            try:
                make(shared / name)
            except BaseException as error:
                failed.write_text(str(error))
                raise
            done.touch()
    if failed.exists():
        pytest.fail(f"{name} could not be made (see the first worker's failure):\n{failed.read_text()}", pytrace=False)
    return shared / name


@pytest.fixture(scope="session")
def site_data(tmp_path_factory) -> Path:
    """The project's own data with the hostile fixture added, and an entry made by the
    contributor's path (scaffolded from a new record, filled in, checked)."""
    from tests.contributor_path import add_contributor_entry

    def make(root: Path) -> None:
        copy_data(ROOT, root)
        copy_data(FIXTURES / "hostile", root)
        add_contributor_entry(root)

    return _once_per_run(tmp_path_factory, "data", make)


@pytest.fixture(scope="session")
def built_site(site_data, tmp_path_factory) -> Path:
    """One strict build of site_data per test run, shared by every worker that needs it."""
    def make(site: Path) -> None:
        result = build_site(site_data / "timeline", site_data / "bib", site)
        assert result.returncode == 0, build_failure(result)

    return _once_per_run(tmp_path_factory, "site", make)


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


# The tests that use the built site: one worker takes them all, after its one build, and starts
# with them (the longest unit of work), while the other workers take everything else, one test at
# a time. (Tests elsewhere that read the site, and the reproducibility test, whose own second
# build is better run beside this chain than after it, come late in the other workers' order,
# when the build is done.) (xdist's own "loadgroup" cannot do this under pytest 9.2: it marks groups by rewriting
# node ids, which pytest 9.2 no longer reads — pytest-dev/pytest-xdist#1386.) The file lock in
# _once_per_run keeps a test outside these files correct, only slower.
SITE_TEST_FILES = ("tests/test_browser.py", "tests/test_build.py")


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    from xdist.scheduler import LoadScopeScheduling

    class SiteTestsTogether(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return "site" if nodeid.split("::", 1)[0] in SITE_TEST_FILES else nodeid

    return SiteTestsTogether(config, log)


def pytest_collection_modifyitems(items):
    """The site tests first, so that their worker starts the build at once."""
    items.sort(key=lambda item: item.nodeid.split("::", 1)[0] not in SITE_TEST_FILES)
