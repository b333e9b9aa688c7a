"""Pointer networks: attention as the output distribution (Vinyals, Fortunato & Jaitly; bib: vinyals2015pointer).

An encoder RNN reads the input points P = (P_1..P_n) into states (e_1..e_n); a decoder RNN has
states (d_1..d_m). Where attention would blend the e_j into a context, a Ptr-Net stops at the
weights and uses them as the answer (section 2.3):

    u^i_j = v^T tanh(W_1 e_j + W_2 d_i),   j ∈ (1, ..., n)
    p(C_i | C_1, ..., C_{i-1}, P) = softmax(u^i)

so the output vocabulary is the set of input positions and grows with n. The decoder's next
input is the point it just chose (a start vector at i = 1). For permutation-style outputs,
greedy decoding here masks positions already chosen (score -∞): a decoding choice of this
module, not part of the equations above. Teacher-forced steps are not masked.

Differences from the paper:
- Greedy decoding masks positions already chosen (score −∞), a decoding choice of this module, not
  part of the paper's equations; the paper uses beam search for its travelling-salesman results.
- LSTM sizes are small and nothing is trained on the paper's convex hull, Delaunay or TSP data.

Shapes: B batch, n input length, m output length, I point size, H RNN size, A attention size.
"""
from __future__ import annotations

import torch
from torch import nn


class PointerAttention(nn.Module):
    """The pointer: additive attention whose softmax over the input positions is itself the output
    distribution, with no weighted sum after it."""

    def __init__(self, hidden: int, align: int):
        super().__init__()
        self.W1 = nn.Linear(hidden, align, bias=False)  # W_1, on encoder states
        self.W2 = nn.Linear(hidden, align, bias=False)  # W_2, on the decoder state
        self.v = nn.Linear(align, 1, bias=False)        # v

    def forward(self, encoded, state, mask=None):
        """encoded (B, n, H), state (B, H), mask (B, n) True where a position may be chosen.
        Returns p(C_i | ...) (B, n): a distribution over input positions."""
        # u^i_j = v^T tanh(W_1 e_j + W_2 d_i)                            (B, n)
        scores = self.v(torch.tanh(self.W1(encoded) + self.W2(state)[:, None, :])).squeeze(-1)
        if mask is not None:
            scores = scores.masked_fill(~mask, float("-inf"))
        return torch.softmax(scores, dim=-1)                           # softmax(u^i)


class PointerNetwork(nn.Module):
    """LSTM encoder, LSTM decoder fed the previously chosen point, pointer attention on top."""

    def __init__(self, point_size: int = 2, hidden: int = 32, align: int = 32):
        super().__init__()
        self.encoder = nn.LSTM(point_size, hidden, batch_first=True)
        self.decoder = nn.LSTMCell(point_size, hidden)
        self.start = nn.Parameter(torch.zeros(point_size))  # the decoder's first input
        self.pointer = PointerAttention(hidden, align)

    def forward(self, points, targets=None):
        """points (B, n, I); targets (B, m) input indices to teacher-force, unmasked. Without
        targets, decode greedily for n steps, masking chosen positions (a permutation).
        Returns the distributions (B, m, n) and the chosen indices (B, m)."""
        B, n, _ = points.shape
        encoded, (h, c) = self.encoder(points)                         # e_1..e_n
        state, x = (h[0], c[0]), self.start.expand(B, -1)
        available = torch.ones(B, n, dtype=torch.bool, device=points.device)
        rows = torch.arange(B, device=points.device)
        probabilities, chosen = [], []
        for i in range(n if targets is None else targets.shape[1]):
            state = self.decoder(x, state)                             # d_i
            p = self.pointer(encoded, state[0], available if targets is None else None)
            index = p.argmax(-1) if targets is None else targets[:, i]
            available = available & (torch.arange(n, device=points.device) != index[:, None])
            x = points[rows, index]                                    # the chosen point is the next input
            probabilities.append(p)
            chosen.append(index)
        return torch.stack(probabilities, 1), torch.stack(chosen, 1)


def naive_pointer(attention: PointerAttention, encoded, state, mask=None):
    """u^i_j and its softmax one (b, j) at a time: the slow reference the tests compare against."""
    B, n, _ = encoded.shape
    out = []
    for b in range(B):
        allowed = [j for j in range(n) if mask is None or mask[b, j]]
        u = {j: attention.v.weight[0] @ torch.tanh(attention.W1.weight @ encoded[b, j]
                                                    + attention.W2.weight @ state[b]) for j in allowed}
        top = max(u.values())
        total = sum(torch.exp(x - top) for x in u.values())
        out.append(torch.stack([torch.exp(u[j] - top) / total if j in u else torch.zeros((), device=encoded.device)
                                for j in range(n)]))
    return torch.stack(out)


def demo(device: torch.device | str = "cpu", seed: int = 0) -> dict:
    """(1) Hand-set weights, not training: with e_j = x_j, W_2 = 0 and W_1, v > 0, u^i_j rises
    with x_j, so greedy pointing with masking lists the inputs from largest to smallest. (2) An
    untrained PointerNetwork: its greedy output is a permutation, and every distribution sums to
    one. Returns the hand-set distributions for plotting."""
    torch.manual_seed(seed)
    x = torch.rand(1, 6, 1, device=device)                             # six numbers, e_j = x_j
    sorter = PointerAttention(1, 1).to(device)
    with torch.no_grad():
        sorter.W1.weight.fill_(3.0)
        sorter.W2.weight.zero_()
        sorter.v.weight.fill_(10.0)
        available, state = torch.ones(1, 6, dtype=torch.bool, device=device), torch.zeros(1, 1, device=device)
        rows, order, error = [], [], 0.0
        for _ in range(6):
            p = sorter(x, state, available)
            error = max(error, (p - naive_pointer(sorter, x, state, available)).abs().max().item())
            rows.append(p[0])
            order.append(p.argmax().item())
            available[0, order[-1]] = False
        network = PointerNetwork(point_size=2, hidden=16, align=16).to(device)
        points = torch.rand(3, 7, 2, device=device)
        probabilities, chosen = network(points)
        is_permutation = bool((chosen.sort(-1).values == torch.arange(7, device=device)).all())
    print("inputs x_j:", [round(v, 3) for v in x[0, :, 0].tolist()])
    print("pointed   :", order, " (descending order would be", x[0, :, 0].argsort(descending=True).tolist(), ")")
    print("untrained network, greedy with masking, 3 examples of 7 points:", chosen.tolist())
    print(f"each is a permutation: {is_permutation}; every row sums to one:",
          bool(torch.allclose(probabilities.sum(-1), torch.ones(3, 7, device=device))))
    print(f"max |batched - loop| = {error:.2e} (tolerance 1e-6)")
    return {"probabilities": torch.stack(rows).cpu(), "order": order, "values": x[0, :, 0].cpu(),
            "is_permutation": is_permutation, "max_error": error}


if __name__ == "__main__":
    from runnable._cli import device_from_args

    demo(device_from_args(__doc__.splitlines()[0]))
