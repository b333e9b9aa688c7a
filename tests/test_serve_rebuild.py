"""`make serve` (mkdocs serve --dirty): after a save, the rebuild renders again the pages the edit
changed (the entry's own, its neighbours', the timeline) and no other, and the search index
keeps every page's documents once, the edit's new ones and none of a deleted entry's.

A small site (the good fixture's three entries, a home page, no mechanism pages) built by
tests/serve_session.py exactly as mkdocs serve builds, in a subprocess of its own."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.conftest import GOOD, ROOT, copy_data

EDITED = "2014-bahdanau-align-and-translate"     # cited by the next one
NEIGHBOUR = "2017-vaswani-attention-is-all-you-need"
UNRELATED = "1953-cherry-cocktail-party"          # linked to neither's page through the edit
NEW_TITLE = "An edited title for the serve test"
HANG_GUARD_S = 600


def _config(tmp_path: Path) -> Path:
    """The project's config on a docs folder of one page: everything else the pages need is generated."""
    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"))
    docs = tmp_path / "docs"
    (docs / "mechanisms").mkdir(parents=True)
    # Pages with markers filled from the data: the eras name the best-connected works (EDITED
    # among them); the repository's address does not depend on the entries.
    (docs / "index.md").write_text("# Home\n\n<!-- atlas:eras -->\n", encoding="utf-8")
    (docs / "source.md").write_text("# Source\n\n[The repository](<!-- atlas:repo-url -->)\n", encoding="utf-8")
    config.update(docs_dir=str(docs), hooks=[str(ROOT / "scripts" / "mkdocs_hooks.py")],
                  nav=[{"Home": "index.md"}, {"Timeline": "timeline.md"}, {"Source": "source.md"}])
    config["theme"]["custom_dir"] = str(ROOT / "scripts" / "theme")
    config.pop("watch")  # relative to the project, and only for the server's watcher
    path = tmp_path / "mkdocs.yml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def builds(tmp_path_factory) -> list[dict]:
    """The reports of three builds: the first; after retitling EDITED; after deleting NEIGHBOUR."""
    tmp_path = tmp_path_factory.mktemp("serve")
    data = copy_data(GOOD, tmp_path / "data")
    entry = data / "timeline" / f"{EDITED}.yaml"
    text = entry.read_text(encoding="utf-8")
    old_title = next(line for line in text.splitlines() if line.startswith("title: "))
    steps = [{"write": {str(entry): text.replace(old_title, f"title: {NEW_TITLE}")}},
             {"delete": [str(data / "timeline" / f"{NEIGHBOUR}.yaml")]}]
    env = {**os.environ, "ATLAS_TIMELINE_DIR": str(data / "timeline"), "ATLAS_BIB_DIR": str(data / "bib")}
    result = subprocess.run([sys.executable, "-m", "tests.serve_session", str(_config(tmp_path)),
                             str(tmp_path / "site"), json.dumps(steps)],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=HANG_GUARD_S)
    assert result.returncode == 0, result.stderr[-4000:]
    return json.loads(result.stdout)


def _page(entry_id: str) -> str:
    return f"entries/{entry_id}/index.html"


def test_the_edit_shows_on_the_entry_its_neighbours_the_timeline_and_the_home_page(builds):
    first, edited, _ = builds
    for page in (_page(EDITED), _page(NEIGHBOUR), "timeline/index.html", "index.html"):
        assert NEW_TITLE not in first["pages"][page][1]
        assert NEW_TITLE in edited["pages"][page][1], page
        assert edited["pages"][page][0] != first["pages"][page][0], f"{page} was not written again"


def test_pages_the_edit_did_not_change_are_not_rendered_again(builds):
    first, edited, _ = builds
    assert NEW_TITLE not in edited["pages"][_page(UNRELATED)][1]
    assert edited["pages"][_page(UNRELATED)] == first["pages"][_page(UNRELATED)]  # same write time
    # A hand-written page whose markers the edit does not touch.
    assert edited["pages"]["source/index.html"] == first["pages"]["source/index.html"]


def _documents(report: dict, entry_id: str) -> list[dict]:
    return [doc for doc in report["search"] if doc["location"].split("#")[0] == f"entries/{entry_id}/"]


def test_search_index_keeps_every_page_once_with_the_edit(builds):
    first, edited, deleted = builds
    for entry_id in (EDITED, NEIGHBOUR, UNRELATED):
        locations = [doc["location"] for doc in _documents(edited, entry_id)]
        assert sorted(locations) == sorted(doc["location"] for doc in _documents(first, entry_id))
        assert len(locations) == len(set(locations)), locations
    assert [doc["title"] for doc in _documents(edited, EDITED) if "#" not in doc["location"]] == [NEW_TITLE]
    assert not any(NEW_TITLE in doc["title"] for doc in first["search"])
    # A page's documents survive a rebuild that did not render it, and one that rendered the
    # home page (whose location, "", every other starts with) does not lose the others.
    for location in ("", "source/"):
        assert [doc for doc in edited["search"] if doc["location"].split("#")[0] == location], location


def test_a_deleted_entry_leaves_the_search_index(builds):
    _, edited, deleted = builds
    assert _documents(edited, NEIGHBOUR)
    assert not _documents(deleted, NEIGHBOUR)
    # (Its one relation, to UNRELATED, is gone: that page is rendered again, boosted less in search.)
    assert ([doc["location"] for doc in _documents(deleted, UNRELATED)]
            == [doc["location"] for doc in _documents(edited, UNRELATED)])
    assert deleted["pages"][_page(UNRELATED)] != edited["pages"][_page(UNRELATED)]
