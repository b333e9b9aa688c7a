"""Minimal PyTorch implementations of attention mechanisms, one per module.

Each module imports nothing from the project in its core, has no side effects on import,
names the work it implements (its BibTeX key) and the equation it computes, and runs its
demo with `python -m runnable.<module> --device cpu|cuda`.
"""
