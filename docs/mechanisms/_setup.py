"""Shared set-up for the mechanism notebooks: figures that read on light and dark pages, each with
a text alternative. (The module's own source is put on the page by the build, scripts/literate.py.)"""
from __future__ import annotations

import base64
import html
import io

import matplotlib.pyplot as plt
import numpy as np
from IPython.display import HTML, display

# Figures are drawn once with this ink on a transparent background, then shown twice: the ink
# recoloured dark for the light scheme and light for the dark one (the page shows the one that
# matches), so no figure depends on a box painted behind it.
INK = "#888888"
_INK_RGB = np.array([0x88, 0x88, 0x88]) / 255
_SCHEME_INK = {"light": np.array([0x33, 0x33, 0x33]) / 255, "dark": np.array([0xdd, 0xdd, 0xdd]) / 255}
_DPI = 150       # rendered for sharp screens ...
_SHOWN_DPI = 110  # ... and shown at the size this resolution gives
# (No matplotlib.use("Agg"): the kernel's inline backend is what puts figures on the page.)
plt.rcParams.update({
    "figure.facecolor": "none", "axes.facecolor": "none", "savefig.transparent": True,
    "text.color": INK, "axes.labelcolor": INK, "axes.edgecolor": INK,
    "xtick.color": INK, "ytick.color": INK, "figure.dpi": _SHOWN_DPI, "font.size": 9,
    "legend.facecolor": "none", "legend.edgecolor": INK,
})


def _png(pixels: np.ndarray) -> str:
    buffer = io.BytesIO()
    plt.imsave(buffer, pixels, format="png")
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def show_figure(alt: str, figure=None) -> None:
    """Show `figure` (the current one by default) with `alt` as its text alternative: what the
    figure shows, for a reader who cannot see it. Closes the figure."""
    if not alt or not alt.strip():
        raise ValueError("show_figure needs alt text: say what the figure shows")
    figure = figure or plt.gcf()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=_DPI, bbox_inches="tight", pad_inches=0.08, transparent=True)
    plt.close(figure)
    buffer.seek(0)
    pixels = plt.imread(buffer)  # (height, width, 4) floats in [0, 1]
    height, width = pixels.shape[:2]
    ink = np.all(np.abs(pixels[..., :3] - _INK_RGB) < 0.02, axis=-1)
    images = []
    for scheme, colour in _SCHEME_INK.items():
        recoloured = pixels.copy()
        recoloured[ink, :3] = colour
        images.append(f'<img class="atlas-figure__{scheme}" alt="{html.escape(alt.strip())}" '
                      f'width="{round(width * _SHOWN_DPI / _DPI)}" height="{round(height * _SHOWN_DPI / _DPI)}" '
                      f'src="data:image/png;base64,{_png(recoloured)}">')
    display(HTML(f'<figure class="atlas-figure">{"".join(images)}</figure>'))


def heatmap(matrix, xlabels=None, ylabels=None, xlabel="", ylabel="", title="", *, alt: str):
    figure, axis = plt.subplots(figsize=(0.5 * matrix.shape[1] + 2, 0.45 * matrix.shape[0] + 1.2))
    image = axis.imshow(matrix, cmap="viridis", vmin=0, vmax=max(float(matrix.max()), 1e-9))
    axis.set_xticks(range(matrix.shape[1]), xlabels if xlabels is not None else range(matrix.shape[1]))
    axis.set_yticks(range(matrix.shape[0]), ylabels if ylabels is not None else range(matrix.shape[0]))
    axis.set_xlabel(xlabel)
    axis.set_ylabel(ylabel)
    axis.set_title(title)
    figure.colorbar(image, ax=axis, fraction=0.046)
    show_figure(alt, figure)
