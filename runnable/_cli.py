"""The one place that chooses a device for the terminal demos (`--device cpu|cuda|auto`)."""
from __future__ import annotations

import argparse

import torch


def device_from_args(description: str, argv: list[str] | None = None) -> torch.device:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--device", default="auto", help="cpu, cuda, or auto (cuda when available)")
    name = parser.parse_args(argv).device
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name.startswith("cuda") and not torch.cuda.is_available():
        parser.error("--device cuda asked for, but torch finds no CUDA device")
    return torch.device(name)
