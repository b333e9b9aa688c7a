"""Where mechanism pages live: docs/mechanisms/<slug>.py (a jupytext notebook) or <slug>.md,
shown from runnable/<slug with underscores>.py. Files starting with "_" are helpers, not pages."""
from __future__ import annotations

from pathlib import Path


def notebook_sources(docs_dir: Path) -> list[Path]:
    """The jupytext notebooks that the build executes and renders as mechanism pages."""
    return sorted(p for p in (docs_dir / "mechanisms").glob("*.py") if not p.name.startswith("_"))


def page_exists(docs_dir: Path, slug: str) -> bool:
    return any((docs_dir / "mechanisms" / f"{slug}{ext}").exists() for ext in (".py", ".md"))


def module_name(slug: str) -> str:
    """runnable/<module_name>.py for the page docs/mechanisms/<slug>.py."""
    return slug.replace("-", "_")


def module_exists(docs_dir: Path, slug: str) -> bool:
    """Whether the page has a module of its own (comparison and benchmark pages do not)."""
    return (docs_dir.parent / "runnable" / f"{module_name(slug)}.py").exists()


# Pages that show a script rather than a runnable module: a reproduction page shows the code that
# trained the models it plots.
REPRODUCTIONS = {"bahdanau-figure-2": "scripts/reproduce_bahdanau.py"}


def page_module(docs_dir: Path, slug: str) -> Path | None:
    """The module whose source and "Differences from the paper" a page shows, if any: its own
    runnable/<module_name>.py, or the script a reproduction page draws on."""
    root = docs_dir.parent
    if module_exists(docs_dir, slug):
        return root / "runnable" / f"{module_name(slug)}.py"
    return root / REPRODUCTIONS[slug] if slug in REPRODUCTIONS else None
