"""Ring attention against naive attention written from softmax(QKᵀ/√d)V (and torch's SDPA), causal
and not, for outputs and gradients, with shards of equal and unequal length; the ring's schedule;
and the same loop on 2 to 4 torch.distributed gloo processes on CPU."""
from __future__ import annotations

import math
import multiprocessing

import pytest
import torch
import torch.nn.functional as F

from runnable.ring_attention import demo, ring_attention, ring_attention_on_processes, ring_schedule

EXACT = dict(atol=1e-12, rtol=1e-12)   # float64: the same sums in another order (block by block)
FLOAT32 = dict(atol=1e-5, rtol=1e-5)

# The processes are forked from a server that has imported torch once (as tests/terminal_demos.py
# does), rather than spawned, which would cost each of them a fresh `import torch`.
multiprocessing.get_context("forkserver").set_forkserver_preload(["torch"])


def naive(q, k, v, causal):
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
    if causal:
        L = q.shape[-2]
        scores = scores.masked_fill(torch.ones(L, L, dtype=torch.bool, device=q.device).triu(1), float("-inf"))
    return torch.softmax(scores, -1) @ v


def qkv(device, L=12, dtype=torch.float64, seed=0, requires_grad=False):
    generator = torch.Generator().manual_seed(seed)
    return [torch.randn(2, 3, L, 5, generator=generator, dtype=dtype).to(device).requires_grad_(requires_grad) for _ in range(3)]


@pytest.mark.parametrize("hosts, L", [(1, 12), (2, 12), (3, 12), (4, 12), (5, 12), (4, 7), (12, 12)])
@pytest.mark.parametrize("causal", [False, True], ids=["full", "causal"])
def test_matches_naive_attention(device, hosts, L, causal):
    q, k, v = qkv(device, L)
    output = ring_attention(q, k, v, hosts, causal)
    torch.testing.assert_close(output, naive(q, k, v, causal), **EXACT)
    torch.testing.assert_close(output, F.scaled_dot_product_attention(q, k, v, is_causal=causal), **EXACT)


def test_float32(device):
    q, k, v = qkv(device, L=64, dtype=torch.float32, seed=1)
    for causal in (False, True):
        torch.testing.assert_close(ring_attention(q, k, v, 4, causal), F.scaled_dot_product_attention(q, k, v, is_causal=causal), **FLOAT32)


@pytest.mark.parametrize("causal", [False, True], ids=["full", "causal"])
def test_gradients_match_naive_attention(device, causal):
    q, k, v = qkv(device, L=10, seed=2, requires_grad=True)
    weight = torch.randn(2, 3, 10, 5, dtype=torch.float64, device=device)
    ring_grads = torch.autograd.grad((ring_attention(q, k, v, 3, causal) * weight).sum(), (q, k, v))
    naive_grads = torch.autograd.grad((naive(q, k, v, causal) * weight).sum(), (q, k, v))
    for ours, reference in zip(ring_grads, naive_grads):
        torch.testing.assert_close(ours, reference, **EXACT)


def test_every_host_meets_every_block_once_and_passes_to_the_next():
    schedule = ring_schedule(5)
    for p in range(5):
        assert sorted(step[p] for step in schedule) == list(range(5))
    for s in range(4):
        assert schedule[s + 1] == [schedule[s][(p - 1) % 5] for p in range(5)]   # host p received host p − 1's block
    assert schedule[0] == list(range(5))


def test_a_missed_block_is_caught():
    """Negative control: the same loop with one step left out is not attention (so the test above can fail)."""
    import runnable.ring_attention as ring

    q, k, v = qkv("cpu")
    short = lambda hosts: ring_schedule(hosts)[:-1]   # noqa: E731
    original = ring.ring_schedule
    ring.ring_schedule = short
    try:
        assert not torch.allclose(ring.ring_attention(q, k, v, 3), naive(q, k, v, False))
    finally:
        ring.ring_schedule = original


@pytest.mark.parametrize("hosts", [2, 3, 4])
def test_on_gloo_processes(hosts):
    """The distributed loop, one CPU process per host, isend/irecv round the ring: equal to naive
    attention, causal and not. The timeout is a hang guard, far above the ~0.2 s a run takes."""
    q, k, v = qkv("cpu", L=12, seed=3)
    for causal in (False, True):
        output = ring_attention_on_processes(q, k, v, hosts, causal, timeout=120, start_method="forkserver")
        torch.testing.assert_close(output, naive(q, k, v, causal), **EXACT)


def test_demo_runs_and_agrees(device):
    result = demo(device)
    assert all(error < 1e-5 for error in result["errors"].values())
