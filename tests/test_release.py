"""What a published project needs: licences stated where readers and contributors look, a valid
CITATION.cff behind the home page's BibTeX, workflows GitHub accepts, and a wheel that installs
into a fresh environment and runs a demo away from the checkout."""
from __future__ import annotations

import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest
import yaml

from scripts.citation import REQUIRED, bibtex, load_citation
from tests.conftest import ROOT

WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
CHECK_JSONSCHEMA = Path(sys.executable).with_name("check-jsonschema")


def _check(schema: str, files: list[Path]) -> subprocess.CompletedProcess:
    return subprocess.run([str(CHECK_JSONSCHEMA), "--builtin-schema", schema, *map(str, files)],
                          capture_output=True, text=True, timeout=120)


def test_workflows_match_githubs_schema():
    assert {p.name for p in WORKFLOWS} >= {"ci.yml", "deploy.yml"}
    result = _check("vendor.github-workflows", WORKFLOWS)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_schema_check_can_fail():
    """A workflow without `jobs` is rejected, so the check above is not vacuous."""
    bad = ROOT / ".cache" / "bad-workflow.yml"
    bad.parent.mkdir(exist_ok=True)
    bad.write_text("name: broken\non: push\n")
    try:
        assert _check("vendor.github-workflows", [bad]).returncode != 0
    finally:
        bad.unlink()


def test_deploy_publishes_pages_and_restores_the_notebook_cache():
    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / "deploy.yml").read_text(encoding="utf-8"))
    on = workflow.get("on", workflow.get(True))
    assert on["push"]["branches"] == ["main"]
    assert workflow["concurrency"]["group"]
    uses = [s.get("uses", "").split("@")[0] for job in workflow["jobs"].values() for s in job["steps"]]
    for action in ("actions/cache", "actions/configure-pages", "actions/upload-pages-artifact", "actions/deploy-pages"):
        assert action in uses, action
    cache = next(s for job in workflow["jobs"].values() for s in job["steps"] if s.get("uses", "").startswith("actions/cache"))
    assert cache["with"]["path"] == ".cache/notebooks"
    steps = [s for job in workflow["jobs"].values() for s in job["steps"]]
    assert any(s.get("run", "").strip() == "make build" for s in steps)
    upload = next(s for s in steps if s.get("uses", "").startswith("actions/upload-pages-artifact"))
    assert upload["with"]["path"].rstrip("/") == "site"
    deploy = workflow["jobs"]["deploy"]
    assert deploy["permissions"] == {"pages": "write", "id-token": "write"}


def test_pull_requests_keep_the_built_site_as_an_artifact():
    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / "ci.yml").read_text(encoding="utf-8"))
    on = workflow.get("on", workflow.get(True))
    assert "pull_request" in on
    steps = workflow["jobs"]["check-test-build"]["steps"]
    build = next(i for i, s in enumerate(steps) if s.get("run") == "make build")
    upload = next(i for i, s in enumerate(steps) if s.get("uses", "").startswith("actions/upload-artifact"))
    assert upload > build and steps[upload]["with"]["path"].rstrip("/") == "site"


def test_citation_file_is_valid_cff():
    citation = load_citation()
    assert citation["cff-version"] == "1.2.0"
    for key in REQUIRED:
        assert citation.get(key), key
    assert all("name" in a or "family-names" in a for a in citation["authors"])
    result = _check("vendor.citation-file-format", [ROOT / "CITATION.cff"])
    assert result.returncode == 0, result.stdout + result.stderr


def test_home_page_cites_the_atlas_from_citation_cff(built_site):
    home = (built_site / "index.html").read_text(encoding="utf-8")
    assert "Cite the Atlas" in home
    record = bibtex(load_citation())
    assert "@misc{attentionatlas," in record and "url" in record
    from html import unescape
    import re
    text = unescape(re.sub(r"<[^>]+>", "", home))
    assert record in text


def test_licences_are_stated_where_people_look():
    assert (ROOT / "LICENSE").read_text(encoding="utf-8").startswith("MIT License")
    content = (ROOT / "LICENSE-content").read_text(encoding="utf-8")
    assert "Creative Commons Attribution 4.0 International Public License" in content
    assert "Section 8 -- Interpretation." in content  # the whole legal code, not a summary
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    contributing = (ROOT / "CONTRIBUTING.md").read_text(encoding="utf-8")
    for text in (readme, contributing):
        assert "MIT" in text and "CC BY 4.0" in text
    assert "contributions" in contributing.lower() and "same terms" in contributing


def test_package_metadata_is_complete():
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert project["license"] == "MIT" and project["license-files"] == ["LICENSE"]
    assert project["readme"] == "README.md" and project["requires-python"].startswith(">=3.11")
    assert {"Homepage", "Repository", "Documentation", "Issues"} <= set(project["urls"])
    assert project["dependencies"] == ["torch"]  # the terminal demos need nothing else
    imported = " ".join(p.read_text(encoding="utf-8") for p in (ROOT / "runnable").glob("*.py"))
    assert "matplotlib" not in imported


def test_wheel_installs_into_a_fresh_environment_and_runs_a_demo_elsewhere(tmp_path):
    """Build the wheel, install it (no dependencies) into a new virtual environment that sees this
    interpreter's torch through a .pth line but not the checkout or its editable install, and run a
    demo from an unrelated directory."""
    source = tmp_path / "source"  # a copy, so building writes nothing (build/, *.egg-info) into the checkout
    shutil.copytree(ROOT / "runnable", source / "runnable", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(ROOT / name, source / name)
    wheels = tmp_path / "wheels"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
                    "--wheel-dir", str(wheels), str(source)], check=True, timeout=300, capture_output=True)
    (wheel,) = wheels.glob("attention_atlas-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        metadata = archive.read(next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))).decode()
    assert "License-Expression: MIT" in metadata and "Requires-Python: >=3.11" in metadata
    assert "Project-URL: Repository," in metadata and "Requires-Dist: torch" in metadata
    fresh = tmp_path / "fresh"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(fresh)], check=True, timeout=120)
    python = fresh / "bin" / "python"
    site_packages = Path(subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                                        capture_output=True, text=True, check=True).stdout.strip())
    # torch comes from ours: a plain path line (not processed as a site dir, so our editable
    # install's finder, which would point back at the checkout, is not loaded).
    (site_packages / "borrowed-torch.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet", "--no-deps",
                    "--disable-pip-version-check", str(wheel)], check=True, timeout=300, capture_output=True)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    where = subprocess.run([str(python), "-c", "import runnable; print(runnable.__file__)"], cwd=elsewhere, env=env,
                           capture_output=True, text=True, timeout=120)
    assert where.returncode == 0, where.stderr
    assert Path(where.stdout.strip()).is_relative_to(site_packages), where.stdout
    demo = subprocess.run([str(python), "-m", "runnable.scaled_dot_product_attention", "--device", "cpu"],
                          cwd=elsewhere, env=env, capture_output=True, text=True, timeout=300)
    assert demo.returncode == 0, demo.stderr
    assert "tolerance" in demo.stdout or demo.stdout.strip()
    checkout = subprocess.run([str(python), "-c", "import scripts"], cwd=elsewhere, env=env,
                              capture_output=True, text=True, timeout=120)
    assert checkout.returncode != 0, "the fresh environment must not see the checkout"
