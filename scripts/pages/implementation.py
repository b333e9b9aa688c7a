"""The generated sections of a mechanism page: "The implementation" (the module's source one
definition at a time, each with the prose that explains it) and "Differences from the paper",
both from `scripts.literate`, so every page shows the tested source and never a copy."""
from __future__ import annotations

import functools
import hashlib
import importlib.metadata
import re
from collections.abc import Callable
from pathlib import Path

import markdown as python_markdown
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

from scripts.cache_files import remove_stale, write_atomically
from scripts.literate import LiterateModule

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
CACHE = Path(__file__).resolve().parents[2] / ".cache" / "implementation"
_ENVIRONMENT = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]),
                           keep_trailing_newline=True)
# The headings the build adds to a page's table of contents, in page order: (id, title).
SECTIONS = [("the-implementation", "The implementation"), ("differences-from-the-paper", "Differences from the paper")]


# Docstrings are written as plain text: "NL[v](i)" is a formula, not a link.
_LINK_PATTERNS = ("reference", "link", "image_link", "image_reference", "short_reference", "short_image_ref",
                  "autolink", "automail")


def docstring_markdown(extensions: list, extension_configs: dict) -> Callable[[str], str]:
    """Markdown with the site's extensions (highlighting, math, admonitions) but no link syntax,
    for docstrings and comments."""
    renderer = python_markdown.Markdown(extensions=extensions, extension_configs=extension_configs)
    for name in _LINK_PATTERNS:
        renderer.inlinePatterns.deregister(name, strict=False)
    return lambda text: renderer.reset().convert(text)


def _inline(html: str) -> str:
    """A single paragraph's HTML without its <p> wrapper (for a list item)."""
    match = re.fullmatch(r"\s*<p>(.*)</p>\s*", html, re.S)
    return match.group(1) if match else html


def implementation_html(module: LiterateModule, path: str, markdown: Callable[[str], str]) -> str:
    """The two sections as HTML. `markdown` renders Markdown with the site's own extensions (the
    same highlighting, copy buttons and math as every other page); our modules are trusted text."""
    def render(text: str) -> Markup:
        return Markup(markdown(text)) if text.strip() else Markup("")

    blocks = [{"name": block.name, "method": "." in block.name,
               "anchor": "code-" + re.sub(r"[^a-z0-9]+", "-", block.name.lower()).strip("-"),
               "prose": render(block.prose),
               "code": render(f"```python\n{block.code}\n```")} for block in module.blocks]
    return _ENVIRONMENT.get_template("implementation.html").render(
        path=path, summary=render(module.summary), blocks=blocks,
        differences=[Markup(_inline(markdown(item))) for item in module.differences])


@functools.cache
def _renderer_version() -> str:
    """What else the HTML depends on: this file, its template, and the highlighting packages."""
    parts = [Path(__file__).read_bytes(), (TEMPLATES / "implementation.html").read_bytes()]
    parts += [f"{name}={importlib.metadata.version(name)}".encode()
              for name in ("markdown", "pymdown-extensions", "pygments", "mkdocs-material")]
    return hashlib.sha256(b"\0".join(parts)).hexdigest()


def cached_implementation_html(module: LiterateModule, path: str, markdown: Callable[[str], str],
                               markdown_config: str, cache_dir: Path = CACHE) -> str:
    """implementation_html, kept on disk between builds: highlighting every definition of 61
    modules was a quarter of a warm build, repeated for sources that had not changed. The key is
    the module as parsed (its blocks, prose and code), its path, the site's Markdown configuration
    (`markdown_config`, as text) and _renderer_version(); one entry per module is kept."""
    key = hashlib.sha256("\0".join([path, repr(module), markdown_config, _renderer_version()]).encode()).hexdigest()[:20]
    name = f"{Path(path).stem}.html"
    target = cache_dir / key / name
    if target.is_file():
        return target.read_text(encoding="utf-8")
    html = implementation_html(module, path, markdown)
    write_atomically(target, lambda temporary: temporary.write_text(html, encoding="utf-8"))
    remove_stale(cache_dir.glob(f"*/{name}"), keep=target)
    return html


def insert_implementation(notebook_html: str, section: str) -> str:
    """Put the section before the notebook cell whose heading starts "Running it" (where the demo
    begins), or at the end of the notebook when it has none."""
    heading = re.search(r"<h2[^>]*>\s*Running it", notebook_html)
    if heading is None:
        return notebook_html + section
    cell = notebook_html.rfind('<div class="jp-Cell ', 0, heading.start())
    at = cell if cell >= 0 else heading.start()
    return notebook_html[:at] + section + notebook_html[at:]
