"""Differentiable Neural Computer memory access (Graves, Wayne, Reynolds et al.; bib: graves2016hybrid).

An N × W memory M is read by R read heads and written by one write head, each through a soft
weighting over the N rows, as in the Neural Turing Machine; what changes is how the weightings
are made (the paper's Methods). Content lookup, with D the cosine similarity:

    C(M, k, β)[i] = exp(β D(k, M[i])) / Σ_j exp(β D(k, M[j]))

Dynamic allocation. Free gates f^i ∈ [0, 1] let each read head release what it read last step;
the usage u ∈ [0, 1]^N rises with writes and falls with releases; the free list φ is the row
indices sorted by ascending usage, and allocation prefers the least used row:

    ψ_t = Π_{i=1}^R (1 - f^i_t w^{r,i}_{t-1})                                   retention
    u_t = (u_{t-1} + w^w_{t-1} - u_{t-1} ⊙ w^w_{t-1}) ⊙ ψ_t                      usage
    a_t[φ_t[j]] = (1 - u_t[φ_t[j]]) Π_{i<j} u_t[φ_t[i]]                          allocation
    w^w_t = g^w_t (g^a_t a_t + (1 - g^a_t) C(M_{t-1}, k^w_t, β^w_t))              write weighting
    M_t = M_{t-1} ⊙ (1 - w^w_t e_tᵀ) + w^w_t v_tᵀ                                 erase, then add

Temporal links record the order of writes: p[j] is how much row j was the last written,
L[i, j] how much row i was written right after row j:

    p_0 = 0,  p_t = (1 - Σ_i w^w_t[i]) p_{t-1} + w^w_t                           precedence
    L_0 = 0,  L_t[i, j] = (1 - w^w_t[i] - w^w_t[j]) L_{t-1}[i, j] + w^w_t[i] p_{t-1}[j],  L_t[i, i] = 0

Reading mixes three modes with a distribution π^i_t over (backward, content, forward):

    f^i_t = L_t w^{r,i}_{t-1},   b^i_t = L_tᵀ w^{r,i}_{t-1}
    w^{r,i}_t = π^i_t[1] b^i_t + π^i_t[2] C(M_t, k^{r,i}_t, β^{r,i}_t) + π^i_t[3] f^i_t
    r^i_t = M_tᵀ w^{r,i}_t

A step writes first and then reads. The controller (an LSTM) and the map from its output to
the gates, keys and modes are not part of this module; the functions take them already in
range. The sort that makes φ has no gradient with respect to the order; gradients flow
through the usage values only (the paper says it ignores the sort's discontinuities). The
paper's sparse link matrix, and the small ε that reference code adds to usage, are left out.

The functions take the gates, keys and modes already in range; a controller network and its output
layer would produce them.

Differences from the paper:
- The controller (an LSTM) and the map from its output to the gates, keys and modes are left out:
  the functions take them already in range.
- Gradients pass through the usage values only, not through the sort that orders the free list (the
  paper also ignores its discontinuities).
- The paper's sparse link matrix and the small ε that reference code adds to usage are left out.

Shapes: B batch, N rows, W row size, R read heads.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F


def content_weighting(memory, keys, strengths):
    """C(M, k, β): memory (B, N, W), keys (B, H, W), strengths (B, H) → (B, H, N)."""
    similarity = F.cosine_similarity(keys[:, :, None, :], memory[:, None, :, :], dim=-1, eps=1e-8)
    return torch.softmax(strengths[..., None] * similarity, dim=-1)


def retention(free_gates, read_weights_prev):
    """ψ_t = Π_i (1 - f^i w^{r,i}_{t-1}): free_gates (B, R), read weights (B, R, N) → (B, N)."""
    return torch.prod(1 - free_gates[..., None] * read_weights_prev, dim=1)


def usage(usage_prev, write_weights_prev, psi):
    """u_t = (u_{t-1} + w^w_{t-1} - u_{t-1} ⊙ w^w_{t-1}) ⊙ ψ_t: (B, N)."""
    return (usage_prev + write_weights_prev - usage_prev * write_weights_prev) * psi


def allocation(usage):
    """a[φ[j]] = (1 - u[φ[j]]) Π_{i<j} u[φ[i]], φ the rows by ascending usage (ties: lower index first)."""
    sorted_usage, free_list = torch.sort(usage, dim=-1, stable=True)
    ones = torch.ones_like(sorted_usage[..., :1])
    used_before = torch.cumprod(torch.cat([ones, sorted_usage[..., :-1]], dim=-1), dim=-1)  # Π_{i<j}
    return torch.zeros_like(usage).scatter(-1, free_list, (1 - sorted_usage) * used_before)


def write_weighting(allocation, content, allocation_gate, write_gate):
    """w^w = g^w (g^a a + (1 - g^a) c^w): (B, N) each, gates (B,)."""
    g_a, g_w = allocation_gate[:, None], write_gate[:, None]
    return g_w * (g_a * allocation + (1 - g_a) * content)


def write_memory(memory, write_weights, erase, value):
    """M ⊙ (1 - w eᵀ) + w vᵀ: erase (B, W) ∈ [0, 1], value (B, W)."""
    w = write_weights[:, :, None]
    return memory * (1 - w * erase[:, None, :]) + w * value[:, None, :]


def precedence(precedence_prev, write_weights):
    """p_t = (1 - Σ_i w^w[i]) p_{t-1} + w^w: (B, N)."""
    return (1 - write_weights.sum(-1, keepdim=True)) * precedence_prev + write_weights


def update_link(link_prev, precedence_prev, write_weights):
    """L_t[i, j] = (1 - w[i] - w[j]) L_{t-1}[i, j] + w[i] p_{t-1}[j], zero diagonal: (B, N, N)."""
    w_i, w_j = write_weights[:, :, None], write_weights[:, None, :]
    link = (1 - w_i - w_j) * link_prev + w_i * precedence_prev[:, None, :]
    return link * (1 - torch.eye(link.shape[-1], device=link.device, dtype=link.dtype))


def read_weighting(link, read_weights_prev, content, modes):
    """π[1] Lᵀw + π[2] c + π[3] L w: link (B, N, N), previous (B, R, N), content (B, R, N),
    modes (B, R, 3) as (backward, content, forward). Returns (B, R, N)."""
    forward = torch.einsum("bij,brj->bri", link, read_weights_prev)     # f = L w^r
    backward = torch.einsum("bji,brj->bri", link, read_weights_prev)    # b = Lᵀ w^r
    return modes[..., 0:1] * backward + modes[..., 1:2] * content + modes[..., 2:3] * forward


class DNCMemory:
    """The memory state (M, u, p, L, w^w, w^r), advanced by `write` and then `read` each step.
    The state starts in torch's default dtype (or `dtype`) and follows the dtype and device of the
    keys it is given: float64 keys give a float64 memory."""

    STATE = ("memory", "link", "usage", "precedence", "write_weights", "read_weights")

    def __init__(self, batch: int, slots: int, width: int, reads: int, device=None, dtype=None):
        zeros = lambda *shape: torch.zeros(*shape, device=device, dtype=dtype)  # dtype None: torch's default
        self.memory, self.link = zeros(batch, slots, width), zeros(batch, slots, slots)
        self.usage, self.precedence, self.write_weights = zeros(batch, slots), zeros(batch, slots), zeros(batch, slots)
        self.read_weights = zeros(batch, reads, slots)

    def _follow(self, tensor):
        """Move the state to the dtype and device of the input (a no-op when they already agree)."""
        if self.memory.dtype != tensor.dtype or self.memory.device != tensor.device:
            for name in self.STATE:
                setattr(self, name, getattr(self, name).to(device=tensor.device, dtype=tensor.dtype))

    def write(self, key, strength, erase, value, allocation_gate, write_gate, free_gates=None):
        """key, erase, value (B, W); strength, gates (B,); free_gates (B, R) (default 0). Returns w^w_t."""
        self._follow(key)
        if free_gates is None:
            free_gates = torch.zeros(self.read_weights.shape[:2], device=key.device, dtype=key.dtype)
        self.usage = usage(self.usage, self.write_weights, retention(free_gates, self.read_weights))
        content = content_weighting(self.memory, key[:, None], strength[:, None])[:, 0]
        w = write_weighting(allocation(self.usage), content, allocation_gate, write_gate)
        self.memory = write_memory(self.memory, w, erase, value)
        self.link = update_link(self.link, self.precedence, w)   # uses p_{t-1}, so before p is updated
        self.precedence = precedence(self.precedence, w)
        self.write_weights = w
        return w

    def read(self, keys, strengths, modes):
        """keys (B, R, W), strengths (B, R), modes (B, R, 3). Returns r_t (B, R, W) and w^r_t."""
        self._follow(keys)
        content = content_weighting(self.memory, keys, strengths)
        self.read_weights = read_weighting(self.link, self.read_weights, content, modes)
        return torch.einsum("brn,bnw->brw", self.read_weights, self.memory), self.read_weights


def naive_allocation(usage):
    """Walk the free list in Python: each row gets what is still free times its own freeness."""
    out = []
    for u in usage.tolist():
        a, still_used = [0.0] * len(u), 1.0
        for j in sorted(range(len(u)), key=lambda i: u[i]):  # Python's sort is stable: ties keep index order
            a[j], still_used = (1 - u[j]) * still_used, still_used * u[j]
        out.append(a)
    return torch.tensor(out, dtype=torch.float64)


def naive_link(link_prev, precedence_prev, write_weights):
    """L_t[i, j] one entry at a time."""
    out = []
    for L, p, w in zip(link_prev.tolist(), precedence_prev.tolist(), write_weights.tolist()):
        N = len(w)
        out.append([[0.0 if i == j else (1 - w[i] - w[j]) * L[i][j] + w[i] * p[j] for j in range(N)]
                    for i in range(N)])
    return torch.tensor(out, dtype=torch.float64)


def demo(device: torch.device | str = "cpu", seed: int = 0) -> dict:
    """Rows 1, 4 and 5 of ten are already in use; write five items by allocation, then find the
    first by content and replay forwards through L, and find the last and replay backwards."""
    torch.manual_seed(seed)
    N, W, T = 10, 8, 5
    one = lambda value: torch.full((1,), value, device=device)
    dnc = DNCMemory(1, N, W, reads=1, device=device)
    dnc.memory[0, [1, 4, 5]] = torch.randn(3, W, device=device)     # occupied by earlier contents
    dnc.usage[0, [1, 4, 5]] = 1.0
    items = torch.randn(T, W, device=device)
    written, alloc_error, link_error = [], 0.0, 0.0
    for t in range(T):
        u = usage(dnc.usage, dnc.write_weights, torch.ones_like(dnc.usage))     # the u_t that write() will use
        alloc_error = max(alloc_error, (allocation(u).double().cpu() - naive_allocation(u.cpu())).abs().max().item())
        link_prev, p_prev = dnc.link.clone(), dnc.precedence.clone()
        w = dnc.write(items[t:t + 1], one(1.0), torch.ones(1, W, device=device), items[t:t + 1], one(1.0), one(1.0))
        expected = naive_link(link_prev.cpu(), p_prev.cpu(), w.cpu())
        link_error = max(link_error, (dnc.link.double().cpu() - expected).abs().max().item())
        written.append(int(w.argmax()))
    print(f"rows in use before: [1, 4, 5]; allocation wrote items 0..{T - 1} to rows {written}")

    def replay(start, mode):
        """Content lookup with a noisy copy of item `start`, then T - 1 steps along the links."""
        modes = {"content": [0.0, 1.0, 0.0], "forward": [0.0, 0.0, 1.0], "backward": [1.0, 0.0, 0.0]}
        key = items[start] + 0.3 * torch.randn(W, device=device)
        rows, decoded, weights, error = [], [], [], 0.0
        for step in range(T):
            kind = "content" if step == 0 else mode
            r, w_r = dnc.read(key[None, None], torch.full((1, 1), 30.0, device=device),
                              torch.tensor([[modes[kind]]], device=device))
            decoded.append(int((items - r[0, 0]).norm(dim=-1).argmin()))   # which stored item was read
            error = max(error, (r[0, 0] - items[decoded[-1]]).abs().max().item())
            rows.append(int(w_r.argmax()))
            weights.append(w_r[0, 0].cpu())
        return rows, decoded, torch.stack(weights), error

    forward_rows, forward_items, forward_weights, e1 = replay(0, "forward")
    backward_rows, backward_items, backward_weights, e2 = replay(T - 1, "backward")
    print(f"forwards from item 0:  rows {forward_rows}, items {forward_items}")
    print(f"backwards from item {T - 1}: rows {backward_rows}, items {backward_items}")
    final = usage(dnc.usage, dnc.write_weights, torch.ones_like(dnc.usage))[0]   # counting the last write too
    print(f"max |read vector - stored item| = {max(e1, e2):.2e}; usage now {[round(u, 2) for u in final.tolist()]}")
    print(f"max |allocation - loop| = {alloc_error:.2e}, max |link - loop| = {link_error:.2e} (tolerance 1e-6)")
    return {"written_rows": written, "forward_rows": forward_rows, "forward_items": forward_items,
            "backward_rows": backward_rows, "backward_items": backward_items, "read_error": max(e1, e2),
            "forward_weights": forward_weights, "backward_weights": backward_weights, "link": dnc.link[0].cpu(),
            "allocation_error": alloc_error, "link_error": link_error}


if __name__ == "__main__":
    from runnable._cli import device_from_args

    demo(device_from_args(__doc__.splitlines()[0]))
