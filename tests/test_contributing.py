"""The contributor's path end to end, and the rules declared once (schema → docs, forms)."""
from __future__ import annotations

import json
import subprocess
import sys

import yaml

from scripts.field_reference import field_reference
from scripts.schema_messages import load_schema
from tests.conftest import ROOT, build_failure, build_site, copy_data

# A plainly synthetic record: the test walks the contributor's path, it adds no history.
NEW_RECORD = """
@article{example2020synthetic,
  author = {Example, Ada and Sample, Ben},
  title = {A Synthetic Work for the Contributor Test},
  journal = {Journal of Test Fixtures},
  year = {2020}
}
"""


def test_contributor_scaffolds_fills_checks_and_builds(tmp_path):
    """On a copy of the project's own data: add a record, scaffold, fill, check, build, find it."""
    data = copy_data(ROOT, tmp_path / "data")
    (data / "timeline" / "claims").mkdir(exist_ok=True)
    for file in (ROOT / "timeline" / "claims").glob("*"):
        (data / "timeline" / "claims" / file.name).write_bytes(file.read_bytes())
    (data / "bib" / "contributor.bib").write_text(NEW_RECORD)
    run = lambda *args: subprocess.run([sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True)  # noqa: E731

    scaffolded = run("scripts.new_entry", "example2020synthetic", "--root", str(data))
    assert scaffolded.returncode == 0, scaffolded.stderr
    path = data / "timeline" / "2020-example-synthetic-work-contributor-test.yaml"
    assert path.exists(), scaffolded.stdout

    # The scaffold is not yet acceptable: the validator points at every TODO.
    check_args = ("scripts.check", "--timeline", str(data / "timeline"), "--bib", str(data / "bib"))
    unfilled = run(*check_args)
    assert unfilled.returncode == 1
    assert f"{path.name}:" in unfilled.stderr and "TODO" in unfilled.stderr

    text = path.read_text(encoding="utf-8")
    text = text.replace("thread: TODO", "thread: vision").replace("date: 2020", 'date: "2020-02"')
    text = text.replace('summary: "TODO: one sentence, in your own words, on what this work is."',
                        "summary: A synthetic work that exists only to test the contributor's path.")
    text = text.split("annotation: |")[0] + (
        "annotation: |\n  A test annotation with math, $\\alpha_{ti}$, long enough for the schema's minimum of eighty words:"
        + " word" * 80 + "\n"
        "relations:\n  - type: cites\n    target: 2014-bahdanau-align-and-translate\n")
    path.write_text(text, encoding="utf-8")
    checked = run(*check_args)
    assert checked.returncode == 0, checked.stderr

    site = tmp_path / "site"
    built = build_site(data / "timeline", data / "bib", site)
    assert built.returncode == 0, build_failure(built)
    entry_id = path.stem
    page = (site / "entries" / entry_id / "index.html").read_text(encoding="utf-8")
    assert "A Synthetic Work for the Contributor Test" in page and "Journal of Test Fixtures" in page
    assert f'href="../entries/{entry_id}/"' in (site / "timeline" / "index.html").read_text(encoding="utf-8")
    graph = (site / "graph" / "index.html").read_text(encoding="utf-8")
    data_json = json.loads(graph.split('id="atlas-graph-data">', 1)[1].split("</script>", 1)[0])
    assert entry_id in {node["id"] for node in data_json["nodes"]}
    assert any(e["from"] == entry_id and e["to"] == "2014-bahdanau-align-and-translate" for e in data_json["edges"])
    cited = (site / "entries" / "2014-bahdanau-align-and-translate" / "index.html").read_text(encoding="utf-8")
    assert f'href="../{entry_id}/"' in cited  # the relation shows on the target's page too


def test_scaffold_refuses_unknown_key_and_existing_file(good_data):
    run = lambda *args: subprocess.run([sys.executable, "-m", "scripts.new_entry", *args, "--root", str(good_data)],  # noqa: E731
                                       cwd=ROOT, capture_output=True, text=True)
    missing = run("nosuch2020key")
    assert missing.returncode == 1 and "no BibTeX record with key 'nosuch2020key'" in missing.stderr
    assert run("cherry1953some").returncode == 0
    again = run("cherry1953some")
    assert again.returncode == 1 and "already exists" in again.stderr


def test_field_reference_in_contributing_is_generated_from_the_schema():
    contributing = (ROOT / "CONTRIBUTING.md").read_text(encoding="utf-8")
    assert field_reference(load_schema()) in contributing, "run `make fields` to regenerate it"


def test_issue_form_offers_exactly_the_schema_threads():
    form = yaml.safe_load((ROOT / ".github" / "ISSUE_TEMPLATE" / "propose-entry.yml").read_text())
    dropdown = next(item for item in form["body"] if item.get("id") == "thread")
    assert dropdown["attributes"]["options"] == load_schema()["properties"]["thread"]["enum"]


def test_every_entry_file_declares_the_schema_for_editors():
    for path in (ROOT / "timeline").glob("*.yaml"):
        assert path.read_text(encoding="utf-8").startswith("# yaml-language-server: $schema=./schema.json"), path

