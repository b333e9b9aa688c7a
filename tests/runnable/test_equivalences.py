"""Every equivalence on the Equivalences page, computed both ways on CPU and CUDA, in float64 and
float32. One side of each is independent of the other: a different algorithm (recurrent against
parallel, tiled against naive), PyTorch's own implementation, or a closed-form rewriting."""
from __future__ import annotations

import pytest
import torch

from runnable.equivalences import EQUIVALENCES, TOLERANCE, demo, max_gap


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=str)
@pytest.mark.parametrize("name", list(EQUIVALENCES))
def test_both_sides_agree(device, name, dtype):
    for seed in range(3):
        assert max_gap(name, device, dtype, seed) <= TOLERANCE[dtype], f"seed {seed}"


@pytest.mark.parametrize("name", list(EQUIVALENCES))
def test_the_sides_are_not_trivially_equal(name):
    """The check can fail: perturbing one side's inputs (another seed) breaks the agreement."""
    left, _ = EQUIVALENCES[name](torch.device("cpu"), torch.float64, torch.Generator().manual_seed(0))
    _, right = EQUIVALENCES[name](torch.device("cpu"), torch.float64, torch.Generator().manual_seed(1))
    assert (left - right).abs().max() > 1e-3


def test_demo_runs_and_agrees(device):
    gaps = demo(device)["gaps"]
    assert set(gaps) == set(EQUIVALENCES)
    assert all(g[torch.float64] <= TOLERANCE[torch.float64] for g in gaps.values())
