"""Embedded figures set aside as files (scripts/image_files.py)."""
from __future__ import annotations

import base64

from scripts.image_files import set_aside_images

PNG = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==")


def _img(data: bytes, cls: str, mime: str = "image/png") -> str:
    return f'<img alt="A heatmap" class="{cls}" height="223" src="data:{mime};base64,{base64.b64encode(data).decode()}" width="464"/>'


def test_embedded_figures_become_lazy_files_named_by_content(tmp_path):
    page = "<p>" + _img(PNG, "atlas-figure__light") + _img(PNG, "atlas-figure__dark") + "</p>"
    out = set_aside_images(page, tmp_path / "mechanisms" / "x")
    files = list((tmp_path / "mechanisms" / "x").iterdir())
    assert len(files) == 1 and files[0].read_bytes() == PNG  # one file for two identical images
    name = files[0].name
    assert name.startswith("figure-") and name.endswith(".png")
    assert out == (f'<p><img alt="A heatmap" class="atlas-figure__light" height="223" src="{name}" loading="lazy" width="464"/>'
                   f'<img alt="A heatmap" class="atlas-figure__dark" height="223" src="{name}" loading="lazy" width="464"/></p>')
    assert set_aside_images(page, tmp_path / "mechanisms" / "x") == out  # a rebuild writes the same names


def test_svg_and_linked_images_stay_as_they_are(tmp_path):
    page = _img(b"<svg xmlns='http://www.w3.org/2000/svg'/>", "a", "image/svg+xml") + '<img src="plot.png" alt="p">'
    assert set_aside_images(page, tmp_path) == page
    assert list(tmp_path.iterdir()) == []
