"""The contributor's path end to end, and the rules declared once (schema → docs, forms)."""
from __future__ import annotations

import json
import subprocess
import sys

import yaml

from scripts.field_reference import field_reference
from scripts.schema_messages import load_schema
from tests.conftest import ROOT, build_site

NEW_RECORD = """
@inproceedings{xu2015show,
  author = {Xu, Kelvin and Ba, Jimmy and Kiros, Ryan and Cho, Kyunghyun and Courville, Aaron and Salakhutdinov, Ruslan and Zemel, Richard and Bengio, Yoshua},
  title = {Show, Attend and Tell: Neural Image Caption Generation with Visual Attention},
  booktitle = {Proceedings of the 32nd International Conference on Machine Learning},
  year = {2015},
  eprint = {1502.03044},
  archivePrefix = {arXiv}
}
"""


def test_contributor_scaffolds_fills_checks_and_builds(good_data, tmp_path):
    (good_data / "bib" / "fixture.bib").open("a").write(NEW_RECORD)
    run = lambda *args: subprocess.run([sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True)  # noqa: E731

    scaffolded = run("scripts.new_entry", "xu2015show", "--root", str(good_data))
    assert scaffolded.returncode == 0, scaffolded.stderr
    path = good_data / "timeline" / "2015-xu-show-attend-tell-neural.yaml"
    assert path.exists(), scaffolded.stdout

    # The scaffold is not yet acceptable: the validator points at every TODO.
    unfilled = run("scripts.check", "--root", str(good_data))
    assert unfilled.returncode == 1
    assert f"{path.name}:" in unfilled.stderr and "TODO" in unfilled.stderr

    text = path.read_text(encoding="utf-8")
    text = text.replace("thread: TODO", "thread: vision").replace("date: 2015", 'date: "2015-02"')
    text = text.replace('summary: "TODO: one sentence, in your own words, on what this work is."',
                        "summary: Captions images by attending, word by word, to regions of a convolutional feature map.")
    text = text.split("annotation: |")[0] + (
        "annotation: |\n  At each word the decoder weighs the feature map's locations, $\\alpha_{ti}$, and reads their average.\n"
        "relations:\n  - type: cites\n    target: 2014-bahdanau-align-and-translate\n")
    path.write_text(text, encoding="utf-8")
    assert run("scripts.check", "--root", str(good_data)).returncode == 0

    site = tmp_path / "site"
    built = build_site(good_data / "timeline", good_data / "bib", site)
    assert built.returncode == 0, built.stdout + built.stderr
    entry_id = path.stem
    page = (site / "entries" / entry_id / "index.html").read_text(encoding="utf-8")
    assert "Show, Attend and Tell" in page and "arxiv.org/abs/1502.03044" in page
    assert f'href="../entries/{entry_id}/"' in (site / "timeline" / "index.html").read_text(encoding="utf-8")
    graph = (site / "graph" / "index.html").read_text(encoding="utf-8")
    data = json.loads(graph.split('id="atlas-graph-data">', 1)[1].split("</script>", 1)[0])
    assert entry_id in {node["id"] for node in data["nodes"]}
    assert {"from": entry_id, "to": "2014-bahdanau-align-and-translate"}.items() <= next(
        e for e in data["edges"] if e["from"] == entry_id).items()


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

