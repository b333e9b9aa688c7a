"""Make mkdocs-jupyter's HTML offline: nbconvert's template adds an empty MathJax <script src="">
(which loads the page itself as a script), a MathJax configuration, and a Mermaid loader that
imports from cdnjs. Math is rendered by the site's own KaTeX; notebooks here draw no Mermaid."""
from __future__ import annotations

import re

_REMOVE = [
    re.compile(r"<!-- Load mathjax -->\s*<script[^>]*>\s*</script>", re.S),
    re.compile(r"<!-- MathJax configuration -->.*?<!-- End of mathjax configuration -->", re.S),
    re.compile(r'<script type="module">\s*document\.addEventListener\("DOMContentLoaded", async \(\) => \{\s*'
               r'const diagrams = document\.querySelectorAll\("\.jp-Mermaid.*?</script>', re.S),
]
REMOTE = re.compile(r"https?://(cdnjs\.cloudflare\.com|cdn\.jsdelivr\.net|unpkg\.com)[^\"'\s)]*")


class RemoteResource(Exception):
    pass


def offline_notebook_html(html: str) -> str:
    for pattern in _REMOVE:
        html = pattern.sub("", html)
    leftover = REMOTE.search(html)
    if leftover:
        raise RemoteResource(f"notebook page still refers to {leftover.group(0)}: update scripts/notebook_html.py "
                             "for the new mkdocs-jupyter/nbconvert template")
    return html
