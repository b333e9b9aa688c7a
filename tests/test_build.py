"""The strict build: it succeeds on good data, every internal link and anchor resolves, nothing
is loaded from another host, and bad data stops it before anything is written."""
from __future__ import annotations

import gzip
import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import yaml

from tests.conftest import FIXTURES, GOOD, ROOT, build_site, copy_data

SITE_PATH = urlsplit(yaml.safe_load((ROOT / "mkdocs.yml").read_text(encoding="utf-8").split("\ntheme:")[0])["site_url"]).path
RESOURCE_ATTRIBUTES = {("script", "src"), ("link", "href"), ("img", "src"), ("iframe", "src"),
                       ("source", "src"), ("video", "src"), ("audio", "src"), ("embed", "src"), ("object", "data")}


class _Page(HTMLParser):
    def __init__(self):
        super().__init__()
        self.links: list[tuple[str, str, str]] = []
        self.ids: set[str] = set()

    def handle_starttag(self, tag, attrs):
        if tag == "link" and dict(attrs).get("rel") in ("canonical", "alternate"):
            return  # names the page's address; loads nothing
        for name, value in attrs:
            if name == "id" and value:
                self.ids.add(value)
            if value is not None and name in ("href", "src", "data"):
                self.links.append((tag, name, value))


def parse(path: Path) -> _Page:
    page = _Page()
    page.feed(path.read_text(encoding="utf-8"))
    return page


def html_files(site: Path) -> list[Path]:
    return sorted(site.rglob("*.html"))


def test_site_has_every_page_type(built_site):
    for page in ["index.html", "timeline/index.html", "graph/index.html", "bibliography/index.html",
                 "people/index.html", "threads/index.html", "contributing/index.html",
                 "entries/2020-hostile-entry/index.html", "search/search_index.json", "mechanisms/index.html",
                 "mechanisms/bahdanau-attention/index.html", "notebooks/bahdanau-attention.ipynb"]:
        assert (built_site / page).exists(), page


def test_internal_links_and_anchors_resolve(built_site):
    pages = {path: parse(path) for path in html_files(built_site)}
    broken = []
    for path, page in pages.items():
        for tag, attribute, value in page.links:
            url = urlsplit(value)
            if url.scheme or value.startswith(("//", "mailto:")) or (tag, attribute) == ("a", "data"):
                continue
            # 404.html links from the site's root, which is site_url's path on the published site
            base = built_site if url.path.startswith("/") else path.parent
            local = url.path.removeprefix(SITE_PATH) if url.path.startswith(SITE_PATH) else url.path
            target = (base / unquote(local).lstrip("/")).resolve() if url.path else path
            if target.is_dir():
                target = target / "index.html"
            if not target.exists():
                broken.append(f"{path.relative_to(built_site)}: {value}")
            elif url.fragment and target.suffix == ".html" and tag == "a":
                if url.fragment not in pages[target].ids:
                    broken.append(f"{path.relative_to(built_site)}: {value} (no such anchor)")
    assert not broken, "\n".join(broken[:50])


def test_nothing_is_loaded_from_another_host(built_site):
    offenders = []
    for path in html_files(built_site):
        for tag, attribute, value in parse(path).links:
            if (tag, attribute) in RESOURCE_ATTRIBUTES and re.match(r"^(https?:)?//", value):
                offenders.append(f"{path.relative_to(built_site)}: <{tag} {attribute}={value}>")
    for path in html_files(built_site):  # scripts that import at run time (nbconvert's Mermaid loader did)
        if re.search(r"https?://(cdnjs\.cloudflare\.com|cdn\.jsdelivr\.net|unpkg\.com|fonts\.googleapis\.com)", path.read_text()):
            offenders.append(f"{path.relative_to(built_site)}: refers to a CDN")
    for path in list(built_site.rglob("*.css")) + list(built_site.rglob("*.js")):
        text = path.read_text(encoding="utf-8", errors="replace")
        for match in re.findall(r"""(?:@import\s+url\(|url\()\s*['"]?(https?://[^'")\s]+)""", text):
            offenders.append(f"{path.relative_to(built_site)}: {match}")
    assert not offenders, "\n".join(offenders)


def test_entry_pages_are_outside_the_nav(built_site):
    """The nav is rendered into every page: listing entries there makes the build quadratic."""
    home = (built_site / "timeline" / "index.html").read_text(encoding="utf-8")
    nav = home.split('md-nav--primary', 1)[1].split("</nav>", 1)[0]
    assert "entries/" not in nav


def test_edit_link_points_at_the_entry_file(built_site):
    page = (built_site / "entries" / "2020-hostile-entry" / "index.html").read_text(encoding="utf-8")
    assert "edit/main/timeline/2020-hostile-entry.yaml" in page


def test_bad_data_fails_the_build_and_leaves_site_untouched(tmp_path):
    data = copy_data(GOOD, tmp_path / "data")
    for file in (FIXTURES / "bad" / "unknown-thread" / "timeline").glob("*"):
        (data / "timeline" / file.name).write_bytes(file.read_bytes())
    site = tmp_path / "site"
    site.mkdir()
    (site / "index.html").write_text("previous good build")
    result = build_site(data / "timeline", data / "bib", site)
    assert result.returncode == 1
    assert "did you mean 'transformers'?" in result.stdout + result.stderr
    assert [p.name for p in site.iterdir()] == ["index.html"]
    assert (site / "index.html").read_text() == "previous good build"


def test_mechanism_pages_link_back_and_offer_the_notebook(built_site):
    page = (built_site / "mechanisms" / "bahdanau-attention" / "index.html").read_text(encoding="utf-8")
    assert 'href="../../entries/2014-bahdanau-align-and-translate/"' in page
    assert 'href="../../notebooks/bahdanau-attention.ipynb" download' in page
    assert (built_site / "notebooks" / "bahdanau-attention.ipynb").exists()
    entry = (built_site / "entries" / "2014-bahdanau-align-and-translate" / "index.html").read_text(encoding="utf-8")
    assert 'href="../../mechanisms/bahdanau-attention/"' in entry


def test_search_index_has_every_entry_once_and_hostile_text_stays_text(built_site):
    import json

    docs = json.loads((built_site / "search" / "search_index.json").read_text(encoding="utf-8"))["docs"]
    locations = [doc["location"] for doc in docs]
    entry_pages = sorted(path.parent.name for path in (built_site / "entries").glob("*/index.html"))
    assert sorted(loc.split("/")[1] for loc in locations if loc.startswith("entries/") and "#" not in loc) == entry_pages
    hostile = [doc for doc in docs if doc["location"].startswith("entries/2020-hostile-entry/")]
    assert hostile and all("<script" not in doc["title"] + doc["text"] and "<img" not in doc["title"] + doc["text"]
                           for doc in hostile)


def _mechanism_pages(built_site: Path) -> list[Path]:
    from scripts.mechanisms import notebook_sources
    from tests.conftest import ROOT

    return [built_site / "mechanisms" / p.stem / "index.html" for p in notebook_sources(ROOT / "docs")]


def test_mechanism_pages_are_light(built_site):
    """The notebook CSS is one cached stylesheet, not ~595 KB inlined into every page; figures are
    files of their own (scripts/image_files.py). Measured as served, gzip-compressed: the math
    typeset at build time is verbose markup that compresses tenfold (the heaviest page is ~30 KB)."""
    heavy = []
    for page in _mechanism_pages(built_site):
        html = page.read_text(encoding="utf-8")
        assert "data:image/png" not in html, f"{page.parent.name}: a figure inlined as base64"
        served = len(gzip.compress(html.encode(), compresslevel=6))
        if served > 64 * 1024:
            heavy.append(f"{page.parent.name}: {served // 1024} KB gzip-compressed")
        assert "<style" not in html.split('<article', 1)[1], f"{page.parent.name}: inline <style> in the content"
    assert not heavy, heavy
    assert (built_site / "assets" / "stylesheets" / "notebook.css").exists()


def test_mechanism_pages_show_their_module_and_differences_in_the_table_of_contents(built_site):
    from scripts.mechanisms import module_exists
    from tests.conftest import ROOT

    for page in _mechanism_pages(built_site):
        html = page.read_text(encoding="utf-8")
        slug = page.parent.name
        assert "No description has been provided" not in html, slug
        if not module_exists(ROOT / "docs", slug):
            continue
        for anchor in ("the-implementation", "differences-from-the-paper"):
            assert f'id="{anchor}"' in html and f'href="#{anchor}"' in html, f"{slug}: #{anchor}"
        assert html.index('id="the-implementation"') < html.index('id="differences-from-the-paper"')
        assert "show_source" not in html and "This is the module the tests run, shown from its own source." not in html
        if 'id="family"' in html:
            assert 'href="#family"' in html, f"{slug}: Family is not in the table of contents"
            family = html.split('id="family"', 1)[1]
            kin = re.findall(r'<li><a href="\.\./([a-z0-9-]+)/">', family)
            assert len(kin) == len(set(kin)), f"{slug}: a mechanism is listed twice in Family"


def test_a_second_claims_ledger_builds_under_strict_and_is_in_the_nav(built_site):
    """The shared test site is the project's data (its essays link to its entries and ledger) with
    the hostile fixture, which adds a second ledger (tests/fixtures/hostile/timeline/claims/)."""
    site = built_site
    home = (site / "index.html").read_text(encoding="utf-8")
    for slug in ("who-named-attention", "second-ledger"):
        assert (site / slug / "index.html").exists()
        assert f'href="{slug}/"' in home  # reachable from the nav
    assert "A second &lt;ledger&gt; &amp; more" in home and "<ledger>" not in home
