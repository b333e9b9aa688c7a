"""Images embedded in a page (notebook figures arrive as `data:` URIs) set aside as files of their
own, loaded lazily.

A mechanism page carries each figure twice, for the light and the dark scheme, as base64 inside
its HTML: tens of kilobytes a phone must download and parse before it can show the first line, for
pictures far down the page, half of them never shown. As files beside the page, with
`loading="lazy"`, the browser fetches only the scheme's copy, and only when the reader nears it
(the `width` and `height` the notebook gave keep the layout from jumping). A file is named by
its content, so a rebuild writes the same names."""
from __future__ import annotations

import base64
import binascii
import hashlib
import re
from pathlib import Path

EXTENSIONS = {"image/png": "png", "image/jpeg": "jpg", "image/gif": "gif", "image/webp": "webp"}
_EMBEDDED = re.compile(r'<img\b([^>]*?)\bsrc="data:(image/[a-z+]+);base64,([A-Za-z0-9+/=\s]+)"([^>]*)>')


def set_aside_images(html: str, page_dir: Path) -> str:
    """`html` with every embedded raster image written to `page_dir` (the folder of the page's
    index.html) and linked from there, loaded lazily; other images are left as they are."""
    def set_aside(match: re.Match) -> str:
        before, mime, data, after = match.groups()
        extension = EXTENSIONS.get(mime)
        if extension is None:  # an SVG stays inline: it is text, and small
            return match.group(0)
        try:
            content = base64.b64decode(data)
        except binascii.Error:
            return match.group(0)
        name = f"figure-{hashlib.sha256(content).hexdigest()[:16]}.{extension}"
        path = page_dir / name
        if not path.exists():
            page_dir.mkdir(parents=True, exist_ok=True)
            path.write_bytes(content)
        lazy = "" if "loading=" in before + after else ' loading="lazy"'
        return f'<img{before}src="{name}"{lazy}{after}>'
    return _EMBEDDED.sub(set_aside, html)
