"""The RNN transducer's forward algorithm (Graves; bib: graves2012sequence).

A transcription network reads the input x_1..x_T and a prediction network reads the output
so far y_1..y_u; together they give, at every node (t, u) of a T × (U+1) lattice, a
distribution over the K labels and the blank ∅. Write ∅(t, u) for the blank's probability
there and y(t, u) for the probability of the next target label y*_{u+1}. An alignment is a
path from (1, 0): a label moves up one (u → u+1), a blank moves on one input step (t → t+1),
and the path ends with the blank that leaves (T, U). Summing over every path (section 2.4),

    α(1, 0) = 1
    α(t, u) = α(t-1, u) ∅(t-1, u) + α(t, u-1) y(t, u-1)
    Pr(y* | x) = α(T, U) ∅(T, U)

computed here in log space with logsumexp so long lattices do not underflow. The loss is
-ln Pr(y* | x); autograd gives its gradient (the paper derives it with the backward variables).
The alignment is marginalised, never chosen: this is the monotone alignment later attention
models learned to make soft.

It works in log space, where a sum of products becomes a `logsumexp` of sums, and uses index 0 for
the blank. The slow reference at the bottom enumerates every path.

Differences from the paper:
- The forward variables are computed in log space with logsumexp, and autograd gives the gradient;
  the paper derives it with the backward variables.
- Index 0 is the blank, and the paper's node (t, u) is [t-1, u] here; the transcription and
  prediction networks and beam search are left out.

Shapes: B batch, T input steps, U target length, K + 1 output classes with the blank at index 0.
Indices in the code are 0-based: node (t, u) of the paper is [t-1, u].
"""
from __future__ import annotations

import itertools
import math

import torch

BLANK = 0


def log_alpha(log_probs, labels):
    """log_probs (B, T, U+1, K+1) log-probabilities, labels (B, U) in 1..K.
    Returns ln α (B, T, U+1) and ln ∅ (B, T, U+1)."""
    B, T, U1, _ = log_probs.shape
    blank = log_probs[..., BLANK]                                                  # ln ∅(t, u)
    emit = log_probs[:, :, :-1].gather(-1, labels[:, None, :, None].expand(B, T, U1 - 1, 1)).squeeze(-1)  # ln y(t, u)
    alpha = [[None] * U1 for _ in range(T)]
    for t in range(T):
        for u in range(U1):
            if t == 0 and u == 0:
                alpha[t][u] = log_probs.new_zeros(B)                               # ln α(1, 0) = 0
                continue
            terms = []
            if t > 0:
                terms.append(alpha[t - 1][u] + blank[:, t - 1, u])
            if u > 0:
                terms.append(alpha[t][u - 1] + emit[:, t, u - 1])
            # α(t, u) = α(t-1, u) ∅(t-1, u) + α(t, u-1) y(t, u-1)
            alpha[t][u] = torch.logsumexp(torch.stack(terms), dim=0)
    return torch.stack([torch.stack(row, -1) for row in alpha], 1), blank


def log_likelihood(log_probs, labels, input_lengths=None, label_lengths=None):
    """ln Pr(y* | x) per example (B,). Examples shorter than the padded T or U end at their own
    (T_b, U_b): α there never looks at the padding, so padding needs no mask."""
    B, T, U1, _ = log_probs.shape
    alpha, blank = log_alpha(log_probs, labels)
    t_end = input_lengths - 1 if input_lengths is not None else torch.full((B,), T - 1, device=log_probs.device)
    u_end = label_lengths if label_lengths is not None else torch.full((B,), U1 - 1, device=log_probs.device)
    b = torch.arange(B, device=log_probs.device)
    return alpha[b, t_end, u_end] + blank[b, t_end, u_end]                         # Pr = α(T, U) ∅(T, U)


def transducer_loss(log_probs, labels, input_lengths=None, label_lengths=None):
    """-ln Pr(y* | x), averaged over the batch."""
    return -log_likelihood(log_probs, labels, input_lengths, label_lengths).mean()


def brute_force_log_likelihood(log_probs, labels) -> float:
    """Enumerate every alignment of one example, log_probs (T, U+1, K+1), labels (U,): choose which
    of the first T+U-1 moves are labels (the last move is the final blank) and sum path probabilities."""
    T, U = log_probs.shape[0], len(labels)
    p, y = log_probs.double().exp().tolist(), [int(label) for label in labels]
    total = 0.0
    for label_moves in itertools.combinations(range(T + U - 1), U):
        t, u, path = 0, 0, 1.0
        for move in range(T + U):
            if move in label_moves:
                path *= p[t][u][y[u]]
                u += 1
            else:
                path *= p[t][u][BLANK]
                t += 1
        total += path
    return math.log(total)


def demo(device: torch.device | str = "cpu", seed: int = 0) -> dict:
    """Score a 3-label target against 6 input steps of random outputs; check the lattice against
    every one of the C(8, 3) = 56 alignments. Returns each node's share of the paths for plotting."""
    torch.manual_seed(seed)
    T, U, K = 6, 3, 4
    logits = torch.randn(1, T, U + 1, K + 1, device=device, requires_grad=True)
    log_probs = logits.log_softmax(-1)
    labels = torch.tensor([[2, 4, 1]], device=device)
    ll = log_likelihood(log_probs, labels)
    reference = brute_force_log_likelihood(log_probs[0].detach().cpu(), labels[0].cpu())
    error = abs(ll.item() - reference)
    # d ln Pr / d ln p(t, u, k) is the posterior probability that a path uses that transition,
    # so blank + label at a node is the probability that the alignment passes through it.
    (grad,) = torch.autograd.grad(ll.sum(), log_probs)
    emit = grad[0, :, :-1].gather(-1, labels[0][None, :, None].expand(T, U, 1)).squeeze(-1)
    occupancy = grad[0, :, :, BLANK] + torch.cat([emit, emit.new_zeros(T, 1)], -1)  # (T, U+1)
    print(f"T = {T}, U = {U}, labels {labels[0].tolist()}, {math.comb(T + U - 1, U)} alignments")
    print(f"ln Pr(y*|x): lattice {ll.item():.6f}, brute force {reference:.6f}")
    print(f"expected blanks per path {grad[0, :, :, BLANK].sum().item():.4f} (T = {T}), "
          f"labels {emit.sum().item():.4f} (U = {U})")
    print(f"|lattice - brute force| = {error:.2e} (tolerance 1e-5)")
    return {"log_alpha": log_alpha(log_probs, labels)[0][0].detach().cpu(),
            "occupancy": occupancy.detach().cpu(), "log_likelihood": ll.item(),
            "reference": reference, "max_error": error}


if __name__ == "__main__":
    from runnable._cli import device_from_args

    demo(device_from_args(__doc__.splitlines()[0]))
