"""The training loop shared by the demos that fit a small model (relation networks, the Set
Transformer, the attentional neural network): Adam from torch.optim, on one CPU thread."""
from __future__ import annotations

from typing import Callable

import torch
from torch import nn


def fit(model: nn.Module, loss: Callable[[nn.Module], torch.Tensor], steps: int,
        lr: Callable[[int], float]) -> float:
    """Adam (β = 0.9, 0.999) on loss(model) for `steps` steps, lr(i) the rate at step i; returns
    the last loss. Runs on one CPU thread: tensors this small gain nothing from a second one, and
    on a busy two-core machine the threads' hand-offs cost more than the arithmetic."""
    optimizer = torch.optim.Adam(model.parameters(), lr=1.0)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lr)  # rate = 1.0 × lr(step)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        for _ in range(steps):
            optimizer.zero_grad(set_to_none=True)
            value = loss(model)
            value.backward()
            optimizer.step()
            schedule.step()
    finally:
        torch.set_num_threads(threads)
    return value.item()
