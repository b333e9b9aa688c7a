"""Ring attention: exact attention over a sequence split across P hosts that pass key/value blocks
round a ring (Liu, Zaharia & Abbeel 2023, building on blockwise parallel attention, Liu & Abbeel 2023).

One device cannot hold attention over a very long sequence, even computed in tiles, because the
activations of every position must live somewhere. Ring attention splits the sequence into P
contiguous shards and gives host p the queries, keys and values of shard p. Host p must still see
every key, so the key/value blocks travel: at each of P steps a host attends with its queries to
the block it holds, then sends that block to the next host in the ring and receives one from the
previous host. After P steps every query has met every key block exactly once. At step s, host p
holds the block that started on host (p − s) mod P.

Each host folds the blocks in as they arrive with the online softmax (running maximum m, normaliser
ℓ, accumulator a; flash_attention.online_update), so what it has seen so far is always summarised
by (m, ℓ, a), and the result after the last block is the softmax over all keys:

    m' = max(m, max_j s_j),  ℓ' = e^{m − m'} ℓ + Σ_j e^{s_j − m'},  a' = e^{m − m'} a + Σ_j e^{s_j − m'} v_j,
    o = a / ℓ.

Sending the next block while computing on the current one hides the communication when a block's
attention takes longer than its transfer. Memory per host is its shard plus two blocks in flight,
whatever P: the context grows with the number of hosts. With a causal mask, blocks from later
shards are all masked for host p (j > p): it still passes them on but skips their arithmetic, and
the block from its own shard (j = p) has the triangular mask.

ring_attention simulates the P hosts on one device, one step at a time. ring_attention_on_processes
runs the same loop on P torch.distributed processes (gloo, CPU), each holding one shard and sending
blocks with isend/irecv posted before the step's arithmetic.

Differences from the paper:
- The paper runs on TPUs and GPUs with JAX, and also computes the feedforward network blockwise
  (Blockwise Parallel Transformer); only the attention is here.
- The backward pass is autograd through the simulated ring (the gradients are exact), not the
  paper's ring backward, which passes key/value blocks and their gradients round the ring again.

Shapes: B batch, H heads, L positions (split into P shards), d features. q, k, v (B, H, L, d) →
output (B, H, L, d); shard p holds rows p·L/P … (p+1)·L/P − 1 (torch.tensor_split: sizes differ by
at most one when P does not divide L).
"""
from __future__ import annotations

import math
import os
import socket
import sys
import time
from datetime import timedelta

import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from torch import Tensor

from runnable.flash_attention import online_update


def attend_block(q: Tensor, k: Tensor, v: Tensor, state, q_start: int, k_start: int, causal: bool):
    """Fold one key/value block into a host's (m, ℓ, a); q_start, k_start: the global positions of
    the first query and key, for the causal mask."""
    m, ell, acc = state
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])           # (B, H, L_p, L_j)
    if causal:
        i = torch.arange(q_start, q_start + q.shape[-2], device=q.device)[:, None]
        j = torch.arange(k_start, k_start + k.shape[-2], device=q.device)[None, :]
        scores = scores.masked_fill(j > i, float("-inf"))
    return online_update(m, ell, acc, scores, v)


def empty_state(q: Tensor, d_v: int):
    """(m, ℓ, a) before any key: m = −∞, ℓ = 0, a = 0."""
    m = torch.full(q.shape[:-1], float("-inf"), dtype=q.dtype, device=q.device)
    return m, torch.zeros_like(m), torch.zeros(*q.shape[:-1], d_v, dtype=q.dtype, device=q.device)


def ring_schedule(hosts: int) -> list[list[int]]:
    """schedule[s][p]: the shard whose key/value block host p holds at step s, (p − s) mod P."""
    return [[(p - s) % hosts for p in range(hosts)] for s in range(hosts)]


def ring_attention(q: Tensor, k: Tensor, v: Tensor, hosts: int, causal: bool = False) -> Tensor:
    """P simulated hosts, each with one shard of queries; the key/value blocks go round the ring."""
    q_shards, k_shards, v_shards = (t.tensor_split(hosts, dim=-2) for t in (q, k, v))
    starts = [0]
    for shard in k_shards[:-1]:
        starts.append(starts[-1] + shard.shape[-2])                    # each shard's first position
    states = [empty_state(q_p, v.shape[-1]) for q_p in q_shards]
    held = list(zip(k_shards, v_shards))                               # step 0: each host its own block
    for step, sources in enumerate(ring_schedule(hosts)):
        for p, j in enumerate(sources):
            if causal and j > p:
                continue                                               # a block wholly in host p's future
            k_j, v_j = held[p]
            states[p] = attend_block(q_shards[p], k_j, v_j, states[p], starts[p], starts[j], causal)
        held = [held[(p - 1) % hosts] for p in range(hosts)]           # send to p + 1, receive from p − 1
    return torch.cat([acc / ell[..., None] for _, ell, acc in states], dim=-2)


def ring_attention_distributed(q: Tensor, k: Tensor, v: Tensor, causal: bool = False) -> Tensor:
    """This process's shard of the output, inside an initialised process group of P ranks; every
    shard has the same length. The next block's send and receive are posted before this step's
    arithmetic, so on real hardware the transfer overlaps the computation."""
    rank, hosts = dist.get_rank(), dist.get_world_size()
    shard = q.shape[-2]
    state = empty_state(q, v.shape[-1])
    block = torch.stack([k, v]).contiguous()                           # one message per step: K and V
    for step in range(hosts):
        j = (rank - step) % hosts
        if step < hosts - 1:
            incoming = torch.empty_like(block)
            requests = dist.batch_isend_irecv([dist.P2POp(dist.isend, block, (rank + 1) % hosts),
                                               dist.P2POp(dist.irecv, incoming, (rank - 1) % hosts)])
        if not (causal and j > rank):
            state = attend_block(q, block[0], block[1], state, rank * shard, j * shard, causal)
        if step < hosts - 1:
            for request in requests:
                request.wait()
            block = incoming
    _, ell, acc = state
    return acc / ell[..., None]


def _process(rank: int, hosts: int, port: int, q: Tensor, k: Tensor, v: Tensor, causal: bool, out: Tensor):
    """One host: join the group, attend with shard `rank`, write it into the shared output."""
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=hosts,
                            timeout=timedelta(seconds=60))
    try:
        shard = q.shape[-2] // hosts
        rows = slice(rank * shard, (rank + 1) * shard)
        out[..., rows, :] = ring_attention_distributed(q[..., rows, :], k[..., rows, :], v[..., rows, :], causal)
    finally:
        dist.destroy_process_group()


def ring_attention_on_processes(q: Tensor, k: Tensor, v: Tensor, hosts: int, causal: bool = False,
                                timeout: float = 120.0, start_method: str = "spawn") -> Tensor:
    """Run ring_attention_distributed on `hosts` CPU processes (gloo on a free local port) and
    collect the output. Each process reads its own shard only. Raises if they do not finish in time.
    start_method="forkserver" saves each process its own `import torch` where a fork server that
    has imported it is already running (the tests use one)."""
    assert q.shape[-2] % hosts == 0, "the distributed version takes shards of equal length"
    with socket.socket() as probe:                                     # a port nobody is listening on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    out = torch.zeros(*q.shape[:-1], v.shape[-1], dtype=q.dtype).share_memory_()
    inputs = [t.detach().cpu().share_memory_() for t in (q, k, v)]
    # every host is on this machine: talk over the loopback interface (named lo0 on macOS)
    os.environ.setdefault("GLOO_SOCKET_IFNAME", "lo0" if sys.platform == "darwin" else "lo")
    context = mp.start_processes(_process, args=(hosts, port, *inputs, causal, out), nprocs=hosts,
                                 join=False, start_method=start_method)
    deadline = time.monotonic() + timeout
    try:
        # join returns False each time one process exits while others still run, and raises if one failed
        while not context.join(max(deadline - time.monotonic(), 0)):
            if time.monotonic() >= deadline:
                raise TimeoutError(f"the {hosts} processes did not finish within {timeout} s")
    finally:
        for process in context.processes:
            if process.is_alive():
                process.kill()
    return out.to(q.device)


def demo(device: torch.device | str = "cpu", seed: int = 0) -> dict:
    """The ring's schedule for 4 hosts; the simulated ring against naive attention, causal and not."""
    hosts = 4
    print(f"step s: shard of the key/value block each of {hosts} hosts holds")
    for step, sources in enumerate(ring_schedule(hosts)):
        print(f"  s = {step}: " + "  ".join(f"host {p} ← K,V{j}" for p, j in enumerate(sources)))
    torch.manual_seed(seed)
    q, k, v = torch.randn(3, 2, 4, 64, 16, device=device).unbind(0)
    errors = {}
    for causal in (False, True):
        ours = ring_attention(q, k, v, hosts, causal)
        naive = torch.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=causal)
        errors["causal" if causal else "full"] = (ours - naive).abs().max().item()
    print(f"64 positions on {hosts} simulated hosts, float32: max |ring − naive| = "
          f"{errors['full']:.1e} (full), {errors['causal']:.1e} (causal); tolerance 1e-5")
    return {"errors": errors}


if __name__ == "__main__":
    from runnable._cli import device_from_args

    demo(device_from_args(__doc__.splitlines()[0]))
