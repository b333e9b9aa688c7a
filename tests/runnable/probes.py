"""Test-side instruments shared by the mechanism tests (independent of the modules they check)."""
from __future__ import annotations

import torch
from torch.utils._python_dispatch import TorchDispatchMode


class LargestCreated(TorchDispatchMode):
    """The largest tensor (in elements, and in bytes) any aten operation returns while the mode is
    active: a device-independent witness of whether an L×L matrix was ever materialised."""

    def __enter__(self):
        self.largest = self.largest_bytes = 0
        return super().__enter__()

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        for t in out if isinstance(out, (tuple, list)) else [out]:
            if isinstance(t, torch.Tensor):
                self.largest = max(self.largest, t.numel())
                self.largest_bytes = max(self.largest_bytes, t.numel() * t.element_size())
        return out
