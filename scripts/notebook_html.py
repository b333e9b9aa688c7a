"""Make mkdocs-jupyter's HTML offline, light and styled by the site itself.

nbconvert's template adds an empty MathJax <script src=""> (which loads the page itself as a
script), a MathJax configuration, and a Mermaid loader that imports from cdnjs: removed, since math
is rendered by the site's own KaTeX and the notebooks draw no Mermaid. It also inlines about
595 KB of JupyterLab CSS into every page, a clipboard library and its own copy buttons: removed
too. The few rules the notebook markup needs live once in docs/assets/stylesheets/notebook.css
(cached by the browser), and code cells become Material code blocks (`.highlight pre > code`),
so they get the site's code font, colours in both schemes, horizontal scrolling and copy button."""
from __future__ import annotations

import re

_REMOVE = [
    re.compile(r"<!-- Load mathjax -->\s*<script[^>]*>\s*</script>", re.S),
    re.compile(r"<!-- MathJax configuration -->.*?<!-- End of mathjax configuration -->", re.S),
    re.compile(r'<script type="module">\s*document\.addEventListener\("DOMContentLoaded", async \(\) => \{\s*'
               r'const diagrams = document\.querySelectorAll\("\.jp-Mermaid.*?</script>', re.S),
    # The inlined JupyterLab and Pygments stylesheets.
    re.compile(r"<style[^>]*>.*?</style>", re.S),
    # mkdocs-jupyter's copy button: the clipboard-copy element's library, its listener, the
    # button and the hidden copy of the cell's text (Material's own button replaces them).
    re.compile(r"<script>\s*\(function \(global, factory\).*?</script>", re.S),
    re.compile(r"<script>\s*document\.addEventListener\('clipboard-copy'.*?</script>", re.S),
    re.compile(r'<div class="zeroclipboard-container">.*?</clipboard-copy>\s*</div>', re.S),
    re.compile(r'<div class="clipboard-copy-txt"[^>]*>.*?</div>', re.S),
]
_CODE_CELL = re.compile(r'<div class="highlight-ipynb hl-(\w+)"><pre>(.*?)</pre></div>', re.S)
REMOTE = re.compile(r"https?://(cdnjs\.cloudflare\.com|cdn\.jsdelivr\.net|unpkg\.com)[^\"'\s)]*")


class RemoteResource(Exception):
    pass


def offline_notebook_html(html: str) -> str:
    for pattern in _REMOVE:
        html = pattern.sub("", html)
    html = _CODE_CELL.sub(r'<div class="language-\1 highlight"><pre><code>\2</code></pre></div>', html)
    leftover = REMOTE.search(html)
    if leftover:
        raise RemoteResource(f"notebook page still refers to {leftover.group(0)}: update scripts/notebook_html.py "
                             "for the new mkdocs-jupyter/nbconvert template")
    return html
