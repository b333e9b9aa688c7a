"""Builds at once share mkdocs-jupyter's cache without losing a file they read
(scripts/jupyter_cache.py). The plugin's own eviction, run by one build, deletes the entries
another build is about to read; through private folders of links, nothing a build reads goes."""
from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from mkdocs_jupyter.plugin import Plugin

from scripts import jupyter_cache


def renderer() -> Plugin:
    plugin = Plugin()
    errors, warnings = plugin.load_config({"cache": True})
    assert not errors
    plugin.on_pre_build(config=None)   # starts its set of used entries
    return plugin


def render(plugin: Plugin, name: str, html: str | None = None) -> str:
    """What the plugin does for one page: read its entry, or write one (html given)."""
    path = Path(plugin.config["cache_dir"]) / f"{name}.json"
    plugin._used_cache_paths.add(path)
    if html is not None:
        path.write_text(html, encoding="utf-8")
        return html
    return path.read_text(encoding="utf-8")


@pytest.fixture
def shared(tmp_path) -> Path:
    folder = tmp_path / ".cache" / "mkdocs-jupyter"
    folder.mkdir(parents=True)
    for name in ("common", "only-b"):
        (folder / f"{name}.json").write_text(f"<p>{name}</p>", encoding="utf-8")
    return folder


def test_two_builds_at_once_keep_what_each_reads(shared):
    a, b = renderer(), renderer()
    private_a = jupyter_cache.open_private(a, shared)
    private_b = jupyter_cache.open_private(b, shared)
    render(a, "common")
    render(a, "new-in-a", "<p>a</p>")
    # A closes "a week and a day later": only-b, unused by A and untouched since, is evicted from the
    # shared folder, and B, which linked it at its start, still reads it.
    later = time.time() + jupyter_cache.UNUSED_FOR_S + 86400
    jupyter_cache.close_private(a, private_a, shared, now=later)
    a.on_post_build(config=None)     # the plugin's own eviction: its folder is gone, so nothing
    assert not (shared / "only-b.json").exists()
    assert render(b, "only-b") == "<p>only-b</p>" and render(b, "common") == "<p>common</p>"
    jupyter_cache.close_private(b, private_b, shared, now=later)
    b.on_post_build(config=None)
    assert sorted(p.name for p in shared.iterdir()) == ["common.json", "new-in-a.json", "only-b.json"]
    assert not private_a.exists() and not private_b.exists()


def test_builds_of_other_pages_keep_each_others_entries_until_unused_for_a_week(shared):
    """The test suite's serve test builds a site without notebooks between two builds of the real
    site: it must not empty the cache the real build reads."""
    real = renderer()
    private = jupyter_cache.open_private(real, shared)
    render(real, "common")
    jupyter_cache.close_private(real, private, shared)
    other = renderer()
    jupyter_cache.close_private(other, jupyter_cache.open_private(other, shared), shared)  # used nothing
    assert sorted(p.name for p in shared.iterdir()) == ["common.json", "only-b.json"]
    # A week on, what nobody used since is evicted; a build's use keeps an entry.
    later = time.time() + jupyter_cache.UNUSED_FOR_S + 86400
    old = time.time() - 60
    os.utime(shared / "common.json", (old, old))
    os.utime(shared / "only-b.json", (old, old))
    real = renderer()
    private = jupyter_cache.open_private(real, shared)
    render(real, "common")
    jupyter_cache.close_private(real, private, shared, now=later)
    assert sorted(p.name for p in shared.iterdir()) == ["common.json"]


def test_a_written_entry_is_published_whole_and_found_by_the_next_build(shared):
    first = renderer()
    private = jupyter_cache.open_private(first, shared)
    render(first, "page", "<p>" + "x" * 100_000 + "</p>")
    jupyter_cache.close_private(first, private, shared)
    assert (shared / "page.json").stat().st_size == 100_007
    assert not list(shared.glob(".*partial"))
    second = renderer()
    jupyter_cache.open_private(second, shared)
    assert render(second, "page").startswith("<p>xxx")


def test_the_plugins_own_eviction_loses_another_builds_entry(shared):
    """Negative control: both builds on the shared folder, as the plugin has them. One build's
    eviction removes the entry the other is about to read."""
    a, b = renderer(), renderer()
    for plugin in (a, b):
        plugin.config["cache_dir"] = str(shared)
    render(a, "common")
    a.on_post_build(config=None)
    with pytest.raises(FileNotFoundError):
        render(b, "only-b")


def test_a_failed_build_leaves_no_private_folder(shared):
    plugin = renderer()
    private = jupyter_cache.open_private(plugin, shared)
    jupyter_cache.discard_private(private)
    assert not private.exists() and (shared / "common.json").exists()
