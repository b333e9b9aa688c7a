"""Shared set-up for the mechanism notebooks: plots that read on light and dark pages, and
showing a module's own source (the page shows the code the tests run, never a copy)."""
from __future__ import annotations

import inspect

import matplotlib.pyplot as plt
from IPython.display import Markdown, display

# Mid-grey ink on a transparent background reads on both Material schemes.
INK = "#888888"
# (No matplotlib.use("Agg"): the kernel's inline backend is what puts figures on the page.)
plt.rcParams.update({
    "figure.facecolor": "none", "axes.facecolor": "none", "savefig.transparent": True,
    "text.color": INK, "axes.labelcolor": INK, "axes.edgecolor": INK,
    "xtick.color": INK, "ytick.color": INK, "figure.dpi": 110, "font.size": 9,
})


def show_source(obj) -> None:
    """Display the source of a module, class or function as a Python code block."""
    display(Markdown(f"```python\n{inspect.getsource(obj)}\n```"))


def heatmap(matrix, xlabels=None, ylabels=None, xlabel="", ylabel="", title=""):
    figure, axis = plt.subplots(figsize=(0.5 * matrix.shape[1] + 2, 0.45 * matrix.shape[0] + 1.2))
    image = axis.imshow(matrix, cmap="viridis", vmin=0, vmax=max(float(matrix.max()), 1e-9))
    axis.set_xticks(range(matrix.shape[1]), xlabels if xlabels is not None else range(matrix.shape[1]))
    axis.set_yticks(range(matrix.shape[0]), ylabels if ylabels is not None else range(matrix.shape[0]))
    axis.set_xlabel(xlabel)
    axis.set_ylabel(ylabel)
    axis.set_title(title)
    figure.colorbar(image, ax=axis, fraction=0.046)
    plt.show()
