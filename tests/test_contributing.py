"""The contributor's path end to end, and the rules declared once (schema → docs, forms)."""
from __future__ import annotations

import json
import subprocess
import sys

import yaml

from scripts.field_reference import field_reference
from scripts.schema_messages import load_schema
from tests import contributor_path
from tests.conftest import ROOT, copy_data


def test_contributor_scaffolds_fills_and_checks(tmp_path):
    """On a copy of the project's own data: add a record, scaffold, see every TODO named, fill, check."""
    data = copy_data(ROOT, tmp_path / "data")
    contributor_path.add_record(data)
    scaffolded = contributor_path.scaffold(data)
    assert scaffolded.returncode == 0, scaffolded.stderr
    path = data / "timeline" / f"{contributor_path.ENTRY_ID}.yaml"
    assert path.exists(), scaffolded.stdout

    # The scaffold is not yet acceptable: the validator points at every TODO.
    unfilled = contributor_path.check(data)
    assert unfilled.returncode == 1
    assert f"{path.name}:" in unfilled.stderr and "TODO" in unfilled.stderr

    contributor_path.fill(path)
    checked = contributor_path.check(data)
    assert checked.returncode == 0, checked.stderr


def test_a_scaffolded_entry_builds_and_joins_the_site(built_site):
    """The shared test site has an entry made by the steps above (tests/conftest.py): it has its
    page, is on the timeline and in the graph, and shows on the page of the work it cites."""
    entry_id, cited = contributor_path.ENTRY_ID, contributor_path.CITED
    page = (built_site / "entries" / entry_id / "index.html").read_text(encoding="utf-8")
    assert "A Synthetic Work for the Contributor Test" in page and "Journal of Test Fixtures" in page
    assert f'href="../entries/{entry_id}/"' in (built_site / "timeline" / "index.html").read_text(encoding="utf-8")
    graph = (built_site / "graph" / "index.html").read_text(encoding="utf-8")
    data_json = json.loads(graph.split('id="atlas-graph-data">', 1)[1].split("</script>", 1)[0])
    assert entry_id in {node["id"] for node in data_json["nodes"]}
    assert any(e["from"] == entry_id and e["to"] == cited for e in data_json["edges"])
    cited_page = (built_site / "entries" / cited / "index.html").read_text(encoding="utf-8")
    assert f'href="../{entry_id}/"' in cited_page  # the relation shows on the target's page too


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

