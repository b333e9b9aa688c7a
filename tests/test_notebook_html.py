"""mkdocs-jupyter's HTML made offline and light (scripts/notebook_html.py)."""
from __future__ import annotations

import pytest

from scripts.notebook_html import RemoteResource, offline_notebook_html

CELL = ('<style type="text/css">.jupyter-wrapper{--md-red-50: #ffebee}</style>'
        "<script>\n(function (global, factory) {\n typeof exports}</script>"
        "<script>\n      document.addEventListener('clipboard-copy', function(event) {})</script>"
        '<div class="jp-InputArea"><div class="zeroclipboard-container">\n<clipboard-copy for="cell-1">'
        '<div><span class="notice" hidden="">Copied!</span><svg></svg></div>\n</clipboard-copy>\n</div>\n'
        '<div class="highlight-ipynb hl-python"><pre><span></span><span class="n">x</span> = 1\n</pre></div>\n'
        '<div class="clipboard-copy-txt" id="cell-1">x = 1</div></div>')


def test_inlined_css_scripts_and_copy_widgets_are_removed():
    html = offline_notebook_html(CELL)
    for gone in ("<style", "factory", "clipboard", "zeroclipboard", "Copied!"):
        assert gone not in html
    # the code cell is a Material code block: the site's font, colours, scrolling and copy button
    assert '<div class="language-python highlight"><pre><code><span></span><span class="n">x</span> = 1\n</code></pre></div>' in html


def test_a_remote_resource_left_in_the_template_fails_loudly():
    with pytest.raises(RemoteResource, match="cdn.jsdelivr.net"):
        offline_notebook_html('<script src="https://cdn.jsdelivr.net/npm/x.js"></script>')
