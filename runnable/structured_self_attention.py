"""Structured self-attentive sentence embedding (Lin et al.; bib: lin2017structured).

A sentence of n words arrives as hidden states H (n × 2u; in the paper those of a bidirectional
LSTM, here any sequence of vectors). With no outside query, r learned "hops" each pool the words:

    A = softmax(W_s2 tanh(W_s1 Hᵀ))         W_s1: d_a × 2u,  W_s2: r × d_a,  A: r × n
    M = A H                                  the embedding: r rows, each a weighted sum of words

with the softmax along the sentence (each row of A sums to 1; padded words get weight 0). Nothing
stops the r rows from all picking the same words, so training adds the penalty

    P = ‖A Aᵀ − I‖_F² = Σ_k (1 − ‖a_k‖²)² + Σ_{k≠l} (a_k · a_l)²

whose diagonal part favours peaked rows (‖a_k‖² = 1 only for a one-hot row) and whose off-diagonal
part favours rows that do not overlap; P = 0 exactly when the rows are one-hot on distinct words.

Differences from the paper:
- The hidden states are any sequence of vectors; the paper's bidirectional LSTM and its
  classification layers are left out.
- The penalty is written as in the paper, but the demo minimises it alone (no task loss), to show
  what it does to A.

Shapes: B batch, n words (padded), 2u state size, d_a attention size, r hops.
"""
from __future__ import annotations

import torch
from torch import nn


class StructuredSelfAttention(nn.Module):
    """r hops of attention over the hidden states: A = softmax(W_s2 tanh(W_s1 Hᵀ)), one row per hop,
    and the sentence matrix M = A H."""

    def __init__(self, state_size: int, attention_size: int, hops: int):
        super().__init__()
        self.W_s1 = nn.Linear(state_size, attention_size, bias=False)   # d_a × 2u
        self.W_s2 = nn.Linear(attention_size, hops, bias=False)         # r × d_a

    def forward(self, H, mask=None):
        """H (B, n, 2u), mask (B, n) True on real words. Returns M (B, r, 2u) and A (B, r, n)."""
        scores = self.W_s2(torch.tanh(self.W_s1(H))).transpose(1, 2)   # W_s2 tanh(W_s1 Hᵀ)  (B, r, n)
        if mask is not None:
            scores = scores.masked_fill(~mask[:, None, :], float("-inf"))
        A = torch.softmax(scores, dim=-1)                                # along the sentence
        return A @ H, A


def redundancy_penalty(A):
    """P = ‖A Aᵀ − I‖_F² for A (..., r, n); one value per leading index (the paper averages it
    over the batch and adds it to the loss with a coefficient)."""
    gram = A @ A.transpose(-1, -2)                                       # a_k · a_l  (..., r, r)
    eye = torch.eye(A.shape[-2], dtype=A.dtype, device=A.device)
    return (gram - eye).square().sum((-2, -1))


def naive_structured_self_attention(model: StructuredSelfAttention, H, mask=None):
    """The same equations one sentence, hop and word at a time: the slow reference the tests use."""
    B, n, _ = H.shape
    r = model.W_s2.weight.shape[0]
    M, A = torch.zeros(B, r, H.shape[-1], device=H.device), torch.zeros(B, r, n, device=H.device)
    for b in range(B):
        words = [t for t in range(n) if mask is None or mask[b, t]]
        for k in range(r):
            scores = [model.W_s2.weight[k] @ torch.tanh(model.W_s1.weight @ H[b, t]) for t in words]
            top = max(scores)
            total = sum(torch.exp(s - top) for s in scores)
            for t, s in zip(words, scores):
                A[b, k, t] = torch.exp(s - top) / total
            M[b, k] = sum(A[b, k, t] * H[b, t] for t in words)
    return M, A


def demo(device: torch.device | str = "cpu", seed: int = 0, steps: int = 100) -> dict:
    """r = 4 hops over a random 'sentence' of 12 states; print A and P, then take `steps` Adam steps
    on P alone (W_s1 and W_s2 only) and print how the rows spread out."""
    torch.manual_seed(seed)
    H = torch.randn(1, 12, 8, device=device)
    model = StructuredSelfAttention(8, 10, hops=4).to(device)
    with torch.no_grad():
        M, A_before = model(H)
        ref_M, ref_A = naive_structured_self_attention(model, H)
    error = max((M - ref_M).abs().max().item(), (A_before - ref_A).abs().max().item())
    optimiser = torch.optim.Adam(model.parameters(), lr=0.05)
    history = []
    for _ in range(steps):
        penalty = redundancy_penalty(model(H)[1]).mean()
        history.append(penalty.item())
        optimiser.zero_grad()
        penalty.backward()
        optimiser.step()
    with torch.no_grad():
        A_after = model(H)[1]
    after = redundancy_penalty(A_after).item()
    for name, A in [("before", A_before), (f"after {steps} steps on P", A_after)]:
        print(f"A {name} (rows: hops, columns: 12 words), P = {redundancy_penalty(A).item():.3f}:")
        for row in A[0].tolist():
            print("   " + " ".join(f"{w:.2f}" for w in row) + f"   peak at word {max(range(12), key=row.__getitem__)}")
    print(f"P: {history[0]:.3f} → {after:.1e} (0 exactly when the rows are one-hot on four different words)")
    print(f"max |batched - loop| = {error:.2e} (tolerance 1e-5)")
    return {"A_before": A_before[0].cpu(), "A_after": A_after[0].cpu(), "penalty": history + [after],
            "max_error": error}


if __name__ == "__main__":
    from runnable._cli import device_from_args

    demo(device_from_args(__doc__.splitlines()[0]))
